"""Notification email: each member's preference, one-click unsubscribe tokens, and claiming
notifications for an email so that two processes never send one twice (the mailer in
community/workers/ composes and sends them)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import select, update
from sqlalchemy.orm import joinedload

from community import mail
from community.extensions import db
from community.models import Notification, User
from community.models.base import utcnow
from community.models.notifications import EMAIL_MODES
from community.services import permissions, visibility
from community.services.errors import Invalid, NotFound
from community.services.notifications.reading import get

UNSUBSCRIBE_SALT = "notifications.unsubscribe"


def email_available() -> bool:
    """Whether this site can send email at all (MAIL_SERVER is set)."""
    return mail.configured(current_app.config)


def set_email_mode(actor: User, mode: Any) -> User:
    """How the actor gets notification email: immediately, daily or never. Raises Invalid."""
    permissions.require(actor, "notifications.read")
    if mode not in EMAIL_MODES:
        raise Invalid("email", "email_mode.invalid", f"email is one of {', '.join(EMAIL_MODES)}.")
    actor.email_notifications = mode
    db.session.commit()
    return actor


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=UNSUBSCRIBE_SALT)


def unsubscribe_token(user: User) -> str:
    """A signed token that turns off this user's notification email, for one-click links."""
    return _serializer().dumps({"u": user.id, "e": user.email})


def unsubscribe(token: str) -> User:
    """Turn notification email off for the user a token names. NotFound for a bad token (or
    one issued for an address the account no longer has)."""
    try:
        data = _serializer().loads(token)
        user = db.session.get(User, int(data["u"])) if isinstance(data, dict) else None
    except (BadSignature, KeyError, TypeError, ValueError):
        user = None
    if user is None or user.email != data.get("e"):
        raise NotFound("unsubscribe.invalid", "This unsubscribe link is not valid.")
    user.email_notifications = "never"
    db.session.commit()
    return user


def claim_for_email(notification_id: int) -> Notification | None:
    """Take an unread, un-emailed notification of a user who wants email immediately (and
    whose address is verified: until then, no notification email), marking
    it emailed (compare-and-set, so two processes never both send it); None if there is none."""
    item = get(notification_id)
    if (item is None or item.read_at is not None or item.emailed_at is not None
            or item.user.email_notifications != "immediately"
            or item.user.email_verified_at is None or not _still_visible(item)):
        return None
    claimed = db.session.execute(
        update(Notification).where(Notification.id == item.id, Notification.emailed_at.is_(None))
        .values(emailed_at=utcnow()).execution_options(synchronize_session=False)).rowcount
    db.session.commit()
    return get(notification_id) if claimed == 1 else None


def _still_visible(item: Notification) -> bool:
    """The notification's thread, post and comment are still shown to its reader."""
    return db.session.scalar(select(Notification.id).where(
        Notification.id == item.id, visibility.visible_notifications(item.user))) is not None


def release_email(notification_ids: list[int]) -> None:
    """Sending failed: let the next attempt (or digest) take these notifications again."""
    db.session.execute(update(Notification).where(Notification.id.in_(notification_ids))
                       .values(emailed_at=None).execution_options(synchronize_session=False))
    db.session.commit()


def claim_digests(now: datetime | None = None) -> list[tuple[User, list[Notification]]]:
    """For every user on the daily digest: their unread notifications not emailed yet, marked
    emailed (so running the digest twice sends nothing twice). Users with none are left out."""
    now = now or utcnow()
    user_ids = list(db.session.scalars(
        select(Notification.user_id).join(User, User.id == Notification.user_id)
        .where(User.email_notifications == "daily", User.email_verified_at.is_not(None),
               Notification.read_at.is_(None),
               Notification.emailed_at.is_(None)).distinct()))
    batches = []
    for user_id in sorted(user_ids):
        # Content hidden since the notification was written is not emailed (nor listed).
        ids = list(db.session.scalars(select(Notification.id).where(
            Notification.user_id == user_id, Notification.read_at.is_(None),
            Notification.emailed_at.is_(None),
            visibility.visible_notifications(db.session.get(User, user_id)))
            .order_by(Notification.id)))
        claimed = db.session.execute(
            update(Notification).where(Notification.id.in_(ids), Notification.emailed_at.is_(None))
            .values(emailed_at=now).execution_options(synchronize_session=False)).rowcount
        db.session.commit()
        if claimed:
            items = list(db.session.scalars(
                select(Notification).where(Notification.id.in_(ids),
                                           Notification.emailed_at == now)
                .options(joinedload(Notification.actor), joinedload(Notification.thread))
                .order_by(Notification.id)))
            batches.append((db.session.get(User, user_id), items))
    return batches
