"""Votes: at most one per user and post."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, SmallInteger, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from community.models.base import Timestamped, db, utcnow


class Vote(Timestamped, db.Model):
    """An up (+1) or down (-1) vote; retracting deletes the row."""

    __tablename__ = "votes"
    __table_args__ = (UniqueConstraint("user_id", "post_id"),
                      CheckConstraint("value IN (-1, 1)", name="value"))

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"), index=True)
    value: Mapped[int] = mapped_column(SmallInteger)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
