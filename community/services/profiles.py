"""Profile editing: the public profile (display name, bio, location, website), the account's
email and password (the current password required), and notification email."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import func, select
from werkzeug.security import check_password_hash

from community.extensions import db
from community.models import User
from community.models.notifications import EMAIL_MODES
from community.services import account_recovery, accounts, events, permissions
from community.services.errors import Conflict, Invalid
from community.services.text import clean_text, is_encodable, to_html

DISPLAY_NAME_MAX, LOCATION_MAX, WEBSITE_MAX, BIO_MAX = 64, 100, 200, 2000
PROFILE_FIELDS = ("display_name", "bio", "location", "website")
ACCOUNT_FIELDS = ("email", "password")


def _text(value: Any, field: str, limit: int, *, multiline: bool = False) -> str:
    if not isinstance(value, str):
        raise Invalid(field, f"{field}.type", f"{field} must be a string.")
    value = clean_text(value)
    if not multiline:
        value = " ".join(value.split())
    if len(value) > limit:
        raise Invalid(field, f"{field}.length", f"{field.replace('_', ' ').capitalize()} is at "
                                                f"most {limit} characters.")
    return value


def _website(value: Any) -> str:
    url = _text(value, "website", WEBSITE_MAX)
    if not url:
        return ""
    try:
        parts = urlsplit(url)
        port_ok = parts.port is None or parts.port > 0
    except ValueError:
        parts, port_ok = None, False
    if (parts is None or not port_ok or parts.scheme.lower() not in ("http", "https")
            or not parts.hostname or parts.username or parts.password or " " in url):
        raise Invalid("website", "website.invalid",
                      "The website is an address starting with http:// or https://.")
    return url


def _display_name(actor: User, value: Any) -> str:
    name = _text(value, "display_name", DISPLAY_NAME_MAX)
    if name and not actor.is_staff and accounts.is_staff_lookalike(name):
        raise Invalid("display_name", "display_name.confusable",
                      "That name looks too much like a staff member's name.")
    return name


def _check_current(actor: User, current: Any) -> None:
    if not isinstance(current, str) or not current or not is_encodable(current) \
            or actor.password_hash is None \
            or not check_password_hash(actor.password_hash, current):
        raise Invalid("current_password", "current_password.wrong",
                      "Your current password is needed, and that was not it.")


def update(actor: User, changes: dict[str, Any]) -> User:
    """The actor edits their own profile and account; `changes` holds only what changes:
    display_name, bio (markdown, rendered like posts), location, website, email, password
    (both need `current_password`), email_notifications. A new email is unverified until its
    link is opened (one is owed now); a new password ends the actor's other login sessions.
    Raises Invalid (the field), Conflict `email.taken`, Forbidden; changes nothing then."""
    permissions.require(actor, "account.edit")
    unknown = set(changes) - {*PROFILE_FIELDS, *ACCOUNT_FIELDS, "current_password",
                              "email_notifications"}
    if unknown:
        name = sorted(unknown)[0]
        raise Invalid(name, "field.unknown", f"{name} cannot be changed here.")
    if any(field in changes for field in PROFILE_FIELDS):
        permissions.require(actor, "profile.edit")
    values: dict[str, Any] = {}
    if "display_name" in changes:
        values["display_name"] = _display_name(actor, changes["display_name"])
    if "bio" in changes:
        values["bio"] = _text(changes["bio"], "bio", BIO_MAX, multiline=True)
    if "location" in changes:
        values["location"] = _text(changes["location"], "location", LOCATION_MAX)
    if "website" in changes:
        values["website"] = _website(changes["website"])
    if "email_notifications" in changes:
        if changes["email_notifications"] not in EMAIL_MODES:
            raise Invalid("email_notifications", "email_mode.invalid",
                          f"email_notifications is one of {', '.join(EMAIL_MODES)}.")
        values["email_notifications"] = changes["email_notifications"]
    new_email = _new_email(actor, changes.get("email"))
    new_password = changes.get("password")
    if new_password is not None:
        if not isinstance(new_password, str):
            raise Invalid("password", "password.type", "password must be a string.")
        accounts.check_new_password(new_password, actor.username)
    if new_email or new_password is not None:
        _check_current(actor, changes.get("current_password"))

    for name, value in values.items():
        setattr(actor, name, value)
    if "bio" in values:
        actor.bio_html = to_html(values["bio"]) if values["bio"] else ""
    if new_email:
        actor.email, actor.email_verified_at = new_email, None
        events.publish("account.verification_requested", user_id=actor.id)
    if new_password is not None:
        actor.password_hash = accounts.hash_password(new_password)
        # Other browsers log in again; this one, and API tokens (revoked on their own), stay.
        account_recovery.end_all_access(actor, keep_login_id=actor.login_id, tokens=False)
    db.session.commit()
    return actor


def _new_email(actor: User, raw: Any) -> str | None:
    """The normalised new address, or None when `raw` is absent or the current one."""
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise Invalid("email", "email.type", "email must be a string.")
    email = accounts.normalize_email(raw)
    if email.lower() == actor.email.lower():
        return None
    if db.session.scalar(select(User.id).where(func.lower(User.email) == email.lower())):
        raise Conflict("email.taken", "An account with that email already exists.",
                       field="email")
    return email
