"""The social bridge: channels, the people on them, what they sent us and what we send back."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.sql.expression import false

from community.models.base import Timestamped, db, utcnow
from community.models.threads import Post, Thread
from community.models.users import User

CHANNEL_KINDS = ("whatsapp", "messenger", "instagram", "telegram", "x", "mastodon", "generic")

# Outbox states. `sending` is set before the provider is called, so a crash leaves evidence;
# `held` waits for staff (outside a 24-hour window, or a send that cannot be reconciled).
OUTBOX_STATES = ("pending", "sending", "sent", "delivered", "read", "failed", "held", "cancelled")
OUTBOX_OPEN = ("pending", "sending", "held")


class Channel(Timestamped, db.Model):
    """One configured account on a social network (or a generic webhook partner)."""

    __tablename__ = "bridge_channels"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    slug: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(100), default="")
    # Kind-specific settings, secrets included (never shown back in full: see services.bridge).
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # What a poller remembers between runs, e.g. {"since_id": "..."}.
    cursor: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    is_enabled: Mapped[bool] = mapped_column(default=True)
    # The forum account that speaks for the brand on this channel (native staff replies).
    staff_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    staff_user: Mapped[User | None] = relationship()

    def __repr__(self) -> str:
        return f"<Channel {self.slug} {self.kind}>"


class ExternalIdentity(Timestamped, db.Model):
    """Someone on a channel. Their posts are authored by a shadow user until they link an account."""

    __tablename__ = "bridge_identities"
    __table_args__ = (UniqueConstraint("channel_id", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("bridge_channels.id", ondelete="CASCADE"))
    external_id: Mapped[str] = mapped_column(String(200))
    handle: Mapped[str] = mapped_column(String(200), default="")
    display_name: Mapped[str] = mapped_column(String(200), default="")
    shadow_user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    linked_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    linked_at: Mapped[datetime | None]
    last_inbound_at: Mapped[datetime | None]
    # Blocked by a moderator: its messages are kept for staff but make no threads and no acks.
    is_blocked: Mapped[bool] = mapped_column(default=False, server_default=false())

    channel: Mapped[Channel] = relationship()
    shadow_user: Mapped[User] = relationship(foreign_keys=[shadow_user_id])
    linked_user: Mapped[User | None] = relationship(foreign_keys=[linked_user_id])

    @property
    def author(self) -> User:
        """Who their posts are by: the linked forum account once proven, else the shadow user."""
        return self.linked_user or self.shadow_user


class LinkCode(Timestamped, db.Model):
    """A one-time code a member sends through a channel to prove an identity is theirs."""

    __tablename__ = "bridge_link_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()


class InboundMessage(db.Model):
    """One thing a channel told us: a message, an edit, a deletion, an echo or a status."""

    __tablename__ = "bridge_inbound"
    __table_args__ = (UniqueConstraint("channel_id", "external_id"),
                      Index("ix_bridge_inbound_conversation", "channel_id", "conversation"))

    id: Mapped[int] = mapped_column(primary_key=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("bridge_channels.id", ondelete="CASCADE"))
    # The channel's id for this event; with the channel, the de-duplication key.
    external_id: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(12))  # message, edit, delete, echo, status
    # Who sent it, as the channel said (external_id, handle, display_name, is_brand); intake
    # turns it into `identity`.
    author: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    identity_id: Mapped[int | None] = mapped_column(
        ForeignKey("bridge_identities.id", ondelete="SET NULL"))
    conversation: Mapped[str] = mapped_column(String(300), default="")
    # The message this one replies to or acts on (an edit's or deletion's original).
    reply_to: Mapped[str | None] = mapped_column(String(300))
    text: Mapped[str] = mapped_column(Text, default="")
    media: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # For status callbacks: sent, delivered, read, failed (the error goes in `text`).
    status: Mapped[str | None] = mapped_column(String(16))
    url: Mapped[str | None] = mapped_column(String(500))  # the message's public address
    # Channel details a reply needs (NormalizedMessage.extra), e.g. Mastodon visibility.
    extra: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    sent_at: Mapped[datetime]
    received_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    payload: Mapped[str] = mapped_column(Text, deferred=True)  # the raw delivery, as received
    # What became of it: thread (new), joined, staff_reply, edited, hidden, status, linked, ignored,
    # too_old (dated before the channel's message-age window: kept, never taken in), blocked
    # (its identity is blocked by a moderator: kept for staff, no thread and no acknowledgement),
    # held (a new shadow account's thread held by the spam checker; no acknowledgement).
    outcome: Mapped[str] = mapped_column(String(16), default="", index=True)
    error: Mapped[str] = mapped_column(Text, default="")  # why intake failed, for staff
    thread_id: Mapped[int | None] = mapped_column(ForeignKey("threads.id", ondelete="SET NULL"),
                                                  index=True)
    post_id: Mapped[int | None] = mapped_column(ForeignKey("posts.id", ondelete="SET NULL"))
    comment_id: Mapped[int | None] = mapped_column(ForeignKey("comments.id", ondelete="SET NULL"))

    channel: Mapped[Channel] = relationship()
    identity: Mapped[ExternalIdentity | None] = relationship()
    thread: Mapped[Thread | None] = relationship()


class OutboundMessage(Timestamped, db.Model):
    """The outbox: a reply we owe someone on a channel, sent by the worker exactly once."""

    __tablename__ = "bridge_outbox"
    __table_args__ = (Index("ix_bridge_outbox_due", "state", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("bridge_channels.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(8))  # ack, answer, notice
    idempotency_key: Mapped[str] = mapped_column(String(100), unique=True)
    inbound_id: Mapped[int] = mapped_column(ForeignKey("bridge_inbound.id", ondelete="CASCADE"))
    thread_id: Mapped[int | None] = mapped_column(ForeignKey("threads.id", ondelete="SET NULL"))
    post_id: Mapped[int | None] = mapped_column(ForeignKey("posts.id", ondelete="SET NULL"))
    text: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    external_id: Mapped[str | None] = mapped_column(String(300), index=True)
    last_error: Mapped[str] = mapped_column(Text, default="")

    channel: Mapped[Channel] = relationship()
    inbound: Mapped[InboundMessage] = relationship()
    thread: Mapped[Thread | None] = relationship()
    post: Mapped[Post | None] = relationship()
