"""Password reset and email verification by signed links (the mailer sends them after commit).

A reset link names the account, its address and a fingerprint of its current password hash,
signed with a timestamp: it stops working after PASSWORD_RESET_SECONDS, once the password
changes (so it works once), and when the address changes. A verification link names the
account and the address it was sent to. Asking for a reset answers the same whether or not an
account has the address; the view says so without telling which.
"""

from __future__ import annotations

import hashlib
from typing import Any

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import delete

from community.extensions import db
from community.models import ApiToken, LoginSession, User
from community.models.base import MAX_ID, utcnow
from community.services import accounts, events, permissions
from community.services.errors import Conflict, Invalid

RESET_SALT = "accounts.password-reset"
VERIFY_SALT = "accounts.verify-email"


def _serializer(salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=salt)


def _fingerprint(password_hash: str | None) -> str:
    return hashlib.sha256((password_hash or "").encode()).hexdigest()[:20]


def _load(salt: str, token: Any, max_age: int, what: str) -> tuple[User, dict[str, Any]]:
    """The user a link names and its data; Invalid `token.expired` or `token.invalid`."""
    if not isinstance(token, str) or not token or len(token) > 1000:
        raise Invalid("token", "token.invalid", f"This {what} link is not valid.")
    try:
        data = _serializer(salt).loads(token, max_age=max_age)
    except SignatureExpired:
        raise Invalid("token", "token.expired",
                      f"This {what} link has expired; ask for a new one.") from None
    except BadSignature:
        data = None
    user_id = data.get("u") if isinstance(data, dict) else None
    user = (db.session.get(User, user_id) if isinstance(user_id, int) and 0 < user_id <= MAX_ID
            else None)
    if user is None or not isinstance(data.get("e"), str) \
            or data["e"].lower() != user.email.lower():
        raise Invalid("token", "token.invalid", f"This {what} link is not valid.")
    return user, data


# ---- password reset ---------------------------------------------------------------------------

def request_reset(email: Any) -> None:
    """Anyone: owe a reset link to the account with this address, if one has a password (bridge
    accounts have none). Raises Invalid only for something that is not an address; otherwise
    returns the same way whether or not an account has it, so callers cannot tell."""
    if not isinstance(email, str):
        raise Invalid("email", "email.type", "email must be a string.")
    user = accounts.find_by_email(accounts.normalize_email(email))
    if user is not None and user.password_hash is not None:
        events.publish("account.reset_requested", user_id=user.id)
    db.session.commit()


def reset_token(user: User) -> str:
    """A signed reset link's token for `user` as they are now (the mailer makes it at send time)."""
    return _serializer(RESET_SALT).dumps(
        {"u": user.id, "e": user.email, "p": _fingerprint(user.password_hash)})


def check_reset(token: Any) -> User:
    """The account a reset link is for, while the link works; Invalid `token.*` otherwise."""
    user, data = _load(RESET_SALT, token, current_app.config["PASSWORD_RESET_SECONDS"],
                       "password reset")
    if user.password_hash is None or data.get("p") != _fingerprint(user.password_hash):
        # The password changed since (this link, or another, was used): it works only once.
        raise Invalid("token", "token.used", "This password reset link was already used.")
    return user


def reset_password(token: Any, password: Any) -> User:
    """Anyone holding a working reset link: set a new password (the usual rules), end every
    login session and API token of the account, and count its address as verified (the link
    reached it). Raises Invalid `token.*` or `password.*`; changes nothing then."""
    user = check_reset(token)
    if not isinstance(password, str):
        raise Invalid("password", "password.type", "password must be a string.")
    accounts.check_new_password(password, user.username)
    user.password_hash = accounts.hash_password(password)
    if user.email_verified_at is None:
        user.email_verified_at = utcnow()
    end_all_access(user)
    db.session.commit()
    return user


def end_all_access(user: User, *, keep_login_id: str | None = None, tokens: bool = True) -> None:
    """Delete the user's login sessions (all but `keep_login_id`'s) and, with `tokens`, their
    API tokens. Flushes; the caller commits."""
    query = delete(LoginSession).where(LoginSession.user_id == user.id)
    if keep_login_id:
        key = keep_login_id.partition(":")[2]
        query = query.where(LoginSession.key_hash != hashlib.sha256(
            key.encode("utf-8", "surrogatepass")).hexdigest())
    db.session.execute(query)
    if tokens:
        db.session.execute(delete(ApiToken).where(ApiToken.user_id == user.id))
        db.session.expire(user, ["tokens"])


# ---- email verification -----------------------------------------------------------------------

def verification_token(user: User) -> str:
    """A signed verification link's token for the user's current address."""
    return _serializer(VERIFY_SALT).dumps({"u": user.id, "e": user.email})


def request_verification(actor: User) -> User:
    """The actor asks for another verification link. Conflict `email.verified` when there is
    nothing to verify."""
    permissions.require(actor, "account.edit")
    if actor.email_verified_at is not None:
        raise Conflict("email.verified", "Your email address is already verified.")
    events.publish("account.verification_requested", user_id=actor.id)
    db.session.commit()
    return actor


def verify_email(token: Any) -> User:
    """Whoever opens a verification link: the address it was sent to counts as verified (the
    account's current one only; a link for an earlier address is Invalid `token.invalid`)."""
    user, _ = _load(VERIFY_SALT, token, current_app.config["VERIFY_EMAIL_SECONDS"],
                    "verification")
    if user.email_verified_at is None:
        user.email_verified_at = utcnow()
        db.session.commit()
    return user
