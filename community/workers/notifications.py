"""The notifications worker, which writes the notifications committed events call for
(services/notifications/triggers.py), and the mailer, which emails each new one to members who
want email immediately, and tells a member when a social account was linked to theirs
(workers/mailer.py).

What is owed survives a crash: the change's transaction keeps it as rows
(services/notifications/owed.py), and `notification.owed` hands their ids to this process's
worker at once. With NOTIFY_RECOVERY_SECONDS, the worker of a server process (started by its
first request, so CLI commands do not start it) also takes up, then and that often, rows that
no process took in that time: their process died with them queued here.
"""

from __future__ import annotations

import time
from datetime import timedelta

from flask import Flask

from community.services import events, notifications
from community.workers import mailer
from community.workers.worker import Worker, running

RECORDER = "notifications"
MAILER = "mailer"
EVENTS = ("notification.owed", "notification.created", "identity.linked",
          "account.reset_requested", "account.verification_requested")


def subscriber(app: Flask, workers: dict[str, Worker]) -> events.Subscriber:
    recovery = app.config["NOTIFY_RECOVERY_SECONDS"]
    recorder = workers[RECORDER] = Worker(
        app, RECORDER, _recorder(recovery),
        gather_seconds=app.config["NOTIFY_GATHER_SECONDS"],
        gather_max_seconds=app.config["NOTIFY_GATHER_MAX_SECONDS"], every=recovery)
    if recovery:
        app.before_request(recorder.start)
    sender = workers[MAILER] = Worker(app, MAILER, mailer.send_for)

    def on_commit(event: events.Event) -> None:
        if event.name in mailer.SENDS:
            sender.submit(event)
        else:
            recorder.submit(event.data["owed_ids"])

    return on_commit


def _recorder(recovery: float | None):
    """The worker's round: write the owed rows it was handed; and, when it starts and whenever
    `recovery` seconds have passed since the last time, those left behind by other processes."""
    last = float("-inf")

    def record(batch: list[list[int] | None]) -> None:
        # A batch holds the ids of `notification.owed` events; None (the first round), or an
        # empty batch (a quiet interval ran out), only asks for a recovery round.
        nonlocal last
        owed_ids = [owed_id for item in batch if item for owed_id in item]
        if owed_ids:
            notifications.deliver_owed(owed_ids)
        if recovery and time.monotonic() - last >= recovery:
            last = time.monotonic()
            notifications.recover_owed(timedelta(seconds=recovery))

    return record


def flush(timeout: float = 30.0) -> bool:
    """Wait until notifications for every committed change are written and emailed."""
    written = running(RECORDER).flush(timeout)
    return running(MAILER).flush(timeout) and written


def failures() -> list[str]:
    return running(RECORDER).failures + running(MAILER).failures
