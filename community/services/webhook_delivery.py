"""Sending owed webhook deliveries through the durable outbox (services/outbox.py): signed,
in order per subscription, at least once.

A round settles deliveries a dead worker left `sending` (they are sent again: receivers drop
repeats by `Community-Event-Id`), then claims and sends what is due. A subscription's
deliveries go out in event order: one waiting for a retry holds back the later ones, and a
failure puts the rest of the batch back. Timeouts, connection errors, 429 (honouring
Retry-After) and 5xx are retried with backoff and jitter until WEBHOOKS_GIVE_UP_HOURS, other
answers fail at once. A subscription failing that long without a success is disabled and its
admins are told.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import parsedate_to_datetime
from functools import cache

import urllib3
from flask import current_app
from sqlalchemy import and_, delete, exists, func, or_, select, update
from sqlalchemy.orm import aliased

from community import mail
from community.extensions import db
from community.models import User, WebhookDelivery, WebhookEvent, WebhookSubscription
from community.models.base import utcnow
from community.outbound import CHECKED_POOLS, RefusedTarget, require_http
from community.services import audit, outbox
from community.services.webhooks import event_body

log = logging.getLogger(__name__)
# Deliveries claimed, sent (one after another) and recorded together. One batch per claim: a
# failure puts the rest of its subscription's back, which a smaller batch would repeat.
CLAIM_BATCH = 50
RESPONSE_KEPT = 1024  # bytes of each answer kept in the delivery log
_PURGE_EVERY = 3600.0
_last_purge = 0.0


def _ready():
    """Due rows of enabled subscriptions (test pings always) that no other delivery of the
    same subscription holds back (one in flight, or an earlier one waiting for its retry)."""
    earlier = aliased(WebhookDelivery)

    def probe(state: str, *more):
        # Probes of ix_webhook_deliveries_unsettled: few rows are in flight or wait for a retry.
        return exists().where(earlier.subscription_id == WebhookDelivery.subscription_id,
                              earlier.state == state, *more)

    # Any of the subscription's deliveries in flight holds back the rest (another worker's).
    held_back = or_(probe("sending"),
                    probe("pending", earlier.next_attempt_at > utcnow(),
                          earlier.id < WebhookDelivery.id))
    enabled = WebhookDelivery.subscription_id.in_(
        select(WebhookSubscription.id).where(WebhookSubscription.is_enabled))
    return and_(or_(WebhookDelivery.is_test, enabled), ~held_back)


DELIVERIES = outbox.Outbox(WebhookDelivery, ready=_ready, by_id=True)


def run_once() -> Counter[str]:
    """Settle stale sends, send everything due, now and then drop old events; outcome counts."""
    counts = reconcile_stale()
    counts.update(DELIVERIES.drain(deliver, claim_batch=CLAIM_BATCH, send_batch=CLAIM_BATCH))
    purge_if_due()
    return counts


def reconcile_stale() -> Counter[str]:
    """Deliveries left `sending` longer than the lease (their worker died): send again."""
    lease = timedelta(seconds=current_app.config["WEBHOOKS_SENDING_LEASE_SECONDS"])
    return DELIVERIES.reconcile(lease, _resend)


def _resend(row: WebhookDelivery) -> str:
    row.state, row.next_attempt_at = "pending", utcnow()
    row.last_error = "sent again after a worker stopped mid-delivery"
    return row.state


def deliver(delivery_ids: list[int]) -> Counter[str]:
    """Send claimed deliveries, each subscription's in id order, then record the outcomes."""
    rows = db.session.execute(
        select(WebhookDelivery.id, WebhookDelivery.subscription_id, WebhookDelivery.attempts,
               WebhookDelivery.created_at, WebhookDelivery.is_test, WebhookSubscription.url,
               WebhookSubscription.secret, WebhookSubscription.previous_secret,
               WebhookSubscription.previous_secret_expires_at, WebhookEvent.type,
               WebhookEvent.created_at.label("event_created_at"), WebhookEvent.data,
               WebhookDelivery.event_id)
        .join(WebhookSubscription, WebhookSubscription.id == WebhookDelivery.subscription_id)
        .join(WebhookEvent, WebhookEvent.id == WebhookDelivery.event_id)
        .where(WebhookDelivery.id.in_(delivery_ids), WebhookDelivery.state == "sending")
        .order_by(WebhookDelivery.id)).all()
    first_other = _first_unsettled_outside(delivery_ids, {row.subscription_id for row in rows})
    db.session.commit()  # no transaction stays open across the network calls
    outcomes: dict[int, dict] = {}
    stopped: set[int] = set()  # subscriptions whose delivery failed in this batch
    for row in rows:
        waiting = first_other.get(row.subscription_id)
        if row.subscription_id in stopped or (waiting is not None and waiting < row.id):
            # An earlier delivery of this subscription is not through: this one waits its turn
            # (still due, held back by that one; only retries wait in the future).
            outcomes[row.id] = {"state": "pending", "attempts": row.attempts - 1}
            continue
        body = json.dumps(event_body(row.event_id, row.type, row.event_created_at, row.data),
                          separators=(",", ":")).encode()
        outcomes[row.id] = outcome = _send(row, body)
        if outcome["state"] == "pending":
            stopped.add(row.subscription_id)
    DELIVERIES.record(outcomes)
    _note_health(rows, outcomes)
    return Counter(outcome["state"] for outcome in outcomes.values())


def _first_unsettled_outside(claimed: list[int], subscription_ids: set[int]) -> dict[int, int]:
    """Per subscription, the first delivery still owed that another claim holds (or that
    waits): ours after it must wait, so that several workers keep the order."""
    if not subscription_ids:
        return {}
    return dict(db.session.execute(
        select(WebhookDelivery.subscription_id, func.min(WebhookDelivery.id))
        .where(WebhookDelivery.subscription_id.in_(subscription_ids),
               WebhookDelivery.state.in_(("pending", "sending")),
               WebhookDelivery.id.not_in(claimed))
        .group_by(WebhookDelivery.subscription_id)).all())


# ---- one request --------------------------------------------------------------------------------

def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The hex HMAC-SHA256 of f"{timestamp}.{body}" under `secret`."""
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def signature_header(secrets: list[str], timestamp: int, body: bytes) -> str:
    """`t=<unix>,v1=<hex>` with one v1 per secret in use (two during a rotation's grace)."""
    return ",".join([f"t={timestamp}", *(f"v1={sign(s, timestamp, body)}" for s in secrets)])


def _secrets(row) -> list[str]:
    current = [row.secret]
    expires = row.previous_secret_expires_at
    if row.previous_secret and expires is not None and expires > utcnow():
        current.append(row.previous_secret)
    return current


@cache
def _process_pool(pid: int, private_targets: bool) -> urllib3.PoolManager:
    """Connections kept open to receivers, per process; public addresses only (checked at each
    connection, community.outbound) unless WEBHOOKS_ALLOW_PRIVATE_TARGETS. No retries and no
    redirects: the outbox decides what happens next."""
    pool = urllib3.PoolManager(retries=False, maxsize=4)
    if not private_targets:
        pool.pool_classes_by_scheme = CHECKED_POOLS
    return pool


def _pool() -> urllib3.PoolManager:
    return _process_pool(os.getpid(), bool(current_app.config["WEBHOOKS_ALLOW_PRIVATE_TARGETS"]))


def _send(row, body: bytes) -> dict:
    """POST one delivery; the columns its outcome changes."""
    now = utcnow()
    timestamp = int(time.time())
    headers = {"Content-Type": "application/json", "User-Agent": "community-webhooks/1",
               "Community-Event-Id": str(row.event_id),
               "Community-Timestamp": str(timestamp),
               "Community-Signature": signature_header(_secrets(row), timestamp, body)}
    seconds = float(current_app.config["WEBHOOKS_TIMEOUT_SECONDS"])
    base = {"last_attempt_at": now, "claimed_at": None}
    try:
        require_http(row.url)
        response = _pool().request("POST", row.url, body=body, headers=headers,
                                   timeout=urllib3.Timeout(connect=min(5.0, seconds),
                                                           read=seconds),
                                   preload_content=False, redirect=False)
    except RefusedTarget as exc:
        return {**base, "state": "failed", "response_status": None, "response_body": "",
                "last_error": f"refused: {exc}"[:2000]}
    except urllib3.exceptions.HTTPError as exc:
        return _retry_or_fail(row, {**base, "response_status": None, "response_body": ""},
                              f"{type(exc).__name__}: {exc}", None)
    try:
        kept = response.read(RESPONSE_KEPT)
        complete = not response.read(64 * 1024 + 1)[64 * 1024:]
    except (urllib3.exceptions.HTTPError, OSError):
        kept, complete = b"", False
    if complete:
        response.release_conn()
    else:
        response.close()  # a long or broken answer: drop the connection rather than read on
    status = response.status
    result = {**base, "response_status": status,
              "response_body": kept.decode("utf-8", "replace")}
    if 200 <= status < 300:
        return {**result, "state": "delivered", "delivered_at": utcnow(), "last_error": ""}
    if status == 429 or status >= 500:
        return _retry_or_fail(row, result, f"HTTP {status}",
                              _retry_after(response.headers.get("Retry-After")))
    return {**result, "state": "failed", "last_error": f"HTTP {status}"}


def _retry_or_fail(row, result: dict, error: str, retry_after: float | None) -> dict:
    config = current_app.config
    if row.created_at <= utcnow() - timedelta(hours=config["WEBHOOKS_GIVE_UP_HOURS"]):
        return {**result, "state": "failed", "last_error": f"{error}; given up"[:2000]}
    delay = outbox.backoff(row.attempts, config["WEBHOOKS_RETRY_BASE_SECONDS"],
                           config["WEBHOOKS_RETRY_MAX_SECONDS"], retry_after)
    return {**result, "state": "pending", "last_error": error[:2000],
            "next_attempt_at": utcnow() + timedelta(seconds=delay)}


def _retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (seconds or an HTTP date), capped at a day."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = (parsedate_to_datetime(value) - datetime.now(UTC)).total_seconds()
        except (TypeError, ValueError):
            return None
    return min(max(seconds, 0.0), 86400.0)


# ---- health of subscriptions --------------------------------------------------------------------

def _note_health(rows, outcomes: dict[int, dict]) -> None:
    """A success clears a subscription's failing state; failures start it, and past
    WEBHOOKS_GIVE_UP_HOURS disable the subscription and tell its admins."""
    succeeded, failed = set(), set()
    for row in rows:
        state = outcomes[row.id]["state"]
        if row.is_test or "response_status" not in outcomes[row.id]:
            continue  # pings and deliveries put back unsent say nothing about health
        (succeeded if state == "delivered" else failed).add(row.subscription_id)
    failed -= succeeded
    table = WebhookSubscription
    if succeeded:
        db.session.execute(update(table).where(table.id.in_(succeeded),
                                               table.failing_since.is_not(None))
                           .values(failing_since=None))
    if failed:
        db.session.execute(update(table).where(table.id.in_(failed),
                                               table.failing_since.is_(None))
                           .values(failing_since=utcnow()))
        cutoff = utcnow() - timedelta(hours=current_app.config["WEBHOOKS_GIVE_UP_HOURS"])
        for subscription in db.session.scalars(select(table).where(
                table.id.in_(failed), table.is_enabled, table.failing_since <= cutoff)):
            subscription.is_enabled = False
            subscription.disabled_reason = "Every delivery failed for "\
                f"{current_app.config['WEBHOOKS_GIVE_UP_HOURS']} hours; disabled."
            audit.record(None, "webhook.disable", "webhook", subscription.id,
                         reason=subscription.disabled_reason)
            _tell_admins(subscription)
    db.session.commit()


def _tell_admins(subscription: WebhookSubscription) -> None:
    """Email the admins (when mail is set up) that a subscription was disabled; always log."""
    log.warning("webhook subscription %s (%s) disabled: %s", subscription.id, subscription.url,
                subscription.disabled_reason)
    config = current_app.config
    if not mail.configured(config):
        return
    for address in db.session.scalars(select(User.email).where(User.role == "admin")):
        message = EmailMessage()
        message["To"], message["Subject"] = address, "A webhook subscription was disabled"
        message.set_content(f"Deliveries to {subscription.url} failed for "
                            f"{config['WEBHOOKS_GIVE_UP_HOURS']} hours, so the subscription "
                            f"(#{subscription.id}) was disabled. Fix the receiver, then enable "
                            "it again on /staff/webhooks.")
        try:
            mail.send(config, message)
        except Exception:  # the disabling stands; the log has it
            log.exception("could not email %s about webhook %s", address, subscription.id)


# ---- retention ----------------------------------------------------------------------------------

def purge_if_due() -> int:
    """Drop events older than EVENTS_RETENTION_DAYS (and their deliveries), hourly at most."""
    global _last_purge
    if time.monotonic() - _last_purge < _PURGE_EVERY:
        return 0
    _last_purge = time.monotonic()
    return purge()


def purge() -> int:
    cutoff = utcnow() - timedelta(days=current_app.config["EVENTS_RETENTION_DAYS"])
    old = select(WebhookEvent.id).where(WebhookEvent.created_at < cutoff)
    db.session.execute(delete(WebhookDelivery).where(WebhookDelivery.event_id.in_(old)))
    removed = db.session.execute(delete(WebhookEvent).where(WebhookEvent.created_at < cutoff))
    db.session.commit()
    return removed.rowcount or 0
