"""Webhook ingest bench (issue 5): signed deliveries per second turned into threads by one server
process, and a burst that must lose nothing.

1. A fresh instance (SQLite, or BENCH_DATABASE_URL for PostgreSQL) with one generic channel whose
   replies go to a local sink (so the embedded outbox worker really sends the acks meanwhile).
2. The real app under gunicorn, ONE worker process (gthread, BENCH_BRIDGE_THREADS threads),
   with its search index writer child (the default, SEARCH_INDEX_WRITER = "process").
3. BENCH_BRIDGE_DELIVERIES signed deliveries (default 10,000), each a new customer's complaint,
   POSTed as fast as BENCH_BRIDGE_CLIENTS keep-alive connections in BENCH_BRIDGE_PROCESSES client
   processes allow. Accepted per second = 2xx answers / wall time of the burst. The complaints'
   texts are the customers' own tweets from ../shared/corpora/customer_support, in turn.
4. The webhook stores and answers; the server's intake thread turns messages into threads behind
   it. Threads per second end to end = threads / time until the last one exists. Then the bench
   waits until every thread is in the search index too (searchable seconds), and until every
   ack has been sent (acknowledged seconds; the acks sent during the burst are counted too).
5. Then, with the server stopped, the database is audited: exactly one stored message, one thread
   and one ack per delivery (nothing lost, nothing twice), and every thread in the index.

Target: at least 300 deliveries/s on SQLite.

    .venv/bin/python bench/bridge_bench.py                       # alone: lines, then one JSON line
    BENCH_BRIDGE_DELIVERIES=2000 .venv/bin/python bench/bridge_bench.py
"""

from __future__ import annotations

import csv
import html
import http.client
import json
import multiprocessing
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable

from common import env_int, free_port, stop  # noqa: E402  (bench/ is on sys.path)

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
TARGET_PER_SECOND = 300.0
SECRET = "bench-bridge-secret"


def _config(instance: Path, database_url: str | None) -> dict[str, Any]:
    return {"INSTANCE_PATH": str(instance),
            "SQLALCHEMY_DATABASE_URI": database_url or f"sqlite:///{instance / 'community.db'}",
            "RATELIMIT_ENABLED": False,
            # The partner the outbox answers listens on loopback.
            "WEBHOOKS_ALLOW_PRIVATE_TARGETS": True}


def make_app():
    """gunicorn entry: `bridge_bench:make_app()` with BRIDGE_BENCH_INSTANCE set."""
    from community import create_app

    return create_app(_config(Path(os.environ["BRIDGE_BENCH_INSTANCE"]),
                              os.environ.get("BENCH_DATABASE_URL") or None))


def _prepare(instance: Path, database_url: str | None, callback_url: str) -> None:
    from flask_migrate import upgrade
    from sqlalchemy import text

    from community import create_app
    from community.extensions import db
    from community.services import bridge

    app = create_app(_config(instance, database_url))
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            if os.environ.get("BENCH_DATABASE_RESET") != "1":
                raise SystemExit("set BENCH_DATABASE_RESET=1 to let the bench drop the public "
                                 "schema of BENCH_DATABASE_URL")
            with db.engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        upgrade()
        bridge.add_channel(None, "generic", "bench", {"secret": SECRET,
                                                      "callback_url": callback_url})
        db.session.remove()
        db.engine.dispose()


def _audit(instance: Path, database_url: str | None) -> dict[str, int]:
    from sqlalchemy import func, select

    from community import create_app
    from community.extensions import db
    from community.models import InboundMessage, OutboundMessage, Thread

    app = create_app(_config(instance, database_url))
    with app.app_context():
        def count(model, *where) -> int:
            return db.session.scalar(select(func.count()).select_from(model).where(*where))

        counts = {"stored": count(InboundMessage),
                  "distinct": db.session.scalar(select(func.count(func.distinct(
                      InboundMessage.external_id)))),
                  "threads": count(Thread), "acks": count(OutboundMessage),
                  "failed": count(InboundMessage, InboundMessage.outcome == "failed"),
                  "pending": count(InboundMessage, InboundMessage.outcome == ""),
                  # Held by the spam checker for a moderator: hidden, so neither indexed nor acked.
                  "held": count(InboundMessage, InboundMessage.outcome == "held"),
                  "sent": count(OutboundMessage, OutboundMessage.state == "sent")}
        db.session.remove()
        db.engine.dispose()
    return counts


class _Sink(BaseHTTPRequestHandler):
    """The partner's callback: accepts every reply (the acks the worker sends meanwhile). It
    keeps connections open between requests, as the channels' real APIs do."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body leave at once, not 40 ms apart

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = json.dumps({"id": self.headers.get("Idempotency-Key", "")}).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def handle(self) -> None:
        try:
            super().handle()
        except (BrokenPipeError, ConnectionResetError):  # the server stopped mid-reply
            pass

    def log_message(self, *args) -> None:
        pass


TWEETS = ROOT.parent / "shared" / "corpora" / "customer_support" / "twcs_head5000.csv"
SYNTHETIC = "My line has had no signal since this morning. Is there an outage near me?"


def complaint_texts() -> tuple[list[str], str]:
    """The customers' own tweets in ../shared's customer-support corpus (2,778 of them: mentions,
    links, emoji, a third of them with something for markdown or linkify), and what they are;
    a synthetic plain sentence when the corpus is absent."""
    if not TWEETS.is_file():
        return [SYNTHETIC], "synthetic plain sentences (../shared corpus absent)"
    with TWEETS.open(newline="", encoding="utf-8") as handle:
        texts = [html.unescape(row["text"]) for row in csv.DictReader(handle)
                 if row["inbound"] == "True"]
    return texts, f"{len(texts):,} real customer tweets, in turn"


def _client(base_url: str, numbers: list[int], connections: int, texts: list[str],
            results) -> None:
    from community.bridge.generic import sign

    host, port = base_url.split("//")[1].split(":")
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    chunks = [numbers[i::connections] for i in range(connections)]

    def run(chunk: list[int]) -> None:
        conn = http.client.HTTPConnection(host, int(port), timeout=60)
        for n in chunk:
            body = json.dumps({"type": "message", "id": f"bench-{n}", "conversation": f"c{n}",
                               "author": {"id": f"customer-{n}", "handle": f"customer{n}"},
                               "text": texts[n % len(texts)]}).encode()
            try:
                conn.request("POST", "/bridge/bench/webhook", body=body, headers={
                    "Content-Type": "application/json", **sign(SECRET, body)})
                response = conn.getresponse()
                response.read()
                status = response.status
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection(host, int(port), timeout=60)
                status = 0
            with lock:
                statuses[status] = statuses.get(status, 0) + 1
        conn.close()

    workers = [threading.Thread(target=run, args=(chunk,)) for chunk in chunks]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    results.put(statuses)


def run(workdir: Path, *, deliveries: int, processes: int, clients: int, threads: int,
        database_url: str | None, say: Callable[[str], None]) -> dict[str, Any]:
    label = "PostgreSQL" if database_url else "SQLite"
    instance = workdir / f"bridge-{label.lower()}"
    instance.mkdir(parents=True, exist_ok=True)
    sink = ThreadingHTTPServer(("127.0.0.1", 0), _Sink)
    sink.daemon_threads = True
    threading.Thread(target=sink.serve_forever, daemon=True).start()
    _prepare(instance, database_url, f"http://127.0.0.1:{sink.server_address[1]}/replies")

    port = free_port()
    gunicorn = Path(sys.executable).with_name("gunicorn")
    env = {k: v for k, v in os.environ.items() if k != "GUNICORN_CMD_ARGS"}
    env["BRIDGE_BENCH_INSTANCE"] = str(instance)
    env.pop("BENCH_DATABASE_URL", None)  # the SQLite run must not inherit the PostgreSQL one
    if database_url:
        env["BENCH_DATABASE_URL"] = database_url
    log = workdir / f"bridge-{label.lower()}.log"
    server = subprocess.Popen(
        [str(gunicorn) if gunicorn.exists() else "gunicorn", "--worker-class", "gthread",
         "--workers", "1", "--threads", str(threads), "--bind", f"127.0.0.1:{port}",
         "--pythonpath", str(BENCH_DIR), "--log-level", "warning", "--error-logfile", str(log),
         "--timeout", "120", "bridge_bench:make_app()"],
        env=env, cwd=str(ROOT), start_new_session=True)
    base_url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(server, base_url, log)
        numbers = list(range(deliveries))
        texts, texts_are = complaint_texts()
        results: multiprocessing.Queue = multiprocessing.Queue()
        started = time.monotonic()
        workers = [multiprocessing.Process(target=_client, args=(
            base_url, numbers[i::processes], max(1, clients // processes), texts, results))
            for i in range(processes)]
        for worker in workers:
            worker.start()
        statuses: dict[int, int] = {}
        for _ in workers:
            for status, n in results.get().items():
                statuses[status] = statuses.get(status, 0) + n
        for worker in workers:
            worker.join()
        elapsed = time.monotonic() - started
        acked_in_burst = _audit(instance, database_url)["sent"]
        # Intake runs behind the webhook: wait until every stored message is a thread.
        accepted = sum(n for status, n in statuses.items() if 200 <= status < 300)
        deadline = time.monotonic() + env_timeout()
        while _audit(instance, database_url)["pending"] and time.monotonic() < deadline:
            time.sleep(0.5)
        settled = time.monotonic() - started
        published = accepted - _audit(instance, database_url)["held"]
        # Searchable too: the server's index writer catches up behind the intake.
        while _indexed(instance) < published and time.monotonic() < deadline:
            time.sleep(0.5)
        searchable = time.monotonic() - started
        # Every customer acknowledged: the outbox thread sends the acks behind the intake.
        while _audit(instance, database_url)["sent"] < published and time.monotonic() < deadline:
            time.sleep(0.5)
        acknowledged = time.monotonic() - started
    finally:
        stop(server, timeout=60)  # SIGTERM lets the worker finish what it holds
        sink.shutdown()
    audit = {**_audit(instance, database_url), "indexed": _indexed(instance)}
    rate = accepted / elapsed if elapsed else 0.0
    threads_rate = audit["threads"] / settled if settled else 0.0
    lost = deliveries - audit["stored"]
    say(f"bridge ingest ({label}): {deliveries:,} signed deliveries ({texts_are}) from {clients} "
        f"connections in {elapsed:.1f} s = {rate:,.0f}/s accepted; answers {statuses}")
    say(f"  all taken in after {settled:.1f} s = {threads_rate:,.0f} threads/s end to end; "
        f"audit: {audit['stored']:,} stored ({audit['distinct']:,} distinct), "
        f"{audit['threads']:,} threads, {audit['acks']:,} acks owed, {audit['failed']} failed "
        f"intakes, {audit['pending']} not taken in, {audit['held']} held for a moderator; "
        f"lost {lost}; all searchable after "
        f"{searchable:.1f} s ({audit['indexed']:,} in the index); {acked_in_burst:,} acks sent "
        f"during the burst, all {audit['sent']:,} after {acknowledged:.1f} s"
        + (f"; target >= {TARGET_PER_SECOND:.0f}/s: "
           f"{'met' if min(rate, threads_rate) >= TARGET_PER_SECOND else 'MISSED'}"
           if not database_url else ""))
    key = "pg" if database_url else "sqlite"
    return {f"bridge_{key}_deliveries": deliveries, f"bridge_{key}_per_second": round(rate, 1),
            f"bridge_{key}_threads_per_second": round(threads_rate, 1),
            f"bridge_{key}_statuses": statuses, f"bridge_{key}_lost": lost,
            f"bridge_{key}_threads": audit["threads"], f"bridge_{key}_acks": audit["acks"],
            f"bridge_{key}_failed_intakes": audit["failed"], f"bridge_{key}_indexed": audit["indexed"],
            f"bridge_{key}_held": audit["held"],
            f"bridge_{key}_searchable_seconds": round(searchable, 1),
            f"bridge_{key}_acks_sent_in_burst": acked_in_burst,
            f"bridge_{key}_acks_sent": audit["sent"],
            f"bridge_{key}_acknowledged_seconds": round(acknowledged, 1)}


def _indexed(instance: Path) -> int:
    """Threads in the server's search index, as its files on disk say."""
    from whoosh.index import EmptyIndexError, open_dir

    from community.search.whoosh_index import INDEX_NAME

    try:
        index = open_dir(str(instance / "search-index"), indexname=INDEX_NAME)
    except (EmptyIndexError, OSError):
        return 0
    with index.reader() as reader:
        return reader.doc_count()


def _wait_ready(server: subprocess.Popen, base_url: str, log: Path) -> None:
    host, port = base_url.split("//")[1].split(":")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"gunicorn exited; see {log}:\n" + log.read_text(errors="replace")[-3000:])
        try:
            conn = http.client.HTTPConnection(host, int(port), timeout=2)
            conn.request("GET", "/api/v1/openapi.json")
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"gunicorn did not answer within 60 s; see {log}")


def env_timeout() -> float:
    return float(os.environ.get("BENCH_BRIDGE_SETTLE_SECONDS") or 600)


def enabled() -> bool:
    """BENCH_BRIDGE_DELIVERIES=0 leaves the ingest bench out of `make bench`."""
    return env_int("BENCH_BRIDGE_DELIVERIES", 10_000) > 0


def for_make_bench(workdir: Path, database_url: str | None,
                   say: Callable[[str], None]) -> dict[str, Any]:
    settings = dict(deliveries=env_int("BENCH_BRIDGE_DELIVERIES", 10_000),
                    processes=env_int("BENCH_BRIDGE_PROCESSES", 2),
                    clients=env_int("BENCH_BRIDGE_CLIENTS", 16),
                    threads=env_int("BENCH_BRIDGE_THREADS", 8))
    summary = run(workdir, database_url=None, say=say, **settings)
    if database_url:
        summary.update(run(workdir, database_url=database_url, say=say, **settings))
    return summary


def main() -> int:
    workdir = Path(tempfile.mkdtemp(prefix="community-bridge-bench-"))
    try:
        summary = for_make_bench(workdir, os.environ.get("BENCH_DATABASE_URL") or None,
                                 lambda line: print(line, flush=True))
        print(json.dumps(summary, separators=(", ", ": ")), flush=True)
        return 0 if all(v == 0 for k, v in summary.items() if k.endswith("_lost")) else 1
    finally:
        if os.environ.get("BENCH_KEEP") == "1":
            print(f"(kept {workdir})", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
