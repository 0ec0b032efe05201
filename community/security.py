"""Security headers on every response, and how the current actor is found for rate limits."""

from __future__ import annotations

from flask import Flask, Response, g, request
from flask_limiter.util import get_remote_address
from flask_login import current_user

from community.extensions import login_manager

# No inline script or style anywhere; user images may come from any http(s) host.
CSP = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' https: http:",
    "connect-src 'self'",
    "font-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])


def current_actor():
    """The user acting in this request: an API token's user, the logged-in user, or None."""
    api_user = g.get("api_user")
    if api_user is not None:
        return api_user
    return current_user if current_user.is_authenticated else None


def rate_limit_key() -> str:
    """Limits follow the account when there is one, else the client address."""
    actor = current_actor()
    return f"user:{actor.id}" if actor is not None else f"ip:{get_remote_address()}"


def _headers(response: Response) -> Response:
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    if request.is_secure:
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    return response


def init_app(app: Flask) -> None:
    from community.extensions import db
    from community.models import User

    @login_manager.user_loader
    def load_user(user_id: str):
        return db.session.get(User, int(user_id)) if user_id.isascii() and user_id.isdigit() else None

    login_manager.login_view = "auth.login"
    login_manager.login_message = "Log in to continue."
    app.after_request(_headers)
