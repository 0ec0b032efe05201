"""A crash forgets no committed work (issue 14, item 5).

A real server process is killed with SIGKILL in the middle of a burst of answers that mention a
member, then started again on the same database and search index. Within a minute the index
matches the database (`community search check`, exit 0) and every committed answer has told
the member, and the asker, exactly once. The first server's workers are slowed down (their
gathers last a minute), so that all they were to do after the commits is still queued in memory
when it dies: before owed notifications and the reconciliation at start, all of it was lost.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

import pytest
import requests
from sqlalchemy import select

from community.extensions import db
from community.models import Notification, Post
from community.services import notifications
from community.workers import notifications as notifications_worker
from tests import factories

ROOT = Path(__file__).resolve().parent.parent.parent
ANSWERS = 45
KILL_AFTER = 30  # answers committed when the server is killed; the rest are in flight or unsent
SLOW = {name: 60 for name in ("SEARCH_INDEX_GATHER_SECONDS", "SEARCH_INDEX_GATHER_MAX_SECONDS",
                              "NOTIFY_GATHER_SECONDS", "NOTIFY_GATHER_MAX_SECONDS")}


class Server:
    """`python -m tests.live.serve` on the test database, a Whoosh index and an instance folder
    under `folder`; killed at the end if still running."""

    def __init__(self, app, folder: Path) -> None:
        self.app, self.folder = app, folder
        self.process: subprocess.Popen | None = None
        self.url = ""

    def start(self, name: str, **settings) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        log = self.folder / f"{name}.log"
        with open(log, "w") as out:  # the child keeps its copy
            self.process = subprocess.Popen(
                [sys.executable, "-m", "tests.live.serve", "--port", str(port),
                 "--database", self.app.config["SQLALCHEMY_DATABASE_URI"],
                 "--instance", str(self.folder / "instance"),
                 "--search-index", str(self.folder / "index"),
                 *(arg for key, value in settings.items()
                   for arg in ("--setting", f"{key}={json.dumps(value)}"))],
                cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        self.url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            if self.process.poll() is not None:
                raise AssertionError(log.read_text())
            try:
                if requests.get(f"{self.url}/api/v1/openapi.json", timeout=2).ok:
                    return
            except requests.ConnectionError:
                pass
            assert time.monotonic() < deadline, f"{name} did not come up: {log.read_text()}"
            time.sleep(0.1)

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Signal the server and its children (the index writer) at once, and reap it."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, sig)
            self.process.wait(10)

    def cli(self, *args: str) -> subprocess.CompletedProcess:
        """`python -m community ARGS` on the same database, index and instance folder."""
        env = {**os.environ, "DATABASE_URL": self.app.config["SQLALCHEMY_DATABASE_URI"],
               "COMMUNITY_INSTANCE_PATH": str(self.folder / "instance"),
               "COMMUNITY_SEARCH_BACKEND": "whoosh",
               "COMMUNITY_SEARCH_INDEX_PATH": str(self.folder / "index")}
        return subprocess.run([sys.executable, "-m", "community", *args], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=60, check=False)


@pytest.fixture
def server(app, tmp_path):
    running = Server(app, tmp_path)
    yield running
    running.kill(signal.SIGTERM)


def _burst(url: str, headers: dict, thread_ids: list[int], server: Server, mention: str) -> int:
    """Post ANSWERS answers, three at a time; kill the server once KILL_AFTER have come back.
    Returns how many came back committed (201)."""
    def post(n: int) -> int:
        try:
            return requests.post(
                f"{url}/api/v1/threads/{thread_ids[n % len(thread_ids)]}/answers",
                json={"body": f"@{mention} answer number {n}: restart the phone."},
                headers=headers, timeout=10).status_code
        except requests.RequestException:
            return 0  # in flight when the server died, or sent after

    committed = 0
    with ThreadPoolExecutor(3) as pool:
        for done in as_completed([pool.submit(post, n) for n in range(ANSWERS)]):
            committed += done.result() == 201
            if committed == KILL_AFTER:
                server.kill()
    return committed


def _audit(thread_ids: list[int], mentioned: int, asker: int) -> tuple[Counter, list[int]]:
    """Among the committed answers, each of which tells the member it mentions ("mention") and
    the asker ("answer") once: how many lack each kind, and which told someone twice."""
    db.session.rollback()  # a fresh snapshot
    answers = list(db.session.scalars(select(Post.id).where(
        Post.thread_id.in_(thread_ids), Post.kind == "answer")))
    told = Counter(db.session.execute(select(Notification.post_id, Notification.user_id,
                                             Notification.kind)).all())
    wanted = [(post_id, user_id, kind) for post_id in answers
              for user_id, kind in ((mentioned, "mention"), (asker, "answer"))]
    return (Counter(key[2] for key in wanted if told[key] == 0),
            [key[0] for key in wanted if told[key] > 1])


def test_a_server_killed_mid_burst_loses_no_committed_work(ctx, users, token_for, server):
    made = [factories.make_thread(users.asker, f"Phone number {n} keeps restarting")
            for n in range(3)]
    thread_ids = [thread.id for thread in made]
    headers = token_for(users.helper)
    assert notifications_worker.flush(), "the test's own notifications were not written"
    rebuilt = server.cli("search", "rebuild")
    assert rebuilt.returncode == 0, rebuilt.stderr

    server.start("first", **SLOW)
    assert _burst(server.url, headers, thread_ids, server, users.other.username) >= KILL_AFTER
    assert server.process.returncode == -signal.SIGKILL
    db.session.rollback()
    answers = db.session.scalars(select(Post.id).where(Post.thread_id.in_(thread_ids),
                                                       Post.kind == "answer")).all()
    assert KILL_AFTER <= len(answers) <= ANSWERS

    server.start("second")  # default settings: reconciliation and recovery on
    deadline = time.monotonic() + 60
    while True:
        missing, doubled = _audit(thread_ids, users.other.id, users.asker.id)
        check = server.cli("search", "check")
        if (check.returncode == 0 and not missing) or time.monotonic() > deadline:
            break
        assert server.process.poll() is None, (server.folder / "second.log").read_text()
        time.sleep(0.5)
    assert (check.returncode, missing, doubled) == (0, {}, []), (
        f"a minute after the restart: {check.stdout.strip()}; of {len(answers)} committed "
        f"answers, {missing['mention']} never told the member they mention and "
        f"{missing['answer']} never told the asker; told twice: {doubled}")
    db.session.rollback()
    assert notifications.count_owed() == 0
