"""Notifications owed for committed changes, kept as rows until they are written.

A change's own transaction inserts a row per event that calls for notifications (`owe`); the
notifications worker claims rows and writes their notifications (`deliver_owed` at once after
the commit, `recover_owed` for rows left behind), deleting each row in the transaction that
writes its notifications. So a crash at any point leaves the row rather than a gap, and no
event notifies twice: a claim is a compare-and-set under a token of its own, and only the
holder of the claim may delete the row. A claim that runs out (its worker died) lets another
worker take the row.

Not services/outbox.py: that engine's claim is committed before a send to another system whose
outcome is recorded later, and its rows are kept; here the work is in the same database, so the
row goes in the very transaction that does it, and a claim only keeps two workers from doing it
at once.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from flask import current_app
from sqlalchemy import ColumnElement, and_, delete, func, or_, select, update

from community.extensions import db
from community.models import OwedNotification
from community.models.base import insert_rows, utcnow
from community.services import events
from community.services.notifications import triggers
from community.services.retry import LostRace, retry_on_conflict

log = logging.getLogger(__name__)

ATTEMPTS = 5        # claims of a failing row before it is left for a person to look at
BATCH = 500         # rows written per transaction
_OWED = OwedNotification.__table__


@dataclass(frozen=True)
class Claim:
    """Owed rows one worker holds until its lease ends: (id, event, data, attempts) each."""

    token: str
    rows: list[Any]


def owe(happened: list[events.Event]) -> None:
    """In the transaction of a change, just before its commit: keep the events that call for
    notifications as rows (one INSERT for them all; their data must be JSON), and publish
    `notification.owed` so that the worker writes them as soon as the change is committed."""
    now = utcnow()
    ids = insert_rows(db.session.connection(), _OWED, [
        {"event": item.name, "data": item.data, "attempts": 0, "created_at": now}
        for item in happened])
    events.publish("notification.owed", owed_ids=ids)


def deliver_owed(owed_ids: Iterable[int]) -> int:
    """Write the notifications of these owed rows now, unless another worker holds them; the
    number of events written. For the worker of the process that committed them."""
    owed_ids = list(owed_ids)
    return sum(write(claim(_OWED.c.id.in_(owed_ids[start:start + BATCH])))
               for start in range(0, len(owed_ids), BATCH))


def recover_owed(left_for: timedelta) -> int:
    """Write what is owed for rows that no worker took within `left_for` of their commit (their
    process died before its worker got to them), or whose claim ran out (their worker died while
    writing); the number of events written. Run at start-up and now and then by every process:
    the claims keep them from writing a row twice."""
    written = 0
    cutoff = utcnow() - left_for
    while claimed := claim(or_(_OWED.c.claimed_until.is_not(None), _OWED.c.created_at <= cutoff),
                           limit=BATCH):
        written += write(claimed)
    return written


def count_owed() -> int:
    """How many rows are owed (including any left for a person after ATTEMPTS failures)."""
    return db.session.scalar(select(func.count()).select_from(_OWED))


@retry_on_conflict
def claim(which: ColumnElement[bool], limit: int | None = None) -> Claim | None:
    """Take up to `limit` of the rows `which` picks that nobody holds (or whose claim ran out),
    for NOTIFY_LEASE_SECONDS, and commit; None if there were none. Safe with several workers and
    processes at once: on PostgreSQL they skip each other's locked rows, and everywhere the
    UPDATE checks again that each row is free."""
    now = utcnow()
    free = and_(which, _OWED.c.attempts < ATTEMPTS,
                or_(_OWED.c.claimed_until.is_(None), _OWED.c.claimed_until <= now))
    picked = select(_OWED.c.id).where(free).order_by(_OWED.c.id).limit(limit)
    if db.session.get_bind().dialect.name == "postgresql":
        picked = picked.with_for_update(skip_locked=True)
    # Read first: a round that finds nothing (nearly every one) then writes nothing either.
    due = db.session.scalars(picked).all()
    if not due:
        db.session.commit()
        return None
    token = uuid.uuid4().hex
    lease = timedelta(seconds=current_app.config["NOTIFY_LEASE_SECONDS"])
    rows = db.session.execute(
        update(_OWED).where(_OWED.c.id.in_(due), free)
        .values(claimed_by=token, claimed_until=now + lease, attempts=_OWED.c.attempts + 1)
        .returning(_OWED.c.id, _OWED.c.event, _OWED.c.data, _OWED.c.attempts)).all()
    db.session.commit()
    return Claim(token, sorted(rows, key=lambda row: row.id)) if rows else None


def write(claimed: Claim | None) -> int:
    """Write a claim's notifications in one transaction; if that fails, each row in its own, so
    that one bad event holds up only itself (it stays claimed until its lease ends, and is tried
    again then, up to ATTEMPTS times). Raises the first failure once the others are written."""
    if claimed is None:
        return 0
    try:
        return _write_rows(claimed.token, claimed.rows)
    except Exception:
        db.session.rollback()
        if len(claimed.rows) == 1:
            _note_failure(claimed.rows[0])
            raise
    written, failure = 0, None
    for row in claimed.rows:
        try:
            written += _write_rows(claimed.token, [row])
        except Exception as exc:
            db.session.rollback()
            _note_failure(row)
            failure = failure or exc
    if failure is not None:
        raise failure
    return written


@retry_on_conflict
def _write_rows(token: str, rows: list[Any]) -> int:
    """The rows' notifications and the rows' deletion, in one transaction: only rows this claim
    still holds (a claim that ran out may have passed to another worker)."""
    ids = [row.id for row in rows]
    mine = set(db.session.scalars(select(_OWED.c.id).where(_OWED.c.id.in_(ids),
                                                           _OWED.c.claimed_by == token)))
    if mine:
        triggers.write([(row.event, row.data) for row in rows if row.id in mine])
        deleted = db.session.execute(delete(_OWED).where(
            _OWED.c.id.in_(mine), _OWED.c.claimed_by == token)).rowcount
        if deleted != len(mine):
            raise LostRace("an owed notification's claim passed to another worker")
    db.session.commit()
    return len(mine)


def _note_failure(row: Any) -> None:
    if row.attempts >= ATTEMPTS:
        log.error("owed notification %s (%s %s) failed %s times; left for a person to look at",
                  row.id, row.event, row.data, row.attempts)
