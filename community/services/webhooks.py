"""Outbound webhooks and the event feed: subscriptions (admins), the event log written in the
transaction of each change, and the deliveries owed to subscribers.

`owe` runs inside the transaction of every change that has a public event type (an
`in_transaction` batch subscriber, community/workers/__init__.py): it writes the event rows and
one delivery row per enabled subscription that wants it, so a rolled-back change owes nothing
and a crash after the commit loses nothing. services/webhook_delivery.py sends them.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import delete as sql_delete
from sqlalchemy import insert, select

from community.extensions import db
from community.models import User, WebhookDelivery, WebhookEvent, WebhookSubscription
from community.models.base import MAX_ID, insert_rows, utcnow
from community.outbound import RefusedTarget, check_url, require_http
from community.services import audit, events, permissions
from community.services.errors import BadRequest, Invalid, NotFound

# Our internal events that subscribers and the feed see, under the same public names.
# (thread.solved, reply.sent, reply.failed and triage.claimed are not published yet.)
PUBLIC_TYPES = ("thread.created", "thread.updated", "answer.created", "answer.accepted",
                "answer.endorsed", "comment.created", "post.flagged", "post.hidden",
                "user.suspended", "inbound.received")
PING = "ping"
_EVENTS = WebhookEvent.__table__
_DELIVERIES = WebhookDelivery.__table__


# ---- in the transaction of a change ------------------------------------------------------------

def owe(happened: list[events.Event]) -> None:
    """Write the transaction's public events to the event log, and a delivery for each
    subscription that wants one; then wake the delivery worker once committed."""
    now = utcnow()
    rows = [{"type": item.name, "created_at": now, "data": _json_safe(item.data)}
            for item in happened]
    connection = db.session.connection()
    ids = insert_rows(connection, _EVENTS, rows)
    wanting = connection.execute(select(WebhookSubscription.id, WebhookSubscription.events)
                                 .where(WebhookSubscription.is_enabled)).all()
    owed = [{"subscription_id": sub_id, "event_id": event_id, "state": "pending", "attempts": 0,
             "next_attempt_at": now, "created_at": now, "response_body": "", "last_error": "",
             "is_test": False}
            for event_id, row in zip(ids, rows)
            for sub_id, wanted in wanting if "*" in wanted or row["type"] in wanted]
    if owed:
        connection.execute(insert(_DELIVERIES), owed)
        events.publish("webhooks.queued", count=len(owed))


def _json_safe(data: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in data.items()
            if value is None or isinstance(value, (str, int, float, bool, list))}


# ---- subscriptions (admins; actor None: the command line) ---------------------------------------

def require_manager(actor: User | None) -> None:
    """Admins only (actor None: the command line, already trusted)."""
    if actor is not None:
        permissions.require(actor, "webhooks.manage")


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def clean_url(url: Any) -> str:
    """An http(s) URL the server may deliver to: https and a public address unless
    WEBHOOKS_ALLOW_PRIVATE_TARGETS. Raises Invalid."""
    if not isinstance(url, str) or not url.strip():
        raise Invalid("url", "url.required", "url is an http(s) URL.")
    url = url.strip()
    if len(url) > 2000:
        raise Invalid("url", "url.too_long", "url is at most 2000 characters.")
    allow_private = bool(current_app.config["WEBHOOKS_ALLOW_PRIVATE_TARGETS"])
    try:
        require_http(url)
    except RefusedTarget as exc:
        raise Invalid("url", "url.invalid", str(exc)) from None
    if not allow_private and not url.lower().startswith("https://"):
        raise Invalid("url", "url.https_required", "url must be https.")
    try:
        check_url(url, allow_private=allow_private)
    except RefusedTarget as exc:
        raise Invalid("url", "url.refused", str(exc)) from None
    return url


def clean_events(wanted: Any) -> list[str]:
    """The event types asked for: known public types or `*`. Raises Invalid."""
    if not isinstance(wanted, list) or not wanted or \
            not all(isinstance(name, str) for name in wanted):
        raise Invalid("events", "events.required",
                      "events is a non-empty list of event types (or [\"*\"]).")
    unknown = [name for name in wanted if name != "*" and name not in PUBLIC_TYPES]
    if unknown:
        raise Invalid("events", "events.unknown",
                      f"Unknown event types: {', '.join(unknown[:5])}; known: "
                      f"{', '.join(PUBLIC_TYPES)} or *.")
    return list(dict.fromkeys(wanted))


def _description(value: Any) -> str:
    if value is None:
        return ""
    if not isinstance(value, str) or len(value) > 200:
        raise Invalid("description", "description.invalid",
                      "description is text of at most 200 characters.")
    return value.strip()


def create(actor: User | None, url: Any, wanted: Any, description: Any = None) -> \
        WebhookSubscription:
    """A new subscription with a new secret (shown to its creator once). Raises Invalid."""
    require_manager(actor)
    subscription = WebhookSubscription(url=clean_url(url), events=clean_events(wanted),
                                       description=_description(description),
                                       secret=new_secret(), is_enabled=True,
                                       created_by_id=actor.id if actor else None)
    db.session.add(subscription)
    db.session.flush()
    audit.record(actor, "webhook.create", "webhook", subscription.id,
                 after={"url": subscription.url, "events": subscription.events})
    db.session.commit()
    return subscription


def subscriptions(actor: User | None) -> list[WebhookSubscription]:
    require_manager(actor)
    return list(db.session.scalars(select(WebhookSubscription).order_by(WebhookSubscription.id)))


def get(actor: User | None, subscription_id: int) -> WebhookSubscription:
    require_manager(actor)
    found = db.session.get(WebhookSubscription, subscription_id) \
        if 0 < subscription_id <= MAX_ID else None
    if found is None:
        raise NotFound("webhook.not_found", "No such webhook subscription.")
    return found


def change(actor: User | None, subscription: WebhookSubscription, changes: dict[str, Any]) -> \
        WebhookSubscription:
    """Change the url, events, description or `enabled`; enabling clears the failure state."""
    require_manager(actor)
    before = {"url": subscription.url, "events": subscription.events,
              "enabled": subscription.is_enabled}
    if "url" in changes:
        subscription.url = clean_url(changes["url"])
    if "events" in changes:
        subscription.events = clean_events(changes["events"])
    if "description" in changes:
        subscription.description = _description(changes["description"])
    if "enabled" in changes:
        if not isinstance(changes["enabled"], bool):
            raise Invalid("enabled", "enabled.type", "enabled is true or false.")
        if changes["enabled"] and not subscription.is_enabled:
            subscription.failing_since, subscription.disabled_reason = None, ""
        subscription.is_enabled = changes["enabled"]
    audit.record(actor, "webhook.change", "webhook", subscription.id, before=before,
                 after={"url": subscription.url, "events": subscription.events,
                        "enabled": subscription.is_enabled})
    db.session.commit()
    return subscription


def delete(actor: User | None, subscription: WebhookSubscription) -> None:
    """Remove a subscription and its delivery log."""
    require_manager(actor)
    audit.record(actor, "webhook.delete", "webhook", subscription.id,
                 before={"url": subscription.url, "events": subscription.events})
    db.session.execute(sql_delete(WebhookDelivery)
                       .where(WebhookDelivery.subscription_id == subscription.id))
    db.session.delete(subscription)
    db.session.commit()


def rotate(actor: User | None, subscription: WebhookSubscription) -> WebhookSubscription:
    """A new secret; the old one still signs for WEBHOOKS_SECRET_GRACE_HOURS."""
    require_manager(actor)
    grace = timedelta(hours=current_app.config["WEBHOOKS_SECRET_GRACE_HOURS"])
    subscription.previous_secret = subscription.secret
    subscription.previous_secret_expires_at = utcnow() + grace
    subscription.secret = new_secret()
    audit.record(actor, "webhook.rotate", "webhook", subscription.id)
    db.session.commit()
    return subscription


# ---- the delivery log, redelivery and test pings ------------------------------------------------

def deliveries(actor: User | None, subscription: WebhookSubscription, *,
               before: int | None = None, limit: int = 50) -> list[WebhookDelivery]:
    """The subscription's deliveries, newest first (`before`: an id, for the next page)."""
    require_manager(actor)
    query = select(WebhookDelivery).where(WebhookDelivery.subscription_id == subscription.id)
    if before is not None:
        query = query.where(WebhookDelivery.id < before)
    return list(db.session.scalars(query.order_by(WebhookDelivery.id.desc()).limit(limit)))


def _owe_one(subscription: WebhookSubscription, event_id: int, *, test: bool) -> \
        WebhookDelivery:
    delivery = WebhookDelivery(subscription_id=subscription.id, event_id=event_id,
                               state="pending", attempts=0, next_attempt_at=utcnow(),
                               is_test=test)
    db.session.add(delivery)
    db.session.flush()
    events.publish("webhooks.queued", count=1)
    return delivery


def redeliver(actor: User | None, subscription: WebhookSubscription, delivery_id: Any) -> \
        WebhookDelivery:
    """Send a delivery's event to its subscription again (a new delivery in the log)."""
    require_manager(actor)
    if not isinstance(delivery_id, int) or isinstance(delivery_id, bool) or \
            not 0 < delivery_id <= MAX_ID:
        raise NotFound("delivery.not_found", "No such delivery.")
    original = db.session.get(WebhookDelivery, delivery_id)
    if original is None or original.subscription_id != subscription.id:
        raise NotFound("delivery.not_found", "No such delivery.")
    delivery = _owe_one(subscription, original.event_id, test=original.is_test)
    db.session.commit()
    return delivery


def ping(actor: User | None, subscription: WebhookSubscription) -> WebhookDelivery:
    """Owe the subscription a test event (`ping`), even while it is disabled."""
    require_manager(actor)
    ids = insert_rows(db.session.connection(), _EVENTS, [
        {"type": PING, "created_at": utcnow(), "data": {"subscription_id": subscription.id}}])
    delivery = _owe_one(subscription, ids[0], test=True)
    db.session.commit()
    return delivery


# ---- the pull feed ------------------------------------------------------------------------------

def feed(actor: User | None, *, after: str | None = None, types: str | None = None,
         limit: int = 100) -> list[WebhookEvent]:
    """Events after the event id `after`, oldest first, of the comma-separated `types`."""
    if actor is not None:
        permissions.require(actor, "events.read")
    query = select(WebhookEvent).where(WebhookEvent.type != PING)
    if after not in (None, ""):
        if not (after.isascii() and after.isdigit()):
            raise BadRequest("after.invalid", "after is an event id.")
        query = query.where(WebhookEvent.id > min(int(after), MAX_ID))
    if types:
        wanted = [name.strip() for name in types.split(",") if name.strip()]
        unknown = [name for name in wanted if name not in PUBLIC_TYPES]
        if unknown:
            raise Invalid("types", "types.unknown",
                          f"Unknown event types: {', '.join(unknown[:5])}.")
        query = query.where(WebhookEvent.type.in_(wanted))
    return list(db.session.scalars(query.order_by(WebhookEvent.id).limit(limit)))


def event_body(event_id: int, event_type: str, created_at: datetime,
               data: dict[str, Any]) -> dict[str, Any]:
    """What a delivery carries and the feed lists."""
    return {"id": event_id, "type": event_type,
            "created_at": created_at.isoformat().replace("+00:00", "Z"), "data": data}


def event_json(event: WebhookEvent) -> dict[str, Any]:
    return event_body(event.id, event.type, event.created_at, event.data)
