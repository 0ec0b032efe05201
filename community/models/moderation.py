"""Moderation: members' flags on posts and comments, and the append-only audit log of what
staff did."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from community.models.base import db, utcnow
from community.models.threads import Comment, Post, Thread
from community.models.users import User

FLAG_REASONS = ("spam", "abusive", "off_topic", "duplicate", "needs_staff", "other")
FLAG_OUTCOMES = ("agreed", "dismissed")


class Flag(db.Model):
    """One member's flag on a post or a comment (exactly one of the two), open until a
    moderator resolves every open flag on that target at once."""

    __tablename__ = "flags"
    __table_args__ = (
        Index("ix_flags_status_created", "status", "created_at", "id"),
        Index("ix_flags_status_id", "status", "id"),  # the queue reads each list in id order
        Index("ix_flags_post_status", "post_id", "status"),
        Index("ix_flags_comment_status", "comment_id", "status"),
        Index("ix_flags_flagger_created", "flagger_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int | None] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"))
    comment_id: Mapped[int | None] = mapped_column(ForeignKey("comments.id", ondelete="CASCADE"))
    flagger_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str] = mapped_column(String(16))  # one of FLAG_REASONS
    detail: Mapped[str] = mapped_column(Text, default="")
    duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("threads.id",
                                                                   ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(10), default="open")  # open, resolved
    outcome: Mapped[str | None] = mapped_column(String(10))  # one of FLAG_OUTCOMES
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    resolved_at: Mapped[datetime | None]
    resolution_note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    post: Mapped[Post | None] = relationship()
    comment: Mapped[Comment | None] = relationship()
    flagger: Mapped[User] = relationship(foreign_keys=[flagger_id])
    resolved_by: Mapped[User | None] = relationship(foreign_keys=[resolved_by_id])
    duplicate_of: Mapped[Thread | None] = relationship()

    @property
    def target_kind(self) -> str:
        return "post" if self.post_id is not None else "comment"

    @property
    def target_id(self) -> int:
        return self.post_id if self.post_id is not None else self.comment_id


class AuditEntry(db.Model):
    """Something a staff member, moderator or admin did (or the system did for them, with no
    actor): who, what, to which target, why, and the target's state before and after. Rows are
    only ever added."""

    __tablename__ = "audit_entries"
    __table_args__ = (
        Index("ix_audit_created", "created_at", "id"),
        Index("ix_audit_actor_created", "actor_id", "created_at"),
        Index("ix_audit_action_created", "action", "created_at"),
        Index("ix_audit_target", "target_kind", "target_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(String(40))  # e.g. post.hide, user.suspend
    target_kind: Mapped[str] = mapped_column(String(16))  # post, comment, thread, user, channel, flag
    target_id: Mapped[int]
    reason: Mapped[str] = mapped_column(Text, default="")
    before: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    after: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    actor: Mapped[User | None] = relationship()
