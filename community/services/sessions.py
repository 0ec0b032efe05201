"""Login sessions: what a session or remember cookie proves, and ending it on the server.

Each log-in opens a `LoginSession` row and hands Flask-Login a login id, "<user id>:<key>",
which it keeps in the signed session cookie and the remember cookie. A request's cookie counts
only while its row exists, so logging out (this browser), "log out everywhere" and a password
change end the cookies for good, even copies taken before. Suspended accounts have none.
"""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import delete, select

from community.extensions import db
from community.models import LoginSession, User
from community.models.base import MAX_ID
from community.services import permissions


def open_session(user: User) -> User:
    """Start a login session for `user` (whose password or sign-up was just checked): the user,
    with the `login_id` that Flask-Login will keep. Commits."""
    key = secrets.token_urlsafe(32)
    db.session.add(LoginSession(user_id=user.id, key_hash=_key_hash(key)))
    db.session.commit()
    user.login_id = f"{user.id}:{key}"
    return user


def user_for(login_id: str) -> User | None:
    """The user a cookie's login id names, while its session is open. A session opened before
    a suspension still reads; permissions refuse its writes with the reason (issue 15)."""
    user_part, _, key = login_id.partition(":")
    if not (user_part.isascii() and user_part.isdigit() and key) or int(user_part) > MAX_ID:
        return None
    user = db.session.scalar(
        select(User).join(LoginSession, LoginSession.user_id == User.id)
        .where(User.id == int(user_part), LoginSession.key_hash == _key_hash(key)))
    if user is None:
        return None
    user.login_id = login_id
    return user


def close_session(user: User) -> None:
    """Log out this browser: its session and remember cookies stop working. Commits."""
    if user.login_id:
        _, _, key = user.login_id.partition(":")
        db.session.execute(delete(LoginSession).where(LoginSession.user_id == user.id,
                                                      LoginSession.key_hash == _key_hash(key)))
        db.session.commit()


def close_all(actor: User, *, keep_current: bool = False) -> int:
    """Log the actor out everywhere (or everywhere else); how many sessions ended. Commits."""
    permissions.require(actor, "account.sessions")
    query = delete(LoginSession).where(LoginSession.user_id == actor.id)
    if keep_current and actor.login_id:
        query = query.where(LoginSession.key_hash != _key_hash(actor.login_id.partition(":")[2]))
    ended = db.session.execute(query).rowcount
    db.session.commit()
    return ended


def _key_hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()
