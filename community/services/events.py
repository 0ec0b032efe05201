"""The after-commit event dispatcher: services publish, subscribers run once the commit succeeded.

`publish()` only records the event on the current session. An `after_commit` listener hands the
recorded events to the subscribers registered on the app (the list is `community/workers/`);
`after_rollback` drops them, so nothing outside the database ever hears about a change that did
not happen. Work committed on a connection of its own, outside the session, is `announce()`d
once committed. Modelled on warehouse's search indexing via `session.info` and zulip's
`send_event_on_commit`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from collections.abc import Callable, Collection
from typing import Any

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
    "inbound.stored",
    "inbound.received",
    "outbox.queued",
    "identity.linked",
    "notification.owed",
    "notification.created",
    # Moderation (services/moderation*.py); the ones about a thread are in THREAD_EVENTS too.
    "post.flagged", "flag.resolved", "post.hidden", "post.restored", "comment.hidden",
    "comment.restored", "thread.hidden", "thread.restored", "thread.locked", "thread.unlocked",
    "thread.closed", "thread.reopened", "thread.merged", "post.held", "post.approved",
    "post.rejected", "user.suspended", "user.unsuspended",
    # The triage queue (services/triage/): a thread entered or left it, was claimed or released.
    "triage.changed",
    # Accounts (services/account_recovery.py): the mailer sends the link each one calls for.
    "account.reset_requested", "account.verification_requested",
    # Outbound webhooks (services/webhooks.py): deliveries were written; wake their worker.
    "webhooks.queued",
})

# The events about one thread (their data has its `thread_id`): what search and cached pages follow.
THREAD_EVENTS = frozenset({
    "thread.created", "thread.updated", "answer.created", "comment.created", "post.edited",
    "post.voted", "answer.accepted", "answer.unaccepted", "answer.endorsed",
    "answer.unendorsed", "inbound.received", "post.hidden", "post.restored", "comment.hidden",
    "comment.restored", "thread.hidden", "thread.restored", "thread.locked", "thread.unlocked",
    "thread.closed", "thread.reopened", "thread.merged", "post.held", "post.approved",
    "post.rejected",
})

_PENDING = "community.pending_events"
_EXTENSION = "community.event_subscribers"
_IN_TRANSACTION = "community.event_subscribers_in_transaction"

Subscriber = Callable[["Event"], None]


@dataclass(frozen=True)
class Event:
    name: str
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class _Subscription:
    subscriber: Callable[[Any], None]
    names: frozenset[str] | None  # None: every event
    batch: bool = False  # the subscriber takes a list of events

    def __call__(self, item: Event) -> None:
        if self.names is None or item.name in self.names:
            self.subscriber(item)

    def all(self, items: list[Event]) -> None:
        if not self.batch:
            for item in items:
                self(item)
        elif wanted := [item for item in items if self.names is None or item.name in self.names]:
            self.subscriber(wanted)


def publish(name: str, **data: Any) -> None:
    """Queue an event on the current transaction; it goes out only if the transaction commits."""
    if name not in EVENT_NAMES:
        raise ValueError(f"unknown event {name!r}; add it to EVENT_NAMES")
    db.session.info.setdefault(_PENDING, []).append(Event(name, data))


def announce(name: str, **data: Any) -> None:
    """Hand an event to the after-commit subscribers now: for work already committed on a
    connection of its own (the bridge's webhook stores a delivery without the ORM session)."""
    if name not in EVENT_NAMES:
        raise ValueError(f"unknown event {name!r}; add it to EVENT_NAMES")
    _deliver(current_app.extensions.get(_EXTENSION, []), [Event(name, data)])


def subscribe(app: Flask, subscriber: Callable[[Any], None], *,
              names: Collection[str] | None = None, in_transaction: bool = False,
              batch: bool = False) -> None:
    """Run `subscriber` for every event (or those in `names`) after the commit succeeded.

    With `in_transaction`, it runs just before the commit instead, inside the same transaction,
    and may write rows that must stand or fall with the change (the bridge's outbox: a reply
    owed to a customer must never be lost between a commit and a crash). Such a subscriber
    raising aborts the commit. With `batch` as well, it is handed the transaction's events as
    one list, so that a burst's rows are written in one statement.
    """
    unknown = set(names or ()) - EVENT_NAMES
    if unknown:
        raise ValueError(f"unknown events {sorted(unknown)}; add them to EVENT_NAMES")
    if batch and not in_transaction:
        raise ValueError("batch subscribers run in the transaction")
    key = _IN_TRANSACTION if in_transaction else _EXTENSION
    app.extensions.setdefault(key, []).append(
        _Subscription(subscriber, frozenset(names) if names is not None else None, batch))


def unsubscribe(app: Flask, subscriber: Subscriber) -> None:
    for key in (_EXTENSION, _IN_TRANSACTION):
        app.extensions[key] = [item for item in app.extensions.get(key, [])
                               if item.subscriber is not subscriber]


def init_app(app: Flask) -> None:
    app.extensions.setdefault(_EXTENSION, [])
    app.extensions.setdefault(_IN_TRANSACTION, [])


def _before_commit(session: Session) -> None:
    if session.in_nested_transaction() or not has_app_context():
        return
    subscribers = current_app.extensions.get(_IN_TRANSACTION)
    pending = session.info.get(_PENDING)
    if not subscribers or not pending:
        return
    done = session.info.setdefault(_IN_TRANSACTION, 0)
    # Subscribers may publish further events; those are seen too (appended to `pending`).
    while done < len(pending):
        items = pending[done:]
        done = len(pending)
        session.info[_IN_TRANSACTION] = done
        for subscription in subscribers:
            subscription.all(items)


def _after_commit(session: Session) -> None:
    # SQLAlchemy fires after_commit for a released SAVEPOINT too; only the outermost commit counts.
    if session.in_nested_transaction():
        return
    session.info.pop(_IN_TRANSACTION, None)
    pending = session.info.pop(_PENDING, None)
    if not pending or not has_app_context():
        return
    _deliver(current_app.extensions.get(_EXTENSION, []), pending)


def _deliver(subscriptions: list[_Subscription], pending: list[Event]) -> None:
    for subscriber in subscriptions:
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
    session.info.pop(_IN_TRANSACTION, None)


event.listen(Session, "before_commit", _before_commit)
event.listen(Session, "after_commit", _after_commit)
event.listen(Session, "after_rollback", _after_rollback)
