"""`make bench`: load a synthetic community, serve it with gunicorn, measure it under load.

1. Bulk-load BENCH_SCALE × (20,000 threads, 100,000 posts, ...) into a fresh database in a temp
   instance folder (bench/load.py).
2. Serve it with gunicorn gthread workers (bench/wsgi.py), and a bare Flask app rendering a page
   of the same size from memory (bench/ceiling.py) with the same settings.
3. Hit, one after the other, each with a warm-up then BENCH_DURATION seconds at
   BENCH_CONNECTIONS keep-alive connections: the thread page (a fixed sample of thread ids),
   the home page (page 1), the home page at depth 1,000, and the ceiling.
4. Search (bench/search_bench.py): index build, query, similar-questions and commit-to-searchable
   times in-process, with SQLite FTS5 on the same documents as the reference, on the bench's
   community (or one loaded at BENCH_SEARCH_SCALE) and on the Stack Exchange corpus.
5. Live fan-out (bench/live_bench.py): 200 Socket.IO clients in one thread's room, answers posted
   through the API, time from each API response to receipt at every client (p50, p99).
6. Webhook ingest (bench/bridge_bench.py): a burst of signed generic-channel deliveries into one
   server process, on SQLite and (with BENCH_DATABASE_URL) PostgreSQL: accepted per second,
   threads per second end to end, and an audit that nothing was lost or stored twice.
7. Webhook fan-out (bench/webhook_bench.py): 2,000 events to 5 loopback subscribers, one failing
   half its requests: deliveries per second, commit-to-receipt p50/p99, none lost, in order.
8. Print readable lines, then one JSON line (last); the same JSON goes to bench/results/latest.json.

See bench/README.md for the knobs and how to read the figures.
"""

from __future__ import annotations

import http.client
import http.cookies
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
sys.path.insert(0, str(BENCH_DIR))

import bridge_bench  # noqa: E402
import live_bench  # noqa: E402
import load  # noqa: E402
import loadgen  # noqa: E402
import render_bench  # noqa: E402
import search_bench  # noqa: E402
import webhook_bench  # noqa: E402

THREAD_PAGE_TARGET = 0.5     # thread page rps / ceiling rps, at least
DEEP_PAGE_TARGET = 1.5       # deep page p50 / page 1 p50, at most
QUEUE_PAGE_TARGET = 2.0      # moderation queue p50 / member thread page p50, at most


def env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    return float(raw) if raw not in (None, "") else default


def env_int(name: str, default: int) -> int:
    return int(env_float(name, default))


def say(message: str = "") -> None:
    print(message, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """One gunicorn process group on 127.0.0.1, stopped by its own pid."""

    def __init__(self, app_spec: str, env: dict[str, str], workers: int, threads: int,
                 log_path: Path) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        gunicorn = Path(sys.executable).with_name("gunicorn")
        cmd = [str(gunicorn) if gunicorn.exists() else "gunicorn",
               "--worker-class", "gthread", "--workers", str(workers), "--threads", str(threads),
               "--bind", f"127.0.0.1:{self.port}", "--pythonpath", str(BENCH_DIR),
               # No --access-logfile: gunicorn's access log is off unless asked for.
               "--log-level", "warning", "--error-logfile", str(log_path),
               "--worker-tmp-dir", "/dev/shm" if Path("/dev/shm").is_dir() else tempfile.gettempdir()]
        if _supports("--no-control-socket"):
            cmd.append("--no-control-socket")  # gunicorn ≥ 24 opens one in ~/.gunicorn otherwise
        cmd.append(app_spec)
        env = {k: v for k, v in env.items() if k != "GUNICORN_CMD_ARGS"}
        self.log_path = log_path
        self.process = subprocess.Popen(cmd, env=env, cwd=str(ROOT), start_new_session=True)
        self.describe = (f"gunicorn {_gunicorn_version()} -k gthread --workers {workers} "
                         f"--threads {threads}")

    def wait_ready(self, path: str = "/", timeout: float = 60) -> None:
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"gunicorn exited ({self.process.returncode}); see {self.log_path}:\n"
                                 + self.log_path.read_text(errors="replace")[-3000:])
            try:
                status, _ = fetch(self.base_url, path)
                if status < 500:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise SystemExit(f"gunicorn did not answer within {timeout:.0f} s; see {self.log_path}")

    def cpu_seconds(self) -> float | None:
        """User + system CPU time of the server's process group (gunicorn master and workers).

        Divided by the requests served, this is a cost per request that other load on the
        machine barely affects, unlike requests/s. Linux only (reads /proc); None elsewhere.
        """
        ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
        total, seen = 0, False
        try:
            entries = os.listdir("/proc")
        except OSError:
            return None
        for entry in entries:
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat", "rb") as handle:
                    fields = handle.read().rsplit(b")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == self.process.pid:      # pgrp: start_new_session made it ours
                total += int(fields[11]) + int(fields[12])  # utime + stime
                seen = True
        return total / ticks if seen else None

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


_HELP: str | None = None


def _supports(flag: str) -> bool:
    global _HELP
    if _HELP is None:
        gunicorn = Path(sys.executable).with_name("gunicorn")
        _HELP = subprocess.run([str(gunicorn), "--help"], capture_output=True, text=True).stdout
    return flag in _HELP


def _gunicorn_version() -> str:
    try:
        import gunicorn

        return gunicorn.__version__
    except ImportError:
        return "?"


def fetch(base_url: str, path: str, headers: dict[str, str] | None = None
          ) -> tuple[int, bytes]:
    status, _, body = request(base_url, "GET", path, headers=headers)
    return status, body


def request(base_url: str, method: str, path: str, body: str | bytes | None = None,
            headers: dict[str, str] | None = None) -> tuple[int, http.client.HTTPMessage, bytes]:
    port = int(base_url.rsplit(":", 1)[1])
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.headers, response.read()
    finally:
        conn.close()


def _session_cookie(headers: http.client.HTTPMessage) -> str | None:
    """The value of the `session` cookie a response sets. The cookie is Secure, so a client
    on plain-HTTP loopback would not send it back: we read Set-Cookie and send it ourselves."""
    for raw in headers.get_all("Set-Cookie") or []:
        cookie = http.cookies.SimpleCookie()
        cookie.load(raw)
        if "session" in cookie:
            return cookie["session"].value
    return None


def log_in(base_url: str, username: str, password: str) -> str:
    """Log in through the real form (GET /login for the CSRF token, POST /login) and return the
    member's session cookie value."""
    status, headers, body = request(base_url, "GET", "/login")
    token = re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', body)
    cookie = _session_cookie(headers)
    if status != 200 or token is None or cookie is None:
        raise SystemExit(f"GET /login answered {status} without a CSRF token and a session cookie")
    form = urllib.parse.urlencode({"username": username, "password": password,
                                   "csrf_token": token.group(1).decode(), "next": ""})
    status, headers, body = request(
        base_url, "POST", "/login", body=form,
        headers={"Content-Type": "application/x-www-form-urlencoded",
                 "Cookie": f"session={cookie}"})
    cookie = _session_cookie(headers)
    if status != 302 or cookie is None:
        raise SystemExit(f"POST /login as {username} answered {status}:\n"
                         + body[:1500].decode(errors="replace"))
    return cookie


def count_vote_queries(instance: Path, database_url: str | None, voter: dict) -> dict:
    """SQL statements one vote costs, counted in-process against the bench database.

    `vote_queries`: one community.services.votes.cast_vote (an upvote on an answer), the
    use-case alone; `vote_question_queries` the same on a question;
    `vote_retract_queries`: taking it back; `vote_request_queries`: the whole API request
    (PUT /api/v1/posts/<id>/vote with a bearer token, through the test client: token lookup,
    post, permission checks, the vote, the JSON answer). Each vote is undone afterwards, so the
    ledger and scores are as loaded."""
    from sqlalchemy import event, select
    from sqlalchemy.orm import Session

    from community.extensions import db
    from community.models import Post, User
    from community.services import votes

    app = load.make_app(instance, database_url)
    statements: list[str] = []
    committed: list[int] = []      # how many statements had run when a commit succeeded

    me = threading.get_ident()

    def listener(conn, cursor, statement, parameters, context, executemany):
        # Only this thread's: the app may do work of its own in background threads (the search
        # indexer reads the threads that commits touched, in batches, on its own connection).
        if threading.get_ident() == me:
            statements.append(" ".join(statement.split()))

    def settle() -> None:
        try:
            from community.workers import search_indexer
            search_indexer.flush(30)  # the previous vote's background work, out of the way
        except (ImportError, AttributeError, KeyError):
            pass

    def on_commit(session) -> None:
        committed.append(len(statements))

    def counted(action) -> list[str]:
        settle()
        statements.clear()
        committed.clear()
        event.listen(db.engine, "before_cursor_execute", listener)
        # First in line, before the app's after-commit subscribers (search index, page cache)
        # run: what comes after this mark is theirs, or reloads of what the commit expired.
        event.listen(Session, "after_commit", on_commit, insert=True)
        try:
            action()
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
            event.remove(Session, "after_commit", on_commit)
        return list(statements)

    with app.app_context():
        # Answers (four posts in five): a vote on a question also moves the thread's score.
        kinds = dict(db.session.execute(select(Post.id, Post.kind)
                                        .where(Post.id.in_(voter["posts"]))).all())
        answers_ = [pid for pid in voter["posts"] if kinds.get(pid) == "answer"]
        question = next(pid for pid in voter["posts"] if kinds.get(pid) == "question")
        first, second = answers_[0], answers_[1]

        def cast(post_id: int, value: int) -> list[str]:
            db.session.expire_all()
            user, post = db.session.get(User, voter["id"]), db.session.get(Post, post_id)
            return counted(lambda: votes.cast_vote(user, post, value))

        up = cast(first, 1)
        in_transaction = committed[0] if committed else len(up)
        retract = cast(first, 0)
        on_question = cast(question, 1)
        cast(question, 0)
        db.session.remove()
        client = app.test_client()
        auth = {"Authorization": f"Bearer {voter['token']}"}
        answers: list[int] = []

        def put(value: int) -> None:
            response = client.put(f"/api/v1/posts/{second}/vote", json={"value": value},
                                  headers=auth)
            answers.append(response.status_code)

        api = counted(lambda: put(1))
        put(0)
        settle()
        db.session.remove()
        db.engine.dispose()
    if answers != [200, 200]:
        raise SystemExit(f"PUT /api/v1/posts/{second}/vote answered {answers} in-process")
    return {"vote_queries": len(up), "vote_retract_queries": len(retract),
            "vote_request_queries": len(api), "vote_question_queries": len(on_question),
            "vote_transaction_queries": in_transaction,
            "vote_after_commit_queries": len(up) - in_transaction,
            "sql": {"vote": [q[:160] for q in up], "retract": [q[:160] for q in retract],
                    "request": [q[:160] for q in api]}}


def check_consistency(instance: Path, database_url: str | None) -> dict:
    """After the vote load: the reputation audit (`community reputation check`) and scores."""
    from sqlalchemy import func, select

    from community.extensions import db
    from community.models import Post, Thread, Vote
    from community.services import reputation

    app = load.make_app(instance, database_url)
    with app.app_context():
        differences = reputation.differences()
        votes_sum = (select(func.coalesce(func.sum(Vote.value), 0))
                     .where(Vote.post_id == Post.id).scalar_subquery())
        bad_posts = db.session.scalar(select(func.count()).select_from(Post)
                                      .where(Post.score != votes_sum))
        bad_threads = db.session.scalar(
            select(func.count()).select_from(Thread).join(Post, Post.thread_id == Thread.id)
            .where(Post.kind == "question", Thread.score != Post.score))
        out = {"reputation_consistent": not differences,
               "reputation_differences": len(differences),
               "reputation_differences_sample": [
                   {"user_id": user.id, "cached": cached, "ledger": total}
                   for user, cached, total in differences[:5]],
               "scores_consistent": bad_posts == 0 and bad_threads == 0,
               "score_differences": {"posts": bad_posts, "threads": bad_threads}}
        db.session.remove()
        db.engine.dispose()
    return out


def _fmt(value: float | None, digits: int = 2) -> str:
    return "?" if value is None else f"{value:.{digits}f}"


def main() -> int:
    scale = env_float("BENCH_SCALE", 1.0)
    duration = env_float("BENCH_DURATION", 10.0)
    warmup = env_float("BENCH_WARMUP", 2.0)
    connections = env_int("BENCH_CONNECTIONS", 16)
    workers = env_int("BENCH_WORKERS", 2)
    threads = env_int("BENCH_THREADS", 8)
    wrk_threads = env_int("BENCH_WRK_THREADS", 2)
    rounds = max(1, env_int("BENCH_ROUNDS", 1))
    vote_connections = env_int("BENCH_VOTE_CONNECTIONS", 32)
    tool = os.environ.get("BENCH_LOADGEN") or ("wrk" if loadgen.have_wrk() else "python")
    database_url = os.environ.get("BENCH_DATABASE_URL") or None
    keep = os.environ.get("BENCH_KEEP") == "1"

    workdir = Path(tempfile.mkdtemp(prefix="community-bench-"))
    instance = workdir / "instance"
    servers: list[Server] = []
    try:
        say(f"bench: scale {scale:g}, {duration:g} s per target after {warmup:g} s warm-up"
            + (f" in {rounds} rounds" if rounds > 1 else "")
            + f", {connections} connections, load generator {tool}")
        say(f"loading into {'PostgreSQL' if database_url else 'SQLite'} ({instance}) ...")
        stats = load.load(instance, scale, database_url,
                          reset=os.environ.get("BENCH_DATABASE_RESET") == "1",
                          deep_page=env_int("BENCH_DEEP_PAGE", load.DEEP_PAGE),
                          search_index=os.environ.get("BENCH_SEARCH_INDEX") == "1", log=say)
        say(f"loaded {stats['threads']:,} threads, {stats['posts']:,} posts, {stats['users']:,} users, "
            f"{stats['comments']:,} comments, {stats['votes']:,} votes in {stats['load_seconds']:.1f} s")

        env = dict(os.environ)
        # The app server's search index stays as loaded (empty unless BENCH_SEARCH_INDEX=1;
        # search is measured on its own instance): reconciling it at start would index the whole
        # community while the pages are measured.
        env["COMMUNITY_SEARCH_RECONCILE_AT_START"] = "false"
        env.update({"BENCH_INSTANCE_PATH": str(instance), "COMMUNITY_RATELIMIT_ENABLED": "false",
                    "PYTHONDONTWRITEBYTECODE": "1"})
        if database_url:
            env["BENCH_DATABASE_URL"] = database_url
        app_server = Server("wsgi:app", env, workers, threads, workdir / "app.log")
        servers.append(app_server)
        app_server.wait_ready()

        # Every sampled thread page must render; their mean size sizes the ceiling page.
        thread_paths = [f"/threads/{tid}" for tid in stats["sample_thread_ids"]]
        sizes = []
        for path in thread_paths:
            status, body = fetch(app_server.base_url, path)
            if status != 200:
                raise SystemExit(f"GET {path} answered {status}:\n{body[:2000].decode(errors='replace')}")
            sizes.append(len(body))
        page_bytes = round(statistics.fmean(sizes))
        deep_path = f"/?cursor={stats['deep_cursor']}" if stats["deep_cursor"] else "/"
        for path in ("/", deep_path):
            status, body = fetch(app_server.base_url, path)
            if status != 200 or body.count(b'href="/threads/') < 2:
                raise SystemExit(f"GET {path} answered {status} without links to threads")
        say(f"thread page: {len(thread_paths)} threads in the mix, mean {page_bytes:,} bytes "
            f"(min {min(sizes):,}, max {max(sizes):,})")

        # A member's session: the same pages, rendered for them (no page cache).
        member = stats["member_username"]
        if member is None:
            raise SystemExit("the loader found no member to log in as")
        member_headers = {"Cookie": "session=" + log_in(app_server.base_url, member,
                                                        stats["password"])}
        member_sizes = []
        for path in thread_paths + ["/"]:
            status, body = fetch(app_server.base_url, path, member_headers)
            if status != 200 or b'action="/logout"' not in body:
                raise SystemExit(f"GET {path} as {member} answered {status} "
                                 "without the member's log-out button (not logged in?)")
            if path != "/":
                member_sizes.append(len(body))
        member_page_bytes = round(statistics.fmean(member_sizes))
        say(f"member pages: logged in as {member}; thread pages mean {member_page_bytes:,} bytes")

        # A moderator's session for the moderation queue (OPEN_FLAGS open flags).
        moderator_headers = {"Cookie": "session=" + log_in(
            app_server.base_url, stats["moderator_username"], stats["password"])}
        status, body = fetch(app_server.base_url, "/staff/moderation", moderator_headers)
        if status != 200 or b"/resolve" not in body:
            raise SystemExit(f"GET /staff/moderation as a moderator answered {status} "
                             "without items to resolve")
        say(f"moderation queue: {stats['open_flags']:,} open flags, first page "
            f"{len(body):,} bytes")

        # Votes: the statements one vote costs (in-process), then voters for the load.
        voters = stats["voters"]
        vote_connections = max(1, min(vote_connections, len(voters) - 1))
        vote_sql = count_vote_queries(instance, database_url, voters[0])
        say(f"one vote: {vote_sql['vote_queries']} SQL statements in cast_vote "
            f"({vote_sql['vote_transaction_queries']} in its transaction, "
            f"{vote_sql['vote_after_commit_queries']} after its commit), "
            f"{vote_sql['vote_retract_queries']} to retract, "
            f"{vote_sql['vote_request_queries']} for the whole API request")
        # Voter 0 was for counting; the load uses the others, one connection each.
        vote_clients = [loadgen.Voter(v["token"], v["posts"]) for v in voters[1:vote_connections + 1]]
        if stats["deep_page_depth"] != stats["deep_page_requested_depth"]:
            say(f"deep page: {stats['visible_threads']:,} visible threads make only "
                f"{stats['visible_threads'] // stats['page_size']} full pages, so depth "
                f"{stats['deep_page_depth']} (the deepest full page) instead of "
                f"{stats['deep_page_requested_depth']}")
        else:
            say(f"deep page: depth {stats['deep_page_depth']}")

        ceiling_env = dict(env, BENCH_CEILING_BYTES=str(page_bytes))
        ceiling_server = Server("ceiling:app", ceiling_env, workers, threads, workdir / "ceiling.log")
        servers.append(ceiling_server)
        ceiling_server.wait_ready()

        # name, server, paths, headers (None: the vote load, which brings its own).
        targets: list[tuple[str, Server, list[str], dict[str, str] | None]] = [
            ("thread_page", app_server, thread_paths, {}),
            ("thread_page_member", app_server, thread_paths, member_headers),
            ("home_page", app_server, ["/"], {}),
            ("home_page_member", app_server, ["/"], member_headers),
            ("deep_page", app_server, [deep_path], {}),
            ("ceiling", ceiling_server, ["/"], {}),
            ("moderation_queue", app_server, ["/staff/moderation"], moderator_headers),
            ("votes", app_server, [], None),
        ]
        # With BENCH_ROUNDS > 1 the targets take turns (order reversed every other round), so
        # that a ratio compares measurements taken under the same background load.
        runs: dict[str, list[loadgen.Result]] = {name: [] for name, *_ in targets}
        cpu_used: dict[str, float | None] = {name: 0.0 for name, *_ in targets}
        vote_statuses: dict[int, int] = {}
        vote_sample: str | None = None
        load_before = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
        for round_no in range(rounds):
            for name, server, paths, headers in (targets if round_no % 2 == 0 else targets[::-1]):
                mark: list[float | None] = []
                snapshot = lambda server=server: mark.append(server.cpu_seconds())  # noqa: E731
                if headers is None:
                    vote_run = loadgen.measure_votes(
                        server.base_url, vote_clients, duration=duration / rounds,
                        warmup=warmup if round_no == 0 else 0, tool=tool, before=snapshot)
                    r = vote_run.result
                    for status, count in vote_run.statuses.items():
                        vote_statuses[status] = vote_statuses.get(status, 0) + count
                    vote_sample = vote_sample or vote_run.sample
                else:
                    r = loadgen.measure(server.base_url, paths, duration=duration / rounds,
                                        connections=connections,
                                        warmup=warmup if round_no == 0 else 0,
                                        threads=wrk_threads, tool=tool, before=snapshot,
                                        headers=headers)
                after = server.cpu_seconds()
                runs[name].append(r)
                if after is None or mark[0] is None or cpu_used[name] is None:
                    cpu_used[name] = None
                else:
                    cpu_used[name] += after - mark[0]
        load_after = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
        results: dict[str, loadgen.Result] = {}
        cpu_ms: dict[str, float | None] = {}
        for name, *_ in targets:
            results[name] = r = loadgen.combine(runs[name])
            cpu_ms[name] = (round(cpu_used[name] / r.requests * 1000, 3)
                            if cpu_used[name] is not None and r.requests else None)
            say(f"{name:<18} {r.rps:>9,.1f} req/s   p50 {r.p50_ms:7.2f} ms   p90 {r.p90_ms:7.2f} ms   "
                f"p99 {r.p99_ms:7.2f} ms   server CPU {_fmt(cpu_ms[name])} ms/req   "
                f"{r.requests:,} requests"
                + (f"   {r.errors} socket errors" if r.errors else "")
                + (f"   {r.non_2xx} non-{'200' if name == 'votes' else '2xx'}" if r.non_2xx else ""))
        if vote_statuses:
            say(f"votes answered {vote_statuses} besides 200; first: {vote_sample}")

        # Every vote has been answered once gunicorn has stopped (SIGTERM lets a worker finish
        # the requests it holds); then audit what the vote load left behind.
        app_server.stop()
        consistency = check_consistency(instance, database_url)
        say(f"after the vote load: reputation ledger and cached totals "
            f"{'agree' if consistency['reputation_consistent'] else 'DISAGREE'} "
            f"({consistency['reputation_differences']} users differ); post and thread scores "
            f"{'agree' if consistency['scores_consistent'] else 'DISAGREE'} with the votes "
            f"({consistency['score_differences']})")

        # Search (issue #4), in-process, once the servers are down: nothing else is running.
        search = search_bench.for_make_bench(workdir, instance, database_url, scale, stats, say)

        # Live fan-out (issue #6): its own small community and one server process.
        live = (live_bench.for_make_bench(workdir, None, say)
                if live_bench.enabled() else {"live_clients": 0})

        # Webhook ingest (issue #5): its own instances, one server process each.
        ingest = (bridge_bench.for_make_bench(workdir, database_url, say)
                  if bridge_bench.enabled() else {"bridge_sqlite_deliveries": 0})

        # The worst posts for the markdown renderer (issue 14), in-process.
        render = render_bench.measure(say)

        # Webhook fan-out (issue 19), in-process, its own instance.
        fanout = webhook_bench.for_make_bench(workdir, database_url, say)

        thread, ceiling = results["thread_page"], results["ceiling"]
        home, deep = results["home_page"], results["deep_page"]
        member_page, member_home = results["thread_page_member"], results["home_page_member"]
        vote = results["votes"]
        thread_ratio = round(thread.rps / ceiling.rps, 3) if ceiling.rps else None
        member_ratio = round(member_page.rps / ceiling.rps, 3) if ceiling.rps else None
        deep_ratio = round(deep.p50_ms / home.p50_ms, 3) if home.p50_ms else None
        cpu_ratio = (round(cpu_ms["ceiling"] / cpu_ms["thread_page"], 3)
                     if cpu_ms["ceiling"] and cpu_ms["thread_page"] else None)
        say()
        say(f"server CPU per request: thread page {_fmt(cpu_ms['thread_page'])} ms, ceiling "
            f"{_fmt(cpu_ms['ceiling'])} ms (ratio {cpu_ratio}); load average "
            f"{_fmt(load_before, 1)} before, {_fmt(load_after, 1)} after on {os.cpu_count()} CPUs")
        # Before the load tests only the loader (one core, now finished) has been running, so a
        # 1-minute load average above the CPU count means other work is competing.
        if load_before is not None and os.cpu_count() and load_before > os.cpu_count():
            say(f"warning: other work was keeping the machine busy (load average {load_before:.1f}); "
                "requests/s and latencies are noisy, CPU per request less so; rerun on a quiet "
                "machine" + (", or with BENCH_ROUNDS=3 so targets take turns" if rounds == 1 else ""))
        say(f"thread page / ceiling: {thread_ratio}  (target >= {THREAD_PAGE_TARGET}: "
            f"{'met' if thread_ratio is not None and thread_ratio >= THREAD_PAGE_TARGET else 'MISSED'})")
        say(f"thread page for a member / ceiling: {member_ratio}  (the page without the visitor "
            f"cache; same target: "
            f"{'met' if member_ratio is not None and member_ratio >= THREAD_PAGE_TARGET else 'MISSED'})")
        say(f"deep page p50 / page 1 p50: {deep_ratio}  (target <= {DEEP_PAGE_TARGET}: "
            f"{'met' if deep_ratio is not None and deep_ratio <= DEEP_PAGE_TARGET else 'MISSED'})")
        queue = results["moderation_queue"]
        queue_ratio = (round(queue.p50_ms / member_page.p50_ms, 3) if member_page.p50_ms
                       else None)
        say(f"moderation queue p50 / member thread page p50: {queue_ratio}  (target <= "
            f"{QUEUE_PAGE_TARGET}: "
            f"{'met' if queue_ratio is not None and queue_ratio <= QUEUE_PAGE_TARGET else 'MISSED'})")
        say(f"votes: {vote.rps:,.1f}/s from {len(vote_clients)} API clients, p50 {vote.p50_ms:.2f} ms, "
            f"p99 {vote.p99_ms:.2f} ms, {vote.non_2xx + vote.errors} errors; "
            f"{vote_sql['vote_queries']} SQL statements per vote; thread page ratio {thread_ratio}")

        member_cpu_ratio = (round(cpu_ms["ceiling"] / cpu_ms["thread_page_member"], 3)
                            if cpu_ms["ceiling"] and cpu_ms["thread_page_member"] else None)
        summary = {
            "thread_page_rps": thread.rps, "ceiling_rps": ceiling.rps,
            "thread_page_ratio": thread_ratio,
            "thread_page_member_rps": member_page.rps, "thread_page_member_ratio": member_ratio,
            "home_page_rps": home.rps, "home_page_member_rps": member_home.rps,
            "deep_page_rps": deep.rps, "deep_page_ratio": deep_ratio,
            "moderation_queue_ratio": queue_ratio, "open_flags": stats["open_flags"],
            "votes_per_second": vote.rps, "vote_p50_ms": vote.p50_ms, "vote_p99_ms": vote.p99_ms,
            "vote_errors": vote.non_2xx + vote.errors,
            "vote_409": vote_statuses.get(409, 0), "vote_429": vote_statuses.get(429, 0),
            "vote_queries": vote_sql["vote_queries"],
            "vote_retract_queries": vote_sql["vote_retract_queries"],
            "vote_request_queries": vote_sql["vote_request_queries"],
            "vote_question_queries": vote_sql["vote_question_queries"],
            "vote_transaction_queries": vote_sql["vote_transaction_queries"],
            "vote_after_commit_queries": vote_sql["vote_after_commit_queries"],
            "reputation_consistent": consistency["reputation_consistent"],
            "scores_consistent": consistency["scores_consistent"],
        }
        for name, r in results.items():
            if name != "votes":
                summary[f"{name}_p50_ms"] = r.p50_ms
                summary[f"{name}_p99_ms"] = r.p99_ms
        for name in results:
            summary[f"{'vote' if name == 'votes' else name}_cpu_ms"] = cpu_ms[name]
        summary.update(render)
        summary.update(fanout)
        summary.update({
            "thread_page_cpu_ratio": cpu_ratio, "thread_page_member_cpu_ratio": member_cpu_ratio,
            "thread_page_ratio_target_met": thread_ratio is not None and thread_ratio >= THREAD_PAGE_TARGET,
            "thread_page_member_ratio_target_met": (member_ratio is not None
                                                    and member_ratio >= THREAD_PAGE_TARGET),
            "deep_page_ratio_target_met": deep_ratio is not None and deep_ratio <= DEEP_PAGE_TARGET,
            "vote_connections": len(vote_clients), "vote_statuses": vote_statuses,
            "reputation_differences": consistency["reputation_differences"],
            "score_differences": consistency["score_differences"],
            "member": member, "thread_page_member_bytes": member_page_bytes,
            "reputation_events": stats["reputation_events"], "search_index": stats["search_index"],
            "scale": scale, "threads": stats["threads"], "posts": stats["posts"],
            "users": stats["users"], "comments": stats["comments"], "votes": stats["votes"],
            "load_seconds": stats["load_seconds"], "database": stats["dialect"],
            "deep_page_depth": stats["deep_page_depth"],
            "thread_page_bytes": page_bytes, "thread_page_ids": len(thread_paths),
            "server": app_server.describe, "loadgen": tool,
            "duration_s": duration, "rounds": rounds, "connections": connections,
            "cpus": os.cpu_count(),
            "loadavg_before": load_before, "loadavg_after": load_after,
            "errors": sum(r.errors + r.non_2xx for r in results.values()),
            "details": {**{name: r.as_dict() for name, r in results.items()},
                        "vote_sql": vote_sql["sql"], "vote_first_error": vote_sample,
                        "reputation_differences_sample":
                            consistency["reputation_differences_sample"]},
        })
        details = summary.pop("details")
        summary.update(search)
        summary.update(live)
        summary.update(ingest)
        summary["details"] = details
        out_dir = BENCH_DIR / "results"
        out_dir.mkdir(exist_ok=True)
        line = json.dumps(summary, separators=(", ", ": "))
        (out_dir / "latest.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
        say(line)
        return 0
    finally:
        for server in servers:
            server.stop()
        if keep:
            print(f"(kept {workdir})", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
