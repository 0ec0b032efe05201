"""The OpenAPI description of webhook subscriptions, their deliveries and the event feed
(views/api/webhooks.py), added to the document in openapi.py (which stays under 500 lines)."""

from __future__ import annotations

from typing import Any

from community.views.api.openapi import INT, PATHS, SCHEMAS, STR, TIME, _obj, _op, _path, _query, _ref

NULL_TIME = {"type": ["string", "null"], "format": "date-time"}
NULL_STR = {"type": ["string", "null"]}
NULL_INT = {"type": ["integer", "null"]}
EVENTS = {"type": "array", "items": STR, "minItems": 1,
          "description": "Event types (thread.created, answer.created, ...) or [\"*\"]."}
ERRORS = (400, 401, 403, 404, 413, 422)

WEBHOOK_SCHEMAS: dict[str, Any] = {
    "Webhook": _obj(["id", "url", "events", "enabled"], id=INT, url=STR, events=EVENTS,
                    description=STR, enabled={"type": "boolean"}, disabled_reason=NULL_STR,
                    failing_since=NULL_TIME, created_at=TIME,
                    previous_secret_expires_at=NULL_TIME,
                    secret={"type": "string", "description": "Only when created or rotated."}),
    "WebhookDelivery": _obj(
        ["id", "event_id", "event_type", "state", "attempts"], id=INT, event_id=INT,
        event_type=STR, state={"enum": ["pending", "sending", "delivered", "failed"]},
        attempts=INT, test={"type": "boolean"}, response_status=NULL_INT,
        response_body={"type": "string", "description": "The first KB of the answer."},
        last_error=NULL_STR, created_at=TIME, last_attempt_at=NULL_TIME,
        next_attempt_at=NULL_TIME, delivered_at=NULL_TIME),
    "Event": _obj(["id", "type", "created_at", "data"], id=INT, type=STR, created_at=TIME,
                  data={"type": "object", "description": "The ids of what it is about."}),
}


def _sub(summary: str, ok: int, schema, **options) -> dict[str, Any]:
    return _op(f"{summary} (admins)", ok, schema, errors=ERRORS, auth=True, **options)


WEBHOOK_PATHS: dict[str, Any] = {
    "/webhooks": {
        "get": _sub("Webhook subscriptions", 200,
                    _obj(["items"], items={"type": "array", "items": _ref("Webhook")})),
        "post": _sub("Subscribe a URL to events; the answer carries the secret, shown once",
                     201, _ref("Webhook"), body=_obj(["url", "events"], url=STR, events=EVENTS,
                                                     description=STR)),
    },
    "/webhooks/{subscription_id}": {
        "parameters": [_path("subscription_id")],
        "get": _sub("A webhook subscription", 200, _ref("Webhook")),
        "patch": _sub("Change the url, events, description or enabled", 200, _ref("Webhook"),
                      body=_obj([], url=STR, events=EVENTS, description=STR,
                                enabled={"type": "boolean"})),
        "delete": _sub("Remove a subscription and its delivery log", 204, None),
    },
    "/webhooks/{subscription_id}/rotate": {"parameters": [_path("subscription_id")], "post": _sub(
        "A new secret (the old one signs too for WEBHOOKS_SECRET_GRACE_HOURS)", 200,
        _ref("Webhook"))},
    "/webhooks/{subscription_id}/ping": {"parameters": [_path("subscription_id")], "post": _sub(
        "Send a test event (type ping)", 202, _ref("WebhookDelivery"))},
    "/webhooks/{subscription_id}/deliveries": {"parameters": [_path("subscription_id")], "get": _sub(
        "The delivery log, newest first", 200,
        _obj(["items", "next_before"], items={"type": "array", "items": _ref("WebhookDelivery")},
             next_before=NULL_INT),
        params=[_query("before", INT, "next_before from the previous page."),
                _query("limit", {"type": "integer", "minimum": 1, "maximum": 100},
                       "Page size.")])},
    "/webhooks/{subscription_id}/deliveries/{delivery_id}/redeliver": {
        "parameters": [_path("subscription_id"), _path("delivery_id")],
        "post": _sub("Send a delivery's event again", 202, _ref("WebhookDelivery"))},
    "/events": {"get": _sub(
        "The event feed, oldest first: the events webhooks deliver", 200,
        _obj(["items", "next_after"], items={"type": "array", "items": _ref("Event")},
             next_after=NULL_INT),
        params=[_query("after", INT, "Events after this event id."),
                _query("types", STR, "Comma-separated event types."),
                _query("limit", {"type": "integer", "minimum": 1, "maximum": 100},
                       "Page size.")])},
}

SCHEMAS.update(WEBHOOK_SCHEMAS)
PATHS.update(WEBHOOK_PATHS)
