"""Live fan-out bench (issue 6): many Socket.IO clients in one thread's room, answers posted
through the JSON API, and the time from each API response to the event's arrival at every client.

1. A small community in a temp instance (SQLite, or BENCH_DATABASE_URL): an asker, an answerer
   with an API token, one thread.
2. The real app under gunicorn, ONE worker process (gthread; one thread per open socket plus
   spare ones for HTTP), as the README's production line runs it.
3. BENCH_LIVE_CLIENTS python-socketio clients (WebSocket), spread over BENCH_LIVE_PROCESSES
   client processes so the clients' own GIL does not dominate the figures, all join the room.
4. One warm-up answer (not measured), then BENCH_LIVE_ANSWERS answers posted one after the
   other (BENCH_LIVE_GAP seconds apart) through POST /api/v1/threads/<id>/answers; each client stamps `answer.created` on arrival
   (time.monotonic, one clock for every process on the machine).

Figures: latency from the API response to receipt at each client (p50, p99, max; an event that
beats the response to the client counts as 0), the same from the request's start, the API's own
p50, how many (answer, client) deliveries never came. Target: p99 < 250 ms.

    .venv/bin/python bench/live_bench.py            # alone: prints lines, then one JSON line
    BENCH_LIVE_CLIENTS=20 BENCH_LIVE_ANSWERS=5 .venv/bin/python bench/live_bench.py
"""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from common import env_float, env_int, free_port, stop as stop_server  # noqa: E402  (bench/ is on sys.path)

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
P99_TARGET_MS = 250.0
PASSWORD = "bench-password-1"


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


# ---- the server --------------------------------------------------------------------------------

def _config(instance: Path, database_url: str | None) -> dict[str, Any]:
    return {"INSTANCE_PATH": str(instance),
            "SQLALCHEMY_DATABASE_URI": database_url or f"sqlite:///{instance / 'community.db'}",
            "SEARCH_BACKEND": "memory", "RATELIMIT_ENABLED": False,
            "PASSWORD_HASH_METHOD": "scrypt:1024:8:1"}


def make_app():
    """gunicorn entry: `live_bench:make_app()` with LIVE_BENCH_INSTANCE and LIVE_BENCH_DATABASE_URL
    (empty: SQLite in the instance), so it always opens the database `_prepare` filled."""
    from community import create_app

    return create_app(_config(Path(os.environ["LIVE_BENCH_INSTANCE"]),
                              os.environ.get("LIVE_BENCH_DATABASE_URL") or None))


def _prepare(instance: Path, database_url: str | None) -> dict[str, Any]:
    """Schema, two users, a token for the answerer, one thread."""
    from flask_migrate import upgrade
    from sqlalchemy import text

    from community import create_app
    from community.extensions import db
    from community.services import accounts, threads

    app = create_app(_config(instance, database_url))
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as conn:
                names = conn.execute(text("SELECT count(*) FROM information_schema.tables "
                                          "WHERE table_schema = 'public'")).scalar()
                if names and os.environ.get("BENCH_DATABASE_RESET") != "1":
                    raise SystemExit("BENCH_DATABASE_URL is not empty; set BENCH_DATABASE_RESET=1 "
                                     "to let the bench drop its public schema")
                conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        upgrade()
        asker = accounts.register("live_asker", "live_asker@example.com", PASSWORD)
        helper = accounts.register("live_helper", "live_helper@example.com", PASSWORD)
        # Nobody gets email (no MAIL_SERVER), but the notification worker still runs for real.
        thread = threads.ask(asker, "Live fan-out bench thread", "Watched by many clients.",
                             ["bench"])
        data = {"thread_id": thread.id, "token": accounts.issue_token(helper, "live bench")}
        db.session.remove()
        db.engine.dispose()
    return data


def _start_server(instance: Path, database_url: str | None, threads: int, log: Path):
    port = free_port()
    gunicorn = Path(sys.executable).with_name("gunicorn")
    env = {k: v for k, v in os.environ.items() if k != "GUNICORN_CMD_ARGS"}
    env.update({"LIVE_BENCH_INSTANCE": str(instance), "LIVE_BENCH_DATABASE_URL": database_url or "",
                "PYTHONDONTWRITEBYTECODE": "1"})
    cmd = [str(gunicorn) if gunicorn.exists() else "gunicorn", "--worker-class", "gthread",
           "--workers", "1", "--threads", str(threads), "--bind", f"127.0.0.1:{port}",
           "--pythonpath", str(BENCH_DIR), "--log-level", "warning", "--error-logfile", str(log),
           "--timeout", "120", "live_bench:make_app()"]
    process = subprocess.Popen(cmd, env=env, cwd=str(ROOT), start_new_session=True)
    base_url = f"http://127.0.0.1:{port}"
    import requests

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"gunicorn exited; see {log}:\n" + log.read_text(errors="replace")[-3000:])
        try:
            if requests.get(f"{base_url}/api/v1/openapi.json", timeout=2).status_code == 200:
                return process, base_url
        except requests.RequestException:
            pass
        time.sleep(0.2)
    stop_server(process)
    raise SystemExit(f"gunicorn did not answer within 60 s; see {log}")


# ---- the clients (each batch in its own process) ------------------------------------------------

def _client_process(base_url: str, thread_id: int, count: int, ready, stop, results) -> None:
    import threading

    import socketio

    receipts: list[tuple[int, float]] = []
    lock = threading.Lock()
    clients = []
    failures = 0
    for _ in range(count):
        client = socketio.Client(reconnection=False)

        def on_answer(data, client=client):
            stamp = time.monotonic()
            with lock:
                receipts.append((data["post_id"], stamp))

        client.on("answer.created", on_answer)
        try:
            client.connect(base_url, transports=["websocket"], wait_timeout=30)
            answer = client.call("join", {"thread": thread_id}, timeout=30)
            if not answer.get("ok"):
                raise RuntimeError(answer)
            clients.append(client)
        except Exception:  # noqa: BLE001  (counted: the bench reports how many joined)
            failures += 1
    ready.put((len(clients), failures))
    stop.wait()
    with lock:
        results.put(list(receipts))
    results.close()
    results.join_thread()
    os._exit(0)  # no orderly disconnects: hundreds of closing handshakes would only add time


# ---- the run -----------------------------------------------------------------------------------

def run(workdir: Path, *, clients: int, answers: int, processes: int, gap: float,
        database_url: str | None, say: Callable[[str], None]) -> dict[str, Any]:
    import requests

    instance = workdir / "live-instance"
    instance.mkdir(parents=True, exist_ok=True)
    data = _prepare(instance, database_url)
    server, base_url = _start_server(instance, database_url, clients + 32,
                                     workdir / "live-server.log")
    context = multiprocessing.get_context("spawn")
    ready, results, stop = context.Queue(), context.Queue(), context.Event()
    workers = []
    try:
        processes = max(1, min(processes, clients))
        shares = [clients // processes + (1 if i < clients % processes else 0)
                  for i in range(processes)]
        for share in shares:
            worker = context.Process(target=_client_process, daemon=True,
                                     args=(base_url, data["thread_id"], share, ready, stop, results))
            worker.start()
            workers.append(worker)
        connected = failed = 0
        for _ in workers:
            ok, bad = ready.get(timeout=300)
            connected += ok
            failed += bad
        say(f"live: {connected} socket clients in thread {data['thread_id']}'s room "
            f"({failed} failed to connect), {processes} client processes, one gunicorn worker")
        time.sleep(0.5)

        session = requests.Session()
        headers = {"Authorization": f"Bearer {data['token']}"}
        sent: dict[int, tuple[float, float]] = {}
        api_ms: list[float] = []
        # One answer first, not measured: the server's first render compiles templates and
        # warms its caches, which no later answer pays for.
        warmup = session.post(f"{base_url}/api/v1/threads/{data['thread_id']}/answers",
                              json={"body": "Warm-up answer."}, headers=headers, timeout=30)
        if warmup.status_code != 201:
            raise SystemExit(f"the warm-up answer got {warmup.status_code}: {warmup.text[:500]}")
        time.sleep(max(0.5, gap))
        for n in range(answers):
            started = time.monotonic()
            response = session.post(f"{base_url}/api/v1/threads/{data['thread_id']}/answers",
                                    json={"body": f"Answer {n}: restart the phone, then try again."},
                                    headers=headers, timeout=30)
            answered = time.monotonic()
            if response.status_code != 201:
                raise SystemExit(f"answer {n} got {response.status_code}: {response.text[:500]}")
            sent[response.json()["id"]] = (started, answered)
            api_ms.append((answered - started) * 1000)
            time.sleep(gap)
        time.sleep(max(1.0, gap))  # the last deliveries
        stop.set()
        receipts: list[tuple[int, float]] = []
        for _ in workers:
            receipts.extend(results.get(timeout=60))
    finally:
        stop.set()
        for worker in workers:
            worker.join(timeout=10)
            if worker.is_alive():
                worker.kill()
        stop_server(server)

    from_response, from_request = [], []
    early = 0
    for post_id, stamp in receipts:
        if post_id not in sent:
            continue
        started, answered = sent[post_id]
        if stamp < answered:
            early += 1
        from_response.append(max(0.0, stamp - answered) * 1000)
        from_request.append((stamp - started) * 1000)
    expected = connected * answers
    missed = expected - len(from_response)
    p50, p99 = _percentile(from_response, 50), _percentile(from_response, 99)
    summary = {
        "live_clients": connected, "live_connect_failures": failed,
        "live_client_processes": processes, "live_answers": answers,
        "live_deliveries": len(from_response), "live_missed": missed,
        "live_p50_ms": round(p50, 2) if p50 is not None else None,
        "live_p99_ms": round(p99, 2) if p99 is not None else None,
        "live_max_ms": round(max(from_response), 2) if from_response else None,
        "live_before_response": early,
        "live_from_request_p50_ms": round(_percentile(from_request, 50) or 0, 2),
        "live_from_request_p99_ms": round(_percentile(from_request, 99) or 0, 2),
        "live_api_p50_ms": round(statistics.median(api_ms), 2) if api_ms else None,
        "live_p99_target_ms": P99_TARGET_MS,
        "live_p99_target_met": p99 is not None and p99 < P99_TARGET_MS and missed == 0,
    }
    say(f"live fan-out: {answers} answers × {connected} clients: from API response to receipt "
        f"p50 {summary['live_p50_ms']} ms, p99 {summary['live_p99_ms']} ms, max "
        f"{summary['live_max_ms']} ms ({early} arrived before the response); from request "
        f"start p99 {summary['live_from_request_p99_ms']} ms; API p50 {summary['live_api_p50_ms']} "
        f"ms; {missed} missed; target p99 < {P99_TARGET_MS:g} ms: "
        f"{'met' if summary['live_p99_target_met'] else 'MISSED'}")
    return summary


def enabled() -> bool:
    """BENCH_LIVE_CLIENTS=0 leaves the live bench out of `make bench`."""
    return env_int("BENCH_LIVE_CLIENTS", 200) > 0


def for_make_bench(workdir: Path, database_url: str | None,
                   say: Callable[[str], None]) -> dict[str, Any]:
    """Called by bench/run.py with its settings from the environment."""
    return run(workdir, clients=env_int("BENCH_LIVE_CLIENTS", 200),
               answers=env_int("BENCH_LIVE_ANSWERS", 20),
               processes=env_int("BENCH_LIVE_PROCESSES", 4),
               gap=env_float("BENCH_LIVE_GAP", 0.25), database_url=database_url, say=say)


def main() -> int:
    workdir = Path(tempfile.mkdtemp(prefix="community-live-bench-"))
    try:
        summary = for_make_bench(workdir, os.environ.get("BENCH_DATABASE_URL") or None,
                                 lambda line: print(line, flush=True))
        print(json.dumps(summary, separators=(", ", ": ")), flush=True)
        return 0 if summary["live_missed"] == 0 else 1
    finally:
        if os.environ.get("BENCH_KEEP") == "1":
            print(f"(kept {workdir})", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
