"""User accounts, roles and API tokens."""

from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from community.models.base import Timestamped, db, utcnow

ROLES = ("member", "staff", "moderator", "admin")
STAFF_ROLES = frozenset({"staff", "moderator", "admin"})
# suspended_until for a suspension with no end date.
SUSPENDED_INDEFINITELY = datetime(9999, 12, 31)


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
    # Suspended while this lies ahead; SUSPENDED_INDEFINITELY for no end date.
    suspended_until: Mapped[datetime | None]
    suspension_reason: Mapped[str] = mapped_column(Text, default="", server_default="")
    last_seen_at: Mapped[datetime | None]
    # Email for notifications: "immediately", "daily" (a digest) or "never" (models/notifications.py).
    email_notifications: Mapped[str] = mapped_column(String(12), default="daily",
                                                     server_default="daily")
    # Accounts (issue 17): when the address was proven by a link sent to it (None: not yet, so no
    # notification email); the profile's own fields; 0 for the generated avatar, else the
    # number of the uploaded one (models/avatars.py), which also busts caches.
    email_verified_at: Mapped[datetime | None]
    display_name: Mapped[str] = mapped_column(String(64), default="", server_default="")
    bio_html: Mapped[str] = mapped_column(Text, default="", server_default="")
    location: Mapped[str] = mapped_column(String(100), default="", server_default="")
    website: Mapped[str] = mapped_column(String(200), default="", server_default="")
    avatar_version: Mapped[int] = mapped_column(default=0, server_default="0")
    # The member deleted their account: the row stays for their posts ("a former member").
    deleted_at: Mapped[datetime | None]

    tokens: Mapped[list[ApiToken]] = relationship(back_populates="user", cascade="all, delete-orphan")

    # The login session this request came with (services/sessions.py), as "<user id>:<key>":
    # what Flask-Login keeps in the session and remember cookies instead of the bare id, so that
    # ending the session on the server ends both cookies. Not a column.
    login_id = None  # str | None

    def get_id(self) -> str:
        if self.login_id is None:
            raise RuntimeError("log users in through services.sessions.open_session")
        return self.login_id

    def __eq__(self, other: object) -> bool:
        """The same account, whichever login session each copy came with."""
        if not isinstance(other, User):
            return NotImplemented
        return self is other or (self.id is not None and other.id == self.id)

    __hash__ = object.__hash__  # identity, as SQLAlchemy's identity map expects

    @property
    def is_staff(self) -> bool:
        """Staff, moderators and admins: the people who speak for the company."""
        return self.role in STAFF_ROLES

    @property
    def reputation(self) -> int:
        """Reputation as people see it: 1 plus the ledger, never below 1."""
        return max(1, 1 + self.reputation_total)

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

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


class LoginSession(Timestamped, db.Model):
    """A browser logged in to an account: its cookies carry the key, only the key's SHA-256 is
    stored, and logging out deletes the row (which ends the session and remember cookies)."""

    __tablename__ = "login_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
