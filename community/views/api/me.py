"""API: the caller's own account (profile edits, verification link, avatar) and password reset."""

from __future__ import annotations

from flask import current_app, request

from community.security import (password_checks, password_reset_by_address,
                                password_reset_by_email, verification_limit)
from community.services import account_recovery, avatars, leaving, profiles
from community.views.api import schemas
from community.views.api.common import bp, json_body, require_actor

RESET_ACCEPTED = {"message": "If an account has that address, a link to reset its password is "
                             "on its way."}


@bp.post("/password-reset")
@password_reset_by_address
@password_reset_by_email
def request_password_reset():
    """202 with the same body whether or not an account has the address."""
    account_recovery.request_reset(json_body().get("email"))
    return RESET_ACCEPTED, 202


@bp.post("/password-reset/confirm")
def confirm_password_reset():
    data = json_body()
    account_recovery.reset_password(data.get("token"), data.get("password"))
    return "", 204


@bp.post("/me/verify-email")
@verification_limit
def resend_verification():
    user = account_recovery.request_verification(require_actor())
    return {"message": f"A verification link is on its way to {user.email}."}, 202


@bp.patch("/me")
@password_checks
def update_me():
    actor = require_actor()
    return schemas.own_profile(profiles.update(actor, json_body()))


@bp.get("/me/export")
def export_me():
    """Download my data: a JSON archive."""
    archive = leaving.export(require_actor())
    return archive, 200, {"Content-Disposition": 'attachment; filename="my-data.json"'}


@bp.delete("/me")
@password_checks
def delete_me():
    """Delete my account, with {"password"}; posts stay, by "a former member"."""
    actor = require_actor()
    leaving.delete_account(actor, json_body().get("password"))
    return "", 204


@bp.put("/me/avatar")
def upload_avatar():
    """The body is the image itself (PNG, JPEG or WebP)."""
    actor = require_actor()
    request.max_content_length = max(current_app.config["MAX_CONTENT_LENGTH"] or 0,
                                     current_app.config["AVATAR_MAX_BYTES"] + 1)
    return schemas.own_profile(avatars.set_upload(actor, request.get_data(cache=False)))


@bp.delete("/me/avatar")
def remove_avatar():
    return schemas.own_profile(avatars.remove_upload(require_actor()))
