"""The after-commit event dispatcher: services publish, subscribers run once the commit succeeded.

`publish()` only records the event on the current session. An `after_commit` listener hands the
recorded events to every subscriber registered on the app (search index, Socket.IO, webhooks,
bridge outbox); `after_rollback` drops them, so nothing outside the database ever hears about a
change that did not happen. Modelled on warehouse's search indexing via `session.info` and
zulip's `send_event_on_commit`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Callable

from flask import Flask, current_app, has_app_context
from sqlalchemy import event
from sqlalchemy.orm import Session

from community.extensions import db

log = logging.getLogger(__name__)

EVENT_NAMES = frozenset({
    "user.created",
    "thread.created",
    "thread.updated",
    "answer.created",
    "comment.created",
    "post.edited",
    "post.voted",
    "answer.accepted",
    "answer.unaccepted",
    "answer.endorsed",
    "answer.unendorsed",
})

_PENDING = "community.pending_events"
_EXTENSION = "community.event_subscribers"

Subscriber = Callable[["Event"], None]


@dataclass(frozen=True)
class Event:
    name: str
    data: dict[str, Any] = field(default_factory=dict)


def publish(name: str, **data: Any) -> None:
    """Queue an event on the current transaction; it goes out only if the transaction commits."""
    if name not in EVENT_NAMES:
        raise ValueError(f"unknown event {name!r}; add it to EVENT_NAMES")
    db.session.info.setdefault(_PENDING, []).append(Event(name, data))


def subscribe(app: Flask, subscriber: Subscriber) -> None:
    app.extensions.setdefault(_EXTENSION, []).append(subscriber)


def init_app(app: Flask) -> None:
    app.extensions.setdefault(_EXTENSION, [])


def _after_commit(session: Session) -> None:
    # SQLAlchemy fires after_commit for a released SAVEPOINT too; only the outermost commit counts.
    if session.in_nested_transaction():
        return
    pending = session.info.pop(_PENDING, None)
    if not pending or not has_app_context():
        return
    for subscriber in current_app.extensions.get(_EXTENSION, []):
        for item in pending:
            try:
                subscriber(item)
            except Exception:  # one failing side effect must not break the request that committed
                if current_app.testing:
                    raise  # ...but in tests it must not go unnoticed either
                log.exception("event subscriber %r failed on %s", subscriber, item.name)


def _after_rollback(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a SAVEPOINT rolled back; what the outer transaction published still stands
    session.info.pop(_PENDING, None)


event.listen(Session, "after_commit", _after_commit)
event.listen(Session, "after_rollback", _after_rollback)
