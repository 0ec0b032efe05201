"""API: flag posts and comments, the moderation queue and its decisions, hide and restore."""

from __future__ import annotations

from flask import request

from community.services.moderation import flags, hiding, queue
from community.views.api import schemas
from community.views.api.common import bp, json_body, limit_arg, post_limit, require_actor


def _flag(kind: str, target_id: int):
    actor = require_actor()
    target = hiding.get_target(actor, kind, target_id)
    data = json_body()
    item = flags.flag(actor, target, data.get("reason"), data.get("detail"),
                      data.get("duplicate_of"))
    return schemas.flag(item), 201


@bp.post("/posts/<int:post_id>/flags")
@post_limit
def flag_post(post_id: int):
    return _flag("post", post_id)


@bp.post("/comments/<int:comment_id>/flags")
@post_limit
def flag_comment(comment_id: int):
    return _flag("comment", comment_id)


@bp.get("/moderation/flags")
def moderation_queue():
    page = queue.queue(require_actor(), status=request.args.get("status", "open"),
                       cursor=request.args.get("cursor") or None, limit=limit_arg())
    return {"items": [schemas.queue_item(item) for item in page.items],
            "next_cursor": page.next_cursor}


@bp.post("/moderation/flags/<int:flag_id>/resolve")
def resolve_flag(flag_id: int):
    actor = require_actor()
    item = flags.get_flag(actor, flag_id)
    data = json_body()
    flags.resolve(actor, item, data.get("outcome"), data.get("note"), data.get("hide", False))
    return schemas.flag(item)


def _moderate(kind: str, target_id: int, restore: bool):
    actor = require_actor()
    target = hiding.get_target(actor, kind, target_id)
    data = json_body() if request.get_data() else {}
    if restore:
        done = hiding.restore(actor, target, data.get("reason", ""))
    else:
        done = hiding.hide(actor, target, data.get("reason"))
    return schemas.moderated(done)


@bp.post("/posts/<int:post_id>/hide")
def hide_post(post_id: int):
    return _moderate("post", post_id, restore=False)


@bp.post("/posts/<int:post_id>/restore")
def restore_post(post_id: int):
    return _moderate("post", post_id, restore=True)


@bp.post("/comments/<int:comment_id>/hide")
def hide_comment(comment_id: int):
    return _moderate("comment", comment_id, restore=False)


@bp.post("/comments/<int:comment_id>/restore")
def restore_comment(comment_id: int):
    return _moderate("comment", comment_id, restore=True)


@bp.post("/threads/<int:thread_id>/hide")
def hide_thread(thread_id: int):
    return _moderate("thread", thread_id, restore=False)


@bp.post("/threads/<int:thread_id>/restore")
def restore_thread(thread_id: int):
    return _moderate("thread", thread_id, restore=True)
