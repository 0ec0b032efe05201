"""API: webhook subscriptions (admins), their delivery logs, and the event feed."""

from __future__ import annotations

from typing import Any

from flask import request

from community.services import webhooks
from community.views.api.common import bp, id_arg, json_body, limit_arg, require_actor


def subscription(item, *, secret: bool = False) -> dict[str, Any]:
    data = {"id": item.id, "url": item.url, "events": list(item.events),
            "description": item.description, "enabled": item.is_enabled,
            "disabled_reason": item.disabled_reason or None,
            "failing_since": _time(item.failing_since), "created_at": _time(item.created_at),
            "previous_secret_expires_at": _time(item.previous_secret_expires_at)}
    if secret:
        data["secret"] = item.secret
    return data


def delivery(item) -> dict[str, Any]:
    return {"id": item.id, "event_id": item.event_id, "event_type": item.event.type,
            "state": item.state, "attempts": item.attempts, "test": item.is_test,
            "response_status": item.response_status, "response_body": item.response_body,
            "last_error": item.last_error or None, "created_at": _time(item.created_at),
            "last_attempt_at": _time(item.last_attempt_at),
            "next_attempt_at": _time(item.next_attempt_at) if item.state == "pending" else None,
            "delivered_at": _time(item.delivered_at)}


def _time(value) -> str | None:
    return None if value is None else value.isoformat().replace("+00:00", "Z")


@bp.post("/webhooks")
def create_webhook():
    actor = require_actor()
    webhooks.require_manager(actor)  # permission first, before reading the body
    data = json_body()
    item = webhooks.create(actor, data.get("url"), data.get("events"), data.get("description"))
    return subscription(item, secret=True), 201


@bp.get("/webhooks")
def list_webhooks():
    return {"items": [subscription(item) for item in webhooks.subscriptions(require_actor())]}


@bp.get("/webhooks/<int:subscription_id>")
def show_webhook(subscription_id: int):
    return subscription(webhooks.get(require_actor(), subscription_id))


@bp.patch("/webhooks/<int:subscription_id>")
def change_webhook(subscription_id: int):
    actor = require_actor()
    item = webhooks.get(actor, subscription_id)
    return subscription(webhooks.change(actor, item, json_body()))


@bp.delete("/webhooks/<int:subscription_id>")
def delete_webhook(subscription_id: int):
    actor = require_actor()
    webhooks.delete(actor, webhooks.get(actor, subscription_id))
    return "", 204


@bp.post("/webhooks/<int:subscription_id>/rotate")
def rotate_webhook_secret(subscription_id: int):
    actor = require_actor()
    return subscription(webhooks.rotate(actor, webhooks.get(actor, subscription_id)),
                        secret=True)


@bp.get("/webhooks/<int:subscription_id>/deliveries")
def webhook_deliveries(subscription_id: int):
    actor = require_actor()
    item = webhooks.get(actor, subscription_id)
    rows = webhooks.deliveries(actor, item, before=id_arg("before"), limit=limit_arg())
    return {"items": [delivery(row) for row in rows],
            "next_before": rows[-1].id if rows else None}


@bp.post("/webhooks/<int:subscription_id>/deliveries/<int:delivery_id>/redeliver")
def redeliver_webhook(subscription_id: int, delivery_id: int):
    actor = require_actor()
    return delivery(webhooks.redeliver(actor, webhooks.get(actor, subscription_id),
                                       delivery_id)), 202


@bp.post("/webhooks/<int:subscription_id>/ping")
def ping_webhook(subscription_id: int):
    actor = require_actor()
    return delivery(webhooks.ping(actor, webhooks.get(actor, subscription_id))), 202


@bp.get("/events")
def event_feed():
    items = webhooks.feed(require_actor(), after=request.args.get("after"),
                          types=request.args.get("types"), limit=limit_arg())
    return {"items": [webhooks.event_json(item) for item in items],
            "next_after": items[-1].id if items else None}
