"""API: sign up, the current user, public profiles."""

from __future__ import annotations

from flask import current_app

from community.extensions import limiter
from community.security import rate_limit_key
from community.services import accounts, sessions
from community.views.api import schemas
from community.views.api.common import bp, json_body, require_actor, text_field


@bp.post("/users")
@limiter.limit(lambda: current_app.config["RATELIMIT_SIGNUP"], key_func=rate_limit_key)
def create_user():
    data = json_body()
    user = accounts.register(text_field(data, "username"), text_field(data, "email"),
                             text_field(data, "password"))
    return schemas.own_profile(user), 201


@bp.get("/me")
def me():
    return schemas.own_profile(require_actor())


@bp.delete("/me/sessions")
def end_sessions():
    """Log the caller out of every browser (API tokens stay: they are revoked on their own)."""
    return {"ended": sessions.close_all(require_actor())}


@bp.get("/users/<int:user_id>")
def get_user(user_id: int):
    return schemas.profile(accounts.get_user(user_id))
