"""The notifications worker, which writes the notifications committed events call for
(services/notifications/triggers.py), and the mailer, which emails each new one to members who
want email immediately, and tells a member when a social account was linked to theirs
(workers/mailer.py)."""

from __future__ import annotations

from flask import Flask

from community.services import events, notifications
from community.workers import mailer
from community.workers.worker import Worker, running

RECORDER = "notifications"
MAILER = "mailer"
EVENTS = (*notifications.TRIGGERS, "notification.created", "identity.linked")


def subscriber(app: Flask, workers: dict[str, Worker]) -> events.Subscriber:
    recorder = workers[RECORDER] = Worker(
        app, RECORDER, lambda happened: notifications.record(
            [(event.name, event.data) for event in happened]),
        gather_seconds=app.config["NOTIFY_GATHER_SECONDS"],
        gather_max_seconds=app.config["NOTIFY_GATHER_MAX_SECONDS"])
    sender = workers[MAILER] = Worker(app, MAILER, mailer.send_for)

    def on_commit(event: events.Event) -> None:
        if event.name in mailer.SENDS:
            sender.submit(event)
        else:
            recorder.submit(event)

    return on_commit


def flush(timeout: float = 30.0) -> bool:
    """Wait until notifications for every committed change are written and emailed."""
    written = running(RECORDER).flush(timeout)
    return running(MAILER).flush(timeout) and written


def failures() -> list[str]:
    return running(RECORDER).failures + running(MAILER).failures
