"""Reading notifications: a member's list, the unread count, marking them read."""

from __future__ import annotations

from sqlalchemy import func, select, update
from sqlalchemy.orm import joinedload

from community.extensions import db
from community.models import Notification, User
from community.models.base import MAX_ID, utcnow
from community.services import permissions, visibility
from community.services.errors import NotFound
from community.services.pagination import Page, keyset_page


def get(notification_id: int) -> Notification | None:
    if not 0 < notification_id <= MAX_ID:
        return None
    return db.session.get(Notification, notification_id, options=[
        joinedload(Notification.user), joinedload(Notification.actor),
        joinedload(Notification.thread)])


def get_own(actor: User, notification_id: int) -> Notification:
    """The actor's own notification; NotFound for anyone else's (no hint that it exists)."""
    permissions.require(actor, "notifications.read")
    item = get(notification_id) if isinstance(notification_id, int) else None
    if item is None or item.user_id != actor.id:
        raise NotFound("notification.not_found", "No such notification.")
    return item


def list_for(actor: User, *, unread_only: bool = False, cursor: str | None = None,
             limit: int = 30) -> Page[Notification]:
    """The actor's notifications, newest first. Raises Unauthorized for visitors."""
    permissions.require(actor, "notifications.read")
    query = (select(Notification).where(Notification.user_id == actor.id,
                                        visibility.visible_notifications(actor))
             .options(joinedload(Notification.actor), joinedload(Notification.thread)))
    if unread_only:
        query = query.where(Notification.read_at.is_(None))
    return keyset_page(query, "notifications", Notification.id, Notification.id, cursor, limit,
                       db.session)


def unread_count(user: User) -> int:
    return db.session.scalar(select(func.count()).select_from(Notification).where(
        Notification.user_id == user.id, Notification.read_at.is_(None))) or 0


def mark_read(actor: User, notification_id: int) -> Notification:
    """Mark one of the actor's notifications read. Raises NotFound for anyone else's."""
    item = get_own(actor, notification_id)
    if item.read_at is None:
        item.read_at = utcnow()
        db.session.commit()
    return item


def mark_all_read(actor: User) -> int:
    """Mark every unread notification of the actor read; returns how many were unread."""
    permissions.require(actor, "notifications.read")
    result = db.session.execute(
        update(Notification).where(Notification.user_id == actor.id,
                                   Notification.read_at.is_(None))
        .values(read_at=utcnow()).execution_options(synchronize_session=False))
    db.session.commit()
    return result.rowcount
