"""Webhook fan-out bench (issue 19): events committed one by one, delivered to 5 loopback
subscribers (one failing half its requests with 500), by the delivery worker on a thread of
this process, as the server runs it.

1. A fresh SQLite instance (or BENCH_DATABASE_URL with BENCH_DATABASE_RESET=1), five receivers on
   127.0.0.1, five subscriptions to `*`; retries after 5 ms doubling to 50 ms (a failure
   holds back that subscriber's later events: order per subscription).
2. BENCH_WEBHOOK_EVENTS events (default 2,000: `user.suspended`, the cheapest public event to
   publish), each committed in its own transaction, while the worker sends.
3. Deliveries per second = 2xx deliveries / time from the first commit to the last receipt;
   p50/p99 from each commit to its first 2xx receipt at each subscriber; lost = events a
   subscriber never got; out of order = subscribers that got them in another order.

    .venv/bin/python bench/webhook_bench.py                       # alone: lines, then one JSON line
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))
sys.path.insert(0, str(BENCH_DIR.parent))

from common import env_int  # noqa: E402

SUBSCRIBERS = 5


class Receiver:
    """Records the first 2xx receipt time of each event (by the `user_id` in its data)."""

    def __init__(self, failing: bool) -> None:
        self.first: dict[int, float] = {}
        self.order: list[int] = []
        self.requests = 0
        lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with lock:
                    receiver.requests += 1
                    fail = failing and receiver.requests % 2 == 0
                    if not fail:
                        n = json.loads(body)["data"]["user_id"]
                        if n not in receiver.first:
                            receiver.first[n] = time.monotonic()
                            receiver.order.append(n)
                self.send_response(500 if fail else 204)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


def measure(workdir: Path, database_url: str | None = None, say=print) -> dict:
    from flask_migrate import upgrade
    from sqlalchemy import text

    from community import create_app
    from community.extensions import db
    from community.services import events, webhook_delivery, webhooks

    count = env_int("BENCH_WEBHOOK_EVENTS", 2000)
    instance = workdir / "webhook-instance"
    instance.mkdir(parents=True, exist_ok=True)
    app = create_app({
        "INSTANCE_PATH": str(instance), "RATELIMIT_ENABLED": False,
        "SQLALCHEMY_DATABASE_URI": database_url or f"sqlite:///{instance / 'community.db'}",
        "WEBHOOKS_ALLOW_PRIVATE_TARGETS": True, "WEBHOOKS_WORKER": "off",
        "WEBHOOKS_RETRY_BASE_SECONDS": 0.005, "WEBHOOKS_RETRY_MAX_SECONDS": 0.05,
        "SEARCH_RECONCILE_AT_START": False, "NOTIFY_RECOVERY_SECONDS": None})
    receivers = [Receiver(failing=(n == 0)) for n in range(SUBSCRIBERS)]
    committed: dict[int, float] = {}
    stop = threading.Event()

    def worker() -> None:
        with app.app_context():
            while not stop.is_set():
                if not sum(webhook_delivery.run_once().values()):
                    time.sleep(0.005)
                db.session.remove()

    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            if os.environ.get("BENCH_DATABASE_RESET") != "1":
                raise SystemExit("set BENCH_DATABASE_RESET=1 to let the bench drop the schema")
            with db.engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        upgrade()
        for receiver in receivers:
            webhooks.create(None, receiver.url, ["*"])
        sender = threading.Thread(target=worker, daemon=True)
        sender.start()
        started = time.monotonic()
        for n in range(1, count + 1):
            events.publish("user.suspended", user_id=n)
            db.session.commit()
            committed[n] = time.monotonic()
        produced = time.monotonic() - started
        deadline = time.monotonic() + max(120.0, count * 0.1)
        while (any(len(r.first) < count for r in receivers)
               and time.monotonic() < deadline):
            time.sleep(0.05)
        stop.set()
        sender.join(30)
    last = max((max(r.first.values()) for r in receivers if r.first), default=started)
    latencies = [(r.first[n] - committed[n]) * 1000 for r in receivers for n in r.first]
    healthy = [(r.first[n] - committed[n]) * 1000 for r in receivers[1:] for n in r.first]
    delivered = sum(len(r.first) for r in receivers)
    healthy_last = max((max(r.first.values()) for r in receivers[1:] if r.first), default=started)
    healthy_delivered = sum(len(r.first) for r in receivers[1:])
    result = {
        "webhook_events": count, "webhook_subscribers": SUBSCRIBERS,
        "webhook_deliveries_per_second": round(delivered / max(last - started, 1e-9), 1),
        "webhook_p50_ms": round(statistics.median(latencies), 1) if latencies else None,
        "webhook_p99_ms": round(_percentile(latencies, 0.99), 1) if latencies else None,
        "webhook_healthy_deliveries_per_second": round(
            healthy_delivered / max(healthy_last - started, 1e-9), 1),
        "webhook_healthy_p50_ms": round(statistics.median(healthy), 1) if healthy else None,
        "webhook_healthy_p99_ms": round(_percentile(healthy, 0.99), 1) if healthy else None,
        "webhook_events_committed_per_second": round(count / max(produced, 1e-9), 1),
        "webhook_lost": SUBSCRIBERS * count - delivered,
        "webhook_out_of_order": sum(r.order != sorted(r.order) for r in receivers),
        "webhook_failing_requests": receivers[0].requests,
    }
    say(f"webhooks: {count:,} events to {SUBSCRIBERS} subscribers (one failing half its "
        f"requests): {result['webhook_deliveries_per_second']:,.1f} deliveries/s, commit to "
        f"receipt p50 {result['webhook_p50_ms']} ms, p99 {result['webhook_p99_ms']} ms (the "
        f"four healthy ones: {result['webhook_healthy_deliveries_per_second']:,.1f}/s, p50 "
        f"{result['webhook_healthy_p50_ms']} ms, p99 "
        f"{result['webhook_healthy_p99_ms']} ms); "
        f"{result['webhook_events_committed_per_second']:,.1f} events committed/s; "
        f"lost {result['webhook_lost']}, subscribers out of order "
        f"{result['webhook_out_of_order']}")
    for receiver in receivers:
        receiver.server.shutdown()
    return result


def for_make_bench(workdir: Path, database_url: str | None, say=print) -> dict:
    return measure(workdir, None, say)


if __name__ == "__main__":
    folder = Path(tempfile.mkdtemp(prefix="webhook-bench-"))
    try:
        print(json.dumps(measure(folder, os.environ.get("BENCH_DATABASE_URL") or None)))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
