"""API: suspend and unsuspend users; block and unblock bridged channel identities."""

from __future__ import annotations

from flask import request

from community.services import accounts
from community.services.errors import Invalid
from community.services.moderation import suspensions
from community.views.api import schemas
from community.views.api.common import bp, json_body, require_actor, text_field


def _optional_body() -> dict:
    """Unsuspending and unblocking take an optional body ({"reason": ...})."""
    return json_body() if request.get_data() else {}


@bp.post("/users/<int:user_id>/suspend")
def suspend_user(user_id: int):
    actor = require_actor()
    user = accounts.get_user(user_id)
    data = json_body()
    if "until" not in data:
        raise Invalid("until", "until.required", "until is required (null: no end date).")
    user = suspensions.suspend(actor, user, suspensions.parse_until(data["until"]),
                               text_field(data, "reason"))
    return schemas.suspension(user)


@bp.post("/users/<int:user_id>/unsuspend")
def unsuspend_user(user_id: int):
    actor = require_actor()
    user = accounts.get_user(user_id)
    reason = text_field(_optional_body(), "reason", required=False)
    return schemas.suspension(suspensions.unsuspend(actor, user, reason))


@bp.post("/bridge/identities/<int:identity_id>/block")
def block_identity(identity_id: int):
    actor = require_actor()
    identity = suspensions.get_identity(actor, identity_id)
    reason = text_field(json_body(), "reason", required=False)
    return schemas.identity(suspensions.set_identity_blocked(actor, identity, True, reason))


@bp.post("/bridge/identities/<int:identity_id>/unblock")
def unblock_identity(identity_id: int):
    actor = require_actor()
    identity = suspensions.get_identity(actor, identity_id)
    reason = text_field(_optional_body(), "reason", required=False)
    return schemas.identity(suspensions.set_identity_blocked(actor, identity, False, reason))
