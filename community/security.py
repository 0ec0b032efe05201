"""Security headers on every response, who the current actor is (a bearer token or a login
session's cookie), and the keys rate limits count by."""

from __future__ import annotations

from functools import lru_cache

from flask import Flask, Response, current_app, g, request
from flask_limiter.util import get_remote_address
from flask_login import current_user

from community.extensions import limiter, login_manager
from community.services import accounts, sessions
from community.services.moderation import limits

# No inline script or style anywhere; images only from the site and its IMAGE_HOSTS (the
# renderer turns other images into links, and this keeps out any stored before a host left).
CSP_DIRECTIVES = [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self'",
    "connect-src 'self'",
    "font-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
]


@lru_cache(maxsize=4)
def content_security_policy(image_hosts: tuple[str, ...]) -> str:
    """The policy for a site whose posts may show images from `image_hosts`."""
    sources = " ".join(f"https://{host} http://{host}" for host in image_hosts)
    return "; ".join(directive + (" " + sources if directive.startswith("img-src") and sources
                                  else "") for directive in CSP_DIRECTIVES)


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


def post_rate_limit() -> str:
    """The posting limit for this request's actor: new accounts (services/moderation/limits.py)
    get RATELIMIT_POST_NEW, everyone else RATELIMIT_POST."""
    new = limits.is_new(current_actor())
    return current_app.config["RATELIMIT_POST_NEW" if new else "RATELIMIT_POST"]


def _login_target() -> str:
    """The account a log-in (form or token request) is trying, whoever sends it."""
    if request.form:
        name = request.form.get("username")
    else:
        try:
            body = request.get_json(silent=True)
        except RecursionError:  # nested too deep: the view refuses it too
            body = None
        name = body.get("username") if isinstance(body, dict) else None
    return "login-account:" + (accounts.username_key(name) if isinstance(name, str) else "")


def _failed(response: Response) -> bool:
    """Only failed log-ins count against the limits below (a success redirects or is 201)."""
    return response.status_code not in (201, 302)


# Failed log-ins are limited per client address and per account tried: an attacker's own
# accounts bring no fresh allowance against a victim, and one address cannot try many accounts.
login_failures_by_address = limiter.limit(
    lambda: current_app.config["RATELIMIT_LOGIN"], methods=["POST"],
    key_func=lambda: f"login-address:{get_remote_address()}", deduct_when=_failed)
login_failures_by_account = limiter.limit(
    lambda: current_app.config["RATELIMIT_LOGIN"], methods=["POST"], key_func=_login_target,
    deduct_when=_failed)



def _reset_target() -> str:
    """The address a password-reset request names, normalised as the lookup compares it."""
    email = request.form.get("email") if request.form else None
    if email is None:
        try:
            body = request.get_json(silent=True)
        except RecursionError:
            body = None
        email = body.get("email") if isinstance(body, dict) else None
    return "reset-email:" + (email.strip().casefold() if isinstance(email, str) else "")


# Reset links: per client address and per address asked about, one count for the page and the
# API together (an address cannot be mail-bombed, nor many addresses tried from one client).
password_reset_by_address = limiter.shared_limit(
    lambda: current_app.config["RATELIMIT_PASSWORD_RESET"], scope="password-reset-address",
    methods=["POST"], key_func=lambda: f"reset-address:{get_remote_address()}")
password_reset_by_email = limiter.shared_limit(
    lambda: current_app.config["RATELIMIT_PASSWORD_RESET"], scope="password-reset-email",
    methods=["POST"], key_func=_reset_target)
# Guesses at the current password (changing email or password, deleting the account): refused
# answers count against the log-in limit, per account.
password_checks = limiter.shared_limit(
    lambda: current_app.config["RATELIMIT_LOGIN"], scope="password-check",
    methods=["POST", "PATCH", "DELETE"], key_func=rate_limit_key,
    deduct_when=lambda response: response.status_code == 422)
# Another verification link: per account.
verification_limit = limiter.shared_limit(
    lambda: current_app.config["RATELIMIT_VERIFY_EMAIL"], scope="verify-email",
    methods=["POST"], key_func=rate_limit_key)


def _headers(response: Response) -> Response:
    response.headers.setdefault(
        "Content-Security-Policy",
        content_security_policy(tuple(current_app.config["IMAGE_HOSTS"])))
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    if request.is_secure:
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    return response


def init_app(app: Flask) -> None:
    # What the session and remember cookies hold is a login session's id (services/sessions.py):
    # a cookie counts only while its session is open.
    login_manager.user_loader(sessions.user_for)

    login_manager.login_view = "auth.login"
    login_manager.login_message = "Log in to continue."
    app.after_request(_headers)
