"""API: posts held by the spam checker, for moderators to approve or reject."""

from __future__ import annotations

from flask import request

from community.services.moderation import held
from community.views.api import schemas
from community.views.api.common import bp, json_body, limit_arg, list_response, require_actor, text_field


@bp.get("/moderation/held")
def list_held():
    page = held.list_held(require_actor(), cursor=request.args.get("cursor") or None,
                          limit=limit_arg())
    return list_response(page, lambda post: schemas.held_post(post, held.reasons(post)))


@bp.post("/moderation/held/<int:post_id>/approve")
def approve_held(post_id: int):
    actor = require_actor()
    return schemas.held_post(held.approve(actor, held.get_held(actor, post_id)))


@bp.post("/moderation/held/<int:post_id>/reject")
def reject_held(post_id: int):
    actor = require_actor()
    post = held.get_held(actor, post_id)
    reason = text_field(json_body(), "reason", required=False) if request.get_data() else None
    return schemas.held_post(held.reject(actor, post, reason))
