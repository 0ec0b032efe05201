"""The API's blueprint and what every resource module shares: bearer-token auth, reading JSON
bodies and query arguments, list responses."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, g, request
from flask_login import current_user

from community.extensions import csrf, limiter
from community.security import current_actor, post_rate_limit, rate_limit_key
from community.services import accounts
from community.models.base import MAX_ID
from community.services.errors import BadRequest, Invalid, Unauthorized

bp = Blueprint("api", __name__, url_prefix="/api/v1")
# Token clients carry no cookie, so no CSRF token; session clients send X-CSRFToken (below).
csrf.exempt(bp)

# Posting, voting and the like: new accounts get the lower RATELIMIT_POST_NEW (security.py).
post_limit = limiter.limit(post_rate_limit, key_func=rate_limit_key)



def id_arg(name: str) -> int | None:
    """An id from the query string: None if absent, -1 (matches nothing) if no row could have it."""
    raw = request.args.get(name)
    if raw is None:
        return None
    return int(raw) if _is_number(raw) and int(raw) <= MAX_ID else -1


def _is_number(raw: str) -> bool:
    # ASCII digits only: str.isdigit() also accepts "²", which int() then refuses.
    return raw.isascii() and raw.isdigit()


@bp.before_request
def authenticate() -> None:
    g.api_user = None  # never inherit a user from an app context shared with another request
    header = request.headers.get("Authorization")
    if header is not None:
        scheme, _, token = header.partition(" ")
        user = accounts.user_for_token(token.strip()) if scheme.lower() == "bearer" else None
        if user is None:
            raise Unauthorized("auth.invalid_token", "The bearer token is missing or not valid.")
        g.api_user = user
    elif current_user.is_authenticated and request.method not in ("GET", "HEAD", "OPTIONS"):
        csrf.protect()


def require_actor():
    actor = current_actor()
    if actor is None:
        raise Unauthorized("auth.required", "Send a bearer token or log in.")
    return actor


def json_body() -> dict[str, Any]:
    try:
        data = request.get_json(force=True, silent=True)
    except RecursionError:  # "[[[[..." nested too deep for the decoder: bad input, not a 500
        data = None
    if not isinstance(data, dict):
        raise BadRequest("request.invalid_json", "The request body must be a JSON object.")
    return data


def text_field(data: dict[str, Any], name: str, *, required: bool = True) -> str | None:
    value = data.get(name)
    if value is None:
        if required:
            raise _missing(name)
        return None
    if not isinstance(value, str):
        raise Invalid(name, f"{name}.type", f"{name} must be a string.")
    return value


def tags_field(data: dict[str, Any], *, required: bool = True) -> list[str] | str | None:
    value = data.get("tags")
    if value is None:
        if required:
            raise _missing("tags")
        return None
    if isinstance(value, str) or (isinstance(value, list) and all(isinstance(t, str) for t in value)):
        return value
    raise Invalid("tags", "tags.type", "tags must be a list of strings.")


def int_field(data: dict[str, Any], name: str) -> int:
    value = data.get(name)
    if value is None:
        raise _missing(name)
    if not isinstance(value, int) or isinstance(value, bool):
        raise Invalid(name, f"{name}.type", f"{name} must be an integer.")
    return value



def _missing(name: str) -> Invalid:
    return Invalid(name, f"{name}.required", f"{name} is required.")


def limit_arg() -> int:
    raw = request.args.get("limit")
    top = current_app.config["API_MAX_LIMIT"]
    if raw is None:
        return min(current_app.config["PAGE_SIZE"], top)
    if not _is_number(raw) or not 1 <= int(raw) <= top:
        raise BadRequest("limit.invalid", f"limit is a whole number from 1 to {top}.")
    return int(raw)


def list_response(page, serialize) -> dict[str, Any]:
    return {"items": [serialize(item) for item in page.items], "next_cursor": page.next_cursor}
