"""Notifications (what a user is told), subscriptions (the threads a user follows), and the
notifications still owed for committed changes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from community.models.base import Timestamped, db
from community.models.threads import Comment, Post, Thread
from community.models.users import User

# Why a user is told: someone answered or commented on their post, accepted or endorsed their
# answer, mentioned them, or something happened on a thread they follow; or a moderator agreed
# with or dismissed their flag.
FLAG_OUTCOME_KINDS = ("flag_agreed", "flag_dismissed")
NOTIFICATION_KINDS = ("answer", "comment", "accepted", "endorsed", "mention", "activity",
                      *FLAG_OUTCOME_KINDS)
# How a user wants email: one per notification, one digest a day, or none.
EMAIL_MODES = ("immediately", "daily", "never")


class Subscription(Timestamped, db.Model):
    """A user follows a thread: new answers and comments on it notify them."""

    __tablename__ = "subscriptions"
    __table_args__ = (UniqueConstraint("user_id", "thread_id"),
                      Index("ix_subscriptions_thread_id", "thread_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    thread_id: Mapped[int] = mapped_column(ForeignKey("threads.id", ondelete="CASCADE"))


class Notification(Timestamped, db.Model):
    """One thing one user is told about; read when they have seen it, emailed once at most."""

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_user_id_id", "user_id", "id"),
                      Index("ix_notifications_user_unread", "user_id", "read_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    thread_id: Mapped[int] = mapped_column(ForeignKey("threads.id", ondelete="CASCADE"))
    post_id: Mapped[int | None] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"))
    comment_id: Mapped[int | None] = mapped_column(ForeignKey("comments.id", ondelete="CASCADE"))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    read_at: Mapped[datetime | None]
    emailed_at: Mapped[datetime | None]

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    actor: Mapped[User | None] = relationship(foreign_keys=[actor_id])
    thread: Mapped[Thread] = relationship()
    post: Mapped[Post | None] = relationship()
    comment: Mapped[Comment | None] = relationship()

    @property
    def is_read(self) -> bool:
        return self.read_at is not None


class OwedNotification(Timestamped, db.Model):
    """A committed event whose notifications are not written yet: inserted in the event's own
    transaction, deleted in the one that writes its notifications, so a crash in between
    leaves the row for another round rather than forgetting it (services/notifications/owed.py).

    A worker claims a row for `claimed_until` under a token of its own (`claimed_by`); a row
    whose claim ran out is from a worker that died or gave up, and may be claimed again.
    """

    __tablename__ = "owed_notifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    event: Mapped[str] = mapped_column(String(32))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    attempts: Mapped[int] = mapped_column(default=0)
    claimed_by: Mapped[str | None] = mapped_column(String(32))
    claimed_until: Mapped[datetime | None]
