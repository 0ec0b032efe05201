"""API: exchange a username and password for a bearer token."""

from __future__ import annotations

from community.security import login_failures_by_account, login_failures_by_address
from community.services import accounts
from community.views.api import schemas
from community.views.api.common import bp, json_body, text_field


@bp.post("/tokens")
@login_failures_by_address
@login_failures_by_account
def create_token():
    data = json_body()
    user = accounts.authenticate(text_field(data, "username"), text_field(data, "password"))
    token = accounts.issue_token(user, name=text_field(data, "name", required=False) or "")
    return {"token": token, "user": schemas.own_profile(user)}, 201
