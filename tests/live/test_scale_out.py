"""Scale-out (issue 6): two server processes share live events through a real Redis server.

A client connected to process A sees an answer posted through process B, and the asker's bell
rings on A for a notification written by B's worker. redis-server (Debian's) is started by the
test on a free loopback port in a temporary folder; without it the test skips locally and fails
in CI (.ci/run installs it).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests import factories
from tests.conftest import require

ROOT = Path(__file__).resolve().parent.parent.parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_until(check, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except OSError:
            pass
        time.sleep(0.05)
    raise AssertionError(f"{what} did not come up within {timeout} s")


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@pytest.fixture
def redis_url(tmp_path):
    server = shutil.which("redis-server")
    require(server is not None, "redis-server is not installed (apt-get install redis-server)")
    try:
        import redis
    except ImportError:
        redis = None
    require(redis is not None, "the redis package is not installed (pip install -e '.[redis]')")
    port = _free_port()
    process = subprocess.Popen(
        [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(tmp_path), "--protected-mode", "yes"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    url = f"redis://127.0.0.1:{port}/0"
    try:
        def ping() -> bool:
            try:
                return redis.Redis.from_url(url).ping()
            except redis.exceptions.ConnectionError:
                return False

        _wait_until(ping, 10, "redis-server")
        yield url
    finally:
        _stop(process)


@pytest.fixture
def two_servers(app, redis_url, tmp_path):
    """Two app processes on the test database, sharing Socket.IO events through Redis."""
    processes, urls = [], []
    try:
        for name in ("a", "b"):
            port = _free_port()
            with open(tmp_path / f"server-{name}.log", "w") as log:  # the child keeps its copy
                processes.append(subprocess.Popen(
                    [sys.executable, "-m", "tests.live.serve", "--port", str(port),
                     "--database", app.config["SQLALCHEMY_DATABASE_URI"],
                     "--instance", str(tmp_path / f"instance-{name}"), "--queue", redis_url],
                    cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True))
            urls.append(f"http://127.0.0.1:{port}")
        for url, process, name in zip(urls, processes, "ab"):
            def ready(url=url, process=process, name=name):
                if process.poll() is not None:
                    raise AssertionError((tmp_path / f"server-{name}.log").read_text())
                return requests.get(f"{url}/api/v1/openapi.json", timeout=2).status_code == 200
            _wait_until(ready, 30, f"server {name}")
        yield urls
    finally:
        for process in processes:
            _stop(process)


def test_an_answer_posted_through_one_process_reaches_a_client_of_the_other(
        ctx, users, two_servers, connect, token_for):
    server_a, server_b = two_servers
    thread = factories.make_thread(users.asker, "Does roaming work on the new tariff?")
    thread_id = thread.id
    asker_token = token_for(users.asker)["Authorization"].split(" ", 1)[1]
    watcher = connect(url=server_a)
    asker = connect(url=server_a, token=asker_token)
    assert watcher.join(thread=thread_id)["ok"] is True

    response = requests.post(f"{server_b}/api/v1/threads/{thread_id}/answers",
                             json={"body": "Yes, in the EU at no extra cost."},
                             headers=token_for(users.helper), timeout=10)
    assert response.status_code == 201, response.text
    post_id = response.json()["id"]

    data = watcher.wait_for("answer.created", timeout=15, post_id=post_id)
    assert data["thread_id"] == thread_id and "in the EU" in data["html"]
    bell = asker.wait_for("notification.created", timeout=15)
    assert bell["kind"] == "answer" and bell["unread_count"] == 1
    # Only once: process B sends through Redis, and each process delivers to its own clients.
    watcher.client.sleep(0.3)
    assert not [e for e in watcher.events() if e[0] == "answer.created"]
