"""The reputation ledger and badge awards."""

from __future__ import annotations

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from community.models.base import Timestamped, db
from community.models.threads import Post


class ReputationEvent(Timestamped, db.Model):
    """One change to one user's reputation. Undoing writes the exact opposite row, never deletes.

    `kind` names the rule (services/reputation.py), `post_id` the post it concerns, and
    `actor_id` who caused it (the voter, the acceptor, the endorsing staff member).
    """

    __tablename__ = "reputation_events"
    __table_args__ = (Index("ix_reputation_events_user_created", "user_id", "created_at"),
                      Index("ix_reputation_events_source", "post_id", "kind", "user_id"),
                      Index("ix_reputation_events_created", "created_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    delta: Mapped[int]
    post_id: Mapped[int | None] = mapped_column(ForeignKey("posts.id", ondelete="SET NULL"))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    post: Mapped[Post | None] = relationship()


class BadgeAward(Timestamped, db.Model):
    """A badge a user earned; each badge at most once per user."""

    __tablename__ = "badge_awards"
    __table_args__ = (UniqueConstraint("user_id", "badge"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    badge: Mapped[str] = mapped_column(String(32))
    post_id: Mapped[int | None] = mapped_column(ForeignKey("posts.id", ondelete="SET NULL"))
