"""The outbox worker: send owed replies exactly once, retry what failed, reconcile crashes.

A reply is claimed (`pending` → `sending`, attempts + 1) and committed *before* the channel is
called, so a crash mid-send leaves a `sending` row behind instead of a silent gap. Such a row,
once older than the lease, is never blindly resent: channels that can be searched are asked
whether it arrived, channels that drop repeats by idempotency key get it again, and the rest
wait for staff (`held`). Transient failures back off exponentially with jitter, honouring the
channel's Retry-After or rate-limit reset; permanent ones stop at once.
"""

from __future__ import annotations

import logging
import random
import threading
from collections import Counter
from datetime import timedelta
from time import sleep

from flask import Flask, current_app
from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import joinedload

from community.bridge import Reply, SendError, SendUncertain
from community.extensions import db
from community.models import Channel, InboundMessage, OutboundMessage
from community.models.base import utcnow
from community.services import bridge, events

log = logging.getLogger(__name__)

WINDOW_CLOSED = ("The customer's last message is older than the channel's reply window; "
                 "send a template message or follow up another way, then cancel this.")
CRASHED = ("A worker stopped while sending this and the channel cannot be asked whether it "
           "arrived. Check the conversation, then retry or cancel.")


CLAIM_BATCH = 100
# Replies sent, then recorded, together. Recording several at once spares the database a write
# per reply (on SQLite every write waits its turn with the webhooks'); a crash before the record
# leaves them `sending`, which reconcile_stale() settles like any crash mid-send.
SEND_BATCH = 10


def run_once() -> Counter[str]:
    """Poll due channels, take in messages a stopped process left, reconcile stale sends, then
    send everything due. Outcome counts."""
    counts: Counter[str] = Counter()
    poll_due_channels(counts)
    taken_in = bridge.intake_leftovers()
    if taken_in:
        counts["taken_in"] += taken_in
    counts.update(reconcile_stale())
    while True:
        claimed = claim(CLAIM_BATCH)
        if not claimed:
            break
        for start in range(0, len(claimed), SEND_BATCH):
            _yield_to_intake()
            counts.update(deliver(claimed[start:start + SEND_BATCH]))
    return counts


def _yield_to_intake() -> None:
    """While this process takes in a burst, pause between batches of sends: the webhooks then
    keep answering at full speed (a channel retries, and in the end disables, a webhook that
    answers slowly), and the acks left go out as soon as the burst is in."""
    if bridge.taking_in_burst():
        sleep(current_app.config["BRIDGE_BURST_SEND_PAUSE"])


def claim(limit: int) -> list[int]:
    """Mark up to `limit` due replies as ours (`sending`); safe with several workers at once.
    Replies on a channel turned off wait, `pending`, until it is on again."""
    now = utcnow()
    query = (select(OutboundMessage.id)
             .where(OutboundMessage.state == "pending", OutboundMessage.next_attempt_at <= now,
                    OutboundMessage.channel_id.in_(select(Channel.id).where(Channel.is_enabled)))
             .order_by(OutboundMessage.next_attempt_at, OutboundMessage.id).limit(limit))
    if db.session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    due = db.session.scalars(query).all()
    if not due:
        db.session.commit()
        return []
    # Compare-and-set: on SQLite (no row locks) two workers may pick the same id; one wins.
    won = set(db.session.scalars(
        update(OutboundMessage)
        .where(OutboundMessage.id.in_(due), OutboundMessage.state == "pending")
        .values(state="sending", claimed_at=now, attempts=OutboundMessage.attempts + 1)
        .returning(OutboundMessage.id)
        .execution_options(synchronize_session=False)))
    db.session.commit()
    return [reply_id for reply_id in due if reply_id in won]


def deliver(reply_ids: list[int]) -> Counter[str]:
    """Send claimed replies one after another, then record what happened to each; the states
    they end in."""
    rows = db.session.scalars(
        select(OutboundMessage)
        .where(OutboundMessage.id.in_(reply_ids), OutboundMessage.state == "sending")
        .options(joinedload(OutboundMessage.channel),  # what the sends need, at once
                 joinedload(OutboundMessage.inbound).joinedload(InboundMessage.identity))
        .order_by(OutboundMessage.id)).unique().all()
    outcomes: dict[int, dict] = {}
    sends = []
    for row in rows:
        handler = bridge.adapter(row.channel)
        if _window_closed(handler, row.inbound.identity):
            outcomes[row.id] = {"state": "held", "last_error": WINDOW_CLOSED}
        else:
            sends.append((row.id, handler, reply_for(row), row.attempts))
    db.session.commit()  # no transaction stays open across the network calls
    for reply_id, handler, reply, attempts in sends:
        outcomes[reply_id] = _send(handler, reply, attempts)
    _record(outcomes)
    states = Counter(outcome.get("state", "sending") for outcome in outcomes.values())
    if len(rows) < len(reply_ids):
        states["skipped"] += len(reply_ids) - len(rows)  # cancelled by staff since the claim
    return states


def _window_closed(handler, identity) -> bool:
    """Past the channel's reply window (WhatsApp, Messenger: 24 h after the customer's last
    message), when only a template may be sent."""
    window = handler.reply_window
    return bool(window and identity is not None and identity.last_inbound_at is not None
                and identity.last_inbound_at < utcnow() - window)


def _send(handler, reply: Reply, attempts: int) -> dict:
    """Send one reply; the columns its outcome changes."""
    try:
        external_id = handler.send(reply)
    except SendError as exc:
        return _failed(attempts, exc)
    except SendUncertain as exc:
        return _uncertain(attempts, handler, str(exc))
    return {"state": "sent", "external_id": external_id, "sent_at": utcnow(), "last_error": ""}


def _record(outcomes: dict[int, dict]) -> None:
    """Write the outcomes by id in one transaction, one statement per shape of outcome (not
    through the rows, which the pre-send commit expired: setting them would read them back)."""
    shapes: dict[tuple[str, ...], list[dict]] = {}
    for reply_id, outcome in outcomes.items():
        shapes.setdefault(tuple(sorted(outcome)), []).append({"reply_id": reply_id, **outcome})
    table = OutboundMessage.__table__
    for columns, params in shapes.items():
        db.session.connection().execute(
            update(table).where(table.c.id == bindparam("reply_id"))
            .values({column: bindparam(column) for column in columns}), params)
    db.session.commit()


def reply_for(row: OutboundMessage) -> Reply:
    inbound = row.inbound
    identity = inbound.identity
    return Reply(text=row.text, recipient=identity.external_id if identity else inbound.conversation,
                 conversation=inbound.conversation, in_reply_to=_original_id(inbound),
                 idempotency_key=row.idempotency_key,
                 handle=identity.handle if identity else "", extra=dict(inbound.extra or {}))


def _original_id(inbound) -> str:
    """The customer's message id as the channel knows it (edits reply to the original)."""
    return inbound.reply_to if inbound.kind in ("edit", "delete") and inbound.reply_to \
        else inbound.external_id


def _failed(attempts: int, exc: SendError) -> dict:
    """What a failed send changes: permanent errors and the last attempt stop; others wait."""
    last_error = str(exc)[:2000]
    if exc.permanent or attempts >= current_app.config["BRIDGE_MAX_ATTEMPTS"]:
        return {"state": "failed", "last_error": last_error}
    return {"state": "pending", "last_error": last_error,
            "next_attempt_at": utcnow() + timedelta(seconds=backoff(attempts, exc.retry_after))}


def backoff(attempts: int, retry_after: float | None = None) -> float:
    """Seconds before the next attempt: doubling from the base, capped, with jitter; at least
    what the channel asked for."""
    base = current_app.config["BRIDGE_RETRY_BASE_SECONDS"]
    cap = current_app.config["BRIDGE_RETRY_MAX_SECONDS"]
    delay = min(cap, base * 2 ** max(0, attempts - 1)) * random.uniform(0.5, 1.0)
    return max(delay, retry_after or 0.0)


def _uncertain(attempts: int, handler, error: str) -> dict:
    """The request went out and no answer came: resend only where that cannot post twice."""
    if handler.idempotent:
        return {"state": "pending", "last_error": error[:2000],
                "next_attempt_at": utcnow() + timedelta(seconds=backoff(attempts))}
    if handler.can_look_up:  # stays `sending`; reconcile_stale() asks the channel after the lease
        return {"last_error": error[:2000]}
    return {"state": "held", "last_error": f"{CRASHED} ({error[:300]})"}


def reconcile_stale() -> Counter[str]:
    """Settle `sending` rows a dead worker left behind (older than the lease)."""
    lease = timedelta(seconds=current_app.config["BRIDGE_SENDING_LEASE_SECONDS"])
    stale = db.session.scalars(select(OutboundMessage).where(
        OutboundMessage.state == "sending",
        OutboundMessage.claimed_at <= utcnow() - lease)).all()
    counts: Counter[str] = Counter()
    for row in stale:
        handler = bridge.adapter(row.channel)
        if handler.can_look_up:
            try:
                found = handler.lookup(reply_for(row))
            except (SendError, SendUncertain) as exc:
                row.last_error = f"could not check whether it arrived: {exc}"[:2000]
                continue  # try again next round
            if found:
                row.state, row.external_id, row.sent_at = "sent", found, utcnow()
                row.last_error = "found on the channel after a worker stopped mid-send"
            else:
                row.state, row.next_attempt_at = "pending", utcnow()
                row.last_error = "not on the channel after a worker stopped mid-send; resending"
        elif handler.idempotent:
            row.state, row.next_attempt_at = "pending", utcnow()
            row.last_error = "sent again after a worker stopped mid-send (the channel drops repeats)"
        else:
            row.state, row.last_error = "held", CRASHED
        counts[f"reconciled_{row.state}"] += 1
    db.session.commit()
    return counts


def poll_due_channels(counts: Counter[str]) -> None:
    """Fetch from channels without push (X, Mastodon) whose poll interval has passed."""
    now = utcnow().timestamp()
    for channel in db.session.scalars(select(Channel).where(Channel.is_enabled)).all():
        handler = bridge.adapter(channel)
        if not hasattr(handler, "poll") or float(channel.cursor.get("polled_at", 0)) \
                + handler.poll_seconds > now:
            continue
        try:
            receipt = bridge.poll(channel)
        except (SendError, SendUncertain) as exc:
            db.session.rollback()
            log.warning("polling channel %s failed: %s", channel.slug, exc)
            # Not again before the next interval, or the channel's rate-limit reset if later
            # (X suspends apps that keep calling after a 429). The since_id cursor is kept.
            wait = getattr(exc, "retry_after", None) or 0.0
            channel.cursor = {**channel.cursor,
                              "polled_at": now + max(0.0, wait - handler.poll_seconds)}
            db.session.commit()
            continue
        counts["polled"] += receipt.stored


class Worker:
    """The embedded worker: a daemon thread in the server process (DESIGN.md, one machine).

    It wakes every BRIDGE_WORKER_INTERVAL seconds, and at once when a commit queues a reply.
    """

    def __init__(self, app: Flask) -> None:
        self._app = app
        self._wake = threading.Event()
        self._start = threading.Lock()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        with self._start:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self.run_forever, name="bridge-outbox",
                                                daemon=True)
                self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def run_forever(self, stop: threading.Event | None = None) -> None:
        interval = self._app.config["BRIDGE_WORKER_INTERVAL"]
        while stop is None or not stop.is_set():
            try:
                with self._app.app_context():
                    run_once()
            except Exception:  # keep the worker alive; the next round tries again
                log.exception("bridge outbox round failed")
            self._wake.wait(interval)
            self._wake.clear()


_WORKER = "community.bridge_worker"


def init_app(app: Flask) -> None:
    worker = app.extensions[_WORKER] = Worker(app)

    def on_commit(event: events.Event) -> None:
        if event.name == "outbox.queued":
            worker.wake()

    events.subscribe(app, on_commit)
    if app.config["BRIDGE_WORKER"] == "thread" and not app.testing:
        # Started by the first request, so CLI commands (which also build the app) do not.
        app.before_request_funcs.setdefault(None, []).insert(0, worker.start)


def worker(app: Flask) -> Worker:
    return app.extensions[_WORKER]
