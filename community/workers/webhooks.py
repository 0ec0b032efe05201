"""The webhook delivery worker: sends owed deliveries (services/webhook_delivery.py).

It runs as a thread of the server process (WEBHOOKS_WORKER "thread", started by the first
request so that CLI commands do not start it) or as a process of its own
(`community webhooks worker`). It wakes every WEBHOOKS_WORKER_INTERVAL seconds, and at once
when a commit owes deliveries. Several workers at once are safe: the outbox's claims keep them
from sending a delivery twice.
"""

from __future__ import annotations

from collections import Counter

from flask import Flask

from community.services import events, webhook_delivery
from community.workers.worker import Worker, running

SENDER = "webhooks"


def subscriber(app: Flask, workers: dict[str, Worker]) -> events.Subscriber:
    """Wake the sender when a commit owes deliveries."""
    sender = workers[SENDER] = Worker(app, SENDER, lambda wakes: send(),
                                      every=app.config["WEBHOOKS_WORKER_INTERVAL"])
    if app.config["WEBHOOKS_WORKER"] == "thread" and not app.testing:
        app.before_request(sender.start)
    return lambda event: sender.wake()


def send() -> Counter[str]:
    """One round: settle stale sends, send what is due; outcome counts."""
    return webhook_delivery.run_once()


def run_forever() -> None:
    """The sender in the foreground: `community webhooks worker`."""
    running(SENDER).run_forever()
