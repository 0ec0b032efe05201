"""User accounts, roles and API tokens."""

from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from community.models.base import Timestamped, db, utcnow

ROLES = ("member", "staff", "moderator", "admin")
STAFF_ROLES = frozenset({"staff", "moderator", "admin"})


class User(UserMixin, Timestamped, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(32))
    # Case-folded, NFKC-normalised username: the uniqueness key.
    username_key: Mapped[str] = mapped_column(String(96), unique=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16), default="member")
    # Cached sum of this user's reputation ledger; written only by services.reputation.
    reputation_total: Mapped[int] = mapped_column(default=0, index=True)
    locale: Mapped[str | None] = mapped_column(String(16))
    bio: Mapped[str] = mapped_column(Text, default="")
    suspended_until: Mapped[datetime | None]
    last_seen_at: Mapped[datetime | None]
    # Email for notifications: "immediately", "daily" (a digest) or "never" (models/notifications.py).
    email_notifications: Mapped[str] = mapped_column(String(12), default="daily",
                                                     server_default="daily")

    tokens: Mapped[list[ApiToken]] = relationship(back_populates="user", cascade="all, delete-orphan")

    @property
    def is_staff(self) -> bool:
        """Staff, moderators and admins: the people who speak for the company."""
        return self.role in STAFF_ROLES

    @property
    def reputation(self) -> int:
        """Reputation as people see it: 1 plus the ledger, never below 1."""
        return max(1, 1 + self.reputation_total)

    @property
    def is_suspended(self) -> bool:
        return self.suspended_until is not None and self.suspended_until > utcnow()

    def __repr__(self) -> str:
        return f"<User {self.id} {self.username!r} {self.role}>"


class ApiToken(Timestamped, db.Model):
    """A bearer token for the JSON API; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(100), default="")
    last_used_at: Mapped[datetime | None]

    user: Mapped[User] = relationship(back_populates="tokens")
