"""Sending what we owe customers: one round of the bridge's worker polls channels without push,
takes in what a stopped process left, settles sends a crash interrupted, then sends every reply
due through the durable outbox (services/outbox.py).

A send whose answer never came is resent only where that cannot post twice: channels that can
be searched are asked whether it arrived, channels that drop repeats by idempotency key get it
again, and the rest wait for staff (`held`). Transient failures back off exponentially with
jitter, honouring the channel's Retry-After or rate-limit reset; permanent ones stop at once.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from datetime import timedelta

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from community.bridge import PollingAdapter, Reply, SendError, SendUncertain
from community.extensions import db
from community.models import Channel, InboundMessage, OutboundMessage
from community.models.base import utcnow
from community.services import outbox
from community.services.bridge.batch_intake import intake_leftovers
from community.services.bridge.channels import adapter
from community.services.bridge.receiving import poll

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

# Replies on a channel turned off wait, `pending`, until it is on again.
REPLIES = outbox.Outbox(
    OutboundMessage,
    ready=lambda: OutboundMessage.channel_id.in_(select(Channel.id).where(Channel.is_enabled)))


def run_once(make_way: Callable[[], bool] = lambda: False) -> Counter[str]:
    """Poll due channels, take in messages a stopped process left, reconcile stale sends, then
    send everything due. While `make_way()` (this process takes in a burst) each batch of sends
    waits BRIDGE_BURST_SEND_PAUSE first: the webhooks then keep answering at full speed (a
    channel retries, and in the end disables, a webhook that answers slowly). Outcome counts."""
    counts: Counter[str] = Counter()
    poll_due_channels(counts)
    taken_in = intake_leftovers()
    if taken_in:
        counts["taken_in"] += taken_in
    counts.update(reconcile_stale())
    counts.update(REPLIES.drain(deliver, claim_batch=CLAIM_BATCH, send_batch=SEND_BATCH,
                                make_way=make_way,
                                pause=current_app.config["BRIDGE_BURST_SEND_PAUSE"]))
    return counts


def claim(limit: int) -> list[int]:
    """Mark up to `limit` due replies as ours (`sending`)."""
    return REPLIES.claim(limit)


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
        handler = adapter(row.channel)
        if _window_closed(handler, row.inbound.identity):
            outcomes[row.id] = {"state": "held", "last_error": WINDOW_CLOSED}
        else:
            sends.append((row.id, handler, reply_for(row), row.attempts))
    db.session.commit()  # no transaction stays open across the network calls
    for reply_id, handler, reply, attempts in sends:
        outcomes[reply_id] = _send(handler, reply, attempts)
    REPLIES.record(outcomes)
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


def reply_for(row: OutboundMessage) -> Reply:
    """The reply as the channel's adapter sends it."""
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
    """Seconds before a reply's next attempt (BRIDGE_RETRY_BASE_SECONDS doubling, capped at
    BRIDGE_RETRY_MAX_SECONDS, with jitter); at least what the channel asked for."""
    config = current_app.config
    return outbox.backoff(attempts, config["BRIDGE_RETRY_BASE_SECONDS"],
                          config["BRIDGE_RETRY_MAX_SECONDS"], retry_after)


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
    return REPLIES.reconcile(lease, _settle_stale)


def _settle_stale(row: OutboundMessage) -> str | None:
    handler = adapter(row.channel)
    if handler.can_look_up:
        try:
            found = handler.lookup(reply_for(row))
        except (SendError, SendUncertain) as exc:
            row.last_error = f"could not check whether it arrived: {exc}"[:2000]
            return None  # try again next round
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
    return row.state


def poll_due_channels(counts: Counter[str]) -> None:
    """Fetch from channels without push (X, Mastodon) whose poll interval has passed."""
    now = utcnow().timestamp()
    for channel in db.session.scalars(select(Channel).where(Channel.is_enabled)).all():
        handler = adapter(channel)
        if not isinstance(handler, PollingAdapter) or float(channel.cursor.get("polled_at", 0)) \
                + handler.poll_seconds > now:
            continue
        try:
            receipt = poll(channel)
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
