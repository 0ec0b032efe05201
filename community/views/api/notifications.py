"""API: the caller's notifications (list, mark read), email settings, following threads."""

from __future__ import annotations

from typing import Any

from flask import request

from community.services import notifications, threads
from community.services.errors import BadRequest
from community.views.api import schemas
from community.views.api.common import bp, json_body, limit_arg, post_limit, require_actor


def notification(item) -> dict[str, Any]:
    return {"id": item.id, "kind": item.kind, "text": notifications.describe(item),
            "url": notifications.target_url(item, external=True), "thread_id": item.thread_id,
            "post_id": item.post_id, "comment_id": item.comment_id,
            "actor": schemas.author(item.actor) if item.actor is not None else None,
            "read": item.is_read, "created_at": schemas.timestamp(item.created_at)}


def _flag(name: str) -> bool:
    raw = request.args.get(name)
    if raw in (None, "", "0", "false"):
        return False
    if raw in ("1", "true"):
        return True
    raise BadRequest(f"{name}.invalid", f"{name} is true or false.")


@bp.get("/notifications")
def list_notifications():
    actor = require_actor()
    page = notifications.list_for(actor, unread_only=_flag("unread"),
                                  cursor=request.args.get("cursor") or None, limit=limit_arg())
    return {"items": [notification(item) for item in page.items],
            "next_cursor": page.next_cursor, "unread_count": notifications.unread_count(actor)}


@bp.post("/notifications/<int:notification_id>/read")
def read_notification(notification_id: int):
    actor = require_actor()
    return notification(notifications.mark_read(actor, notification_id))


@bp.post("/notifications/read")
def read_all_notifications():
    actor = require_actor()
    marked = notifications.mark_all_read(actor)
    return {"marked": marked, "unread_count": notifications.unread_count(actor)}


def _settings(user) -> dict[str, Any]:
    return {"email": user.email_notifications}


@bp.get("/me/notification-settings")
def notification_settings():
    return _settings(require_actor())


@bp.put("/me/notification-settings")
def set_notification_settings():
    actor = require_actor()
    return _settings(notifications.set_email_mode(actor, json_body().get("email")))


def _follow_state(thread, following: bool) -> dict[str, Any]:
    return {"thread_id": thread.id, "following": following}


@bp.get("/threads/<int:thread_id>/follow")
def following(thread_id: int):
    actor = require_actor()
    thread = threads.get_thread(actor, thread_id)
    return _follow_state(thread, notifications.is_following(actor, thread))


@bp.put("/threads/<int:thread_id>/follow")
@post_limit
def follow(thread_id: int):
    actor = require_actor()
    thread = threads.get_thread(actor, thread_id)
    return _follow_state(thread, notifications.follow(actor, thread))


@bp.delete("/threads/<int:thread_id>/follow")
@post_limit
def unfollow(thread_id: int):
    actor = require_actor()
    thread = threads.get_thread(actor, thread_id)
    return _follow_state(thread, notifications.unfollow(actor, thread))
