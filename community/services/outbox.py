"""A durable outbox: messages owed to another system, kept as rows and sent exactly once.

Any table with `id`, `state`, `attempts`, `next_attempt_at` and `claimed_at` columns works: the
bridge's replies to customers and outbound webhook deliveries. A row is claimed (`pending` →
`sending`, attempts + 1) by compare-and-set and committed *before* it is sent, so a crash
mid-send leaves a `sending` row behind instead of a silent gap; rows past their lease are handed
to the caller to settle (ask the other side, send again, or hold for staff). Sends go in
batches, their outcomes recorded together; transient failures back off with jitter.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta
from time import sleep

from sqlalchemy import ColumnElement, bindparam, select, true, update

from community.extensions import db
from community.models.base import utcnow


def backoff(attempts: int, base: float, cap: float, retry_after: float | None = None) -> float:
    """Seconds before the next attempt: doubling from `base`, capped at `cap`, with jitter; at
    least what the other side asked for."""
    delay = min(cap, base * 2 ** max(0, attempts - 1)) * random.uniform(0.5, 1.0)
    return max(delay, retry_after or 0.0)


@dataclass(frozen=True)
class Outbox:
    """The rows of `model` owed to another system. `ready()` narrows which due rows may be
    claimed now (a reply waits while its channel is turned off). Due rows are claimed oldest
    due first, or in id order with `by_id` (webhooks: each subscription's in event order)."""

    model: type
    ready: Callable[[], ColumnElement[bool]] = lambda: true()
    by_id: bool = False

    def claim(self, limit: int) -> list[int]:
        """Mark up to `limit` due rows as ours (`sending`); safe with several workers at once."""
        model, now = self.model, utcnow()
        query = (select(model.id)
                 .where(model.state == "pending", model.next_attempt_at <= now, self.ready())
                 .order_by(*((model.id,) if self.by_id else (model.next_attempt_at, model.id)))
                 .limit(limit))
        if db.session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        due = db.session.scalars(query).all()
        if not due:
            db.session.commit()
            return []
        # Compare-and-set: on SQLite (no row locks) two workers may pick the same id; one wins.
        won = set(db.session.scalars(
            update(model)
            .where(model.id.in_(due), model.state == "pending")
            .values(state="sending", claimed_at=now, attempts=model.attempts + 1)
            .returning(model.id)
            .execution_options(synchronize_session=False)))
        db.session.commit()
        return [row_id for row_id in due if row_id in won]

    def drain(self, deliver: Callable[[list[int]], Counter[str]], *, claim_batch: int,
              send_batch: int, make_way: Callable[[], bool] = lambda: False,
              pause: float = 0.0) -> Counter[str]:
        """Claim and `deliver` everything due, `send_batch` rows at a time; before each batch,
        wait `pause` seconds while `make_way()` says other work comes first. Outcome counts."""
        counts: Counter[str] = Counter()
        while claimed := self.claim(claim_batch):
            for start in range(0, len(claimed), send_batch):
                if make_way():
                    sleep(pause)
                counts.update(deliver(claimed[start:start + send_batch]))
        return counts

    def record(self, outcomes: dict[int, dict]) -> None:
        """Write sends' outcomes (the columns each changes) by id in one transaction, one
        statement per shape of outcome: not through loaded rows, which a commit before the sends
        expired, so that setting them would read them back."""
        shapes: dict[tuple[str, ...], list[dict]] = {}
        for row_id, outcome in outcomes.items():
            shapes.setdefault(tuple(sorted(outcome)), []).append({"row_id": row_id, **outcome})
        table = self.model.__table__
        for columns, params in shapes.items():
            db.session.connection().execute(
                update(table).where(table.c.id == bindparam("row_id"))
                .values({column: bindparam(column) for column in columns}), params)
        db.session.commit()

    def reconcile(self, lease: timedelta, settle: Callable[[object], str | None]) -> Counter[str]:
        """Hand each `sending` row older than `lease` (its worker died mid-send) to `settle`,
        which changes it and names the state it is left in (None: try again next round)."""
        model = self.model
        stale: Iterable = db.session.scalars(select(model).where(
            model.state == "sending", model.claimed_at <= utcnow() - lease)).all()
        counts: Counter[str] = Counter()
        for row in stale:
            state = settle(row)
            if state is not None:
                counts[f"reconciled_{state}"] += 1
        db.session.commit()
        return counts
