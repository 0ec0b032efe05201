"""The bridge's two queues: intake of stored messages (a burst at a time), and the worker that
sends what we owe customers and polls channels without push (services/bridge/sending.py).

The sender runs as a thread of the server process (BRIDGE_WORKER "thread", started by the first
request so that CLI commands do not start it) or as a process of its own
(`community bridge worker`). It wakes every BRIDGE_WORKER_INTERVAL seconds, and at once when a
commit queues a reply.
"""

from __future__ import annotations

from collections import Counter

from flask import Flask

from community.services import bridge, events
from community.services.bridge import sending
from community.workers.worker import Worker, running

INTAKE = "bridge-intake"
SENDER = "bridge-outbox"


def intake_subscriber(app: Flask, workers: dict[str, Worker]) -> events.Subscriber:
    """Take in what a webhook or a poll stored: now (BRIDGE_INTAKE "inline") or on the intake
    thread, so that the webhook answers at once."""
    intake = workers[INTAKE] = Worker(
        app, INTAKE, lambda deliveries: bridge.intake_many(
            [inbound_id for stored in deliveries for inbound_id in stored]),
        gather_seconds=app.config["BRIDGE_INTAKE_GATHER_SECONDS"],
        gather_max_seconds=app.config["BRIDGE_INTAKE_GATHER_MAX_SECONDS"])

    def on_stored(event: events.Event) -> None:
        if app.config["BRIDGE_INTAKE"] == "inline":
            bridge.intake_many(event.data["inbound_ids"])
        else:
            intake.submit(event.data["inbound_ids"])

    return on_stored


def sender_subscriber(app: Flask, workers: dict[str, Worker]) -> events.Subscriber:
    """Wake the sender when a commit queues a reply."""
    sender = workers[SENDER] = Worker(app, SENDER, lambda wakes: send_replies(),
                                      every=app.config["BRIDGE_WORKER_INTERVAL"])
    if app.config["BRIDGE_WORKER"] == "thread" and not app.testing:
        app.before_request(sender.start)
    return lambda event: sender.wake()


def send_replies() -> Counter[str]:
    """One round of the sender; outcome counts. Sends make way while intake is in a burst."""
    return sending.run_once(make_way=taking_in_burst)


def taking_in_burst() -> bool:
    """True while this process is taking in a burst of deliveries."""
    return running(INTAKE).in_burst


def flush(timeout: float = 30.0) -> bool:
    """Wait until every stored message has been taken in (tests, benchmarks)."""
    return running(INTAKE).flush(timeout)


def run_sender_forever() -> None:
    """The sender in the foreground: `community bridge worker`."""
    running(SENDER).run_forever()
