"""Outbound webhooks: who wants which events (subscriptions), the event log that the pull feed
reads, and the deliveries owed to each subscription (a durable outbox, services/outbox.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, false, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from community.models.base import Timestamped, db, utcnow
from community.models.users import User

DELIVERY_STATES = ("pending", "sending", "delivered", "failed")


class WebhookSubscription(Timestamped, db.Model):
    """A target URL, the event types it wants (`*`: all) and the secret deliveries are signed
    with. The secret is kept as is: the server needs it to sign. After a rotation the previous
    secret signs too, until `previous_secret_expires_at`."""

    __tablename__ = "webhook_subscriptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(2000))
    events: Mapped[list[str]] = mapped_column(JSON, default=list)
    description: Mapped[str] = mapped_column(String(200), default="", server_default="")
    secret: Mapped[str] = mapped_column(String(100))
    previous_secret: Mapped[str | None] = mapped_column(String(100))
    previous_secret_expires_at: Mapped[datetime | None]
    is_enabled: Mapped[bool] = mapped_column(default=True, server_default=true())
    disabled_reason: Mapped[str] = mapped_column(Text, default="", server_default="")
    # When its deliveries started failing without a success since (None: healthy).
    failing_since: Mapped[datetime | None]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    created_by: Mapped[User | None] = relationship()

    def wants(self, event_type: str) -> bool:
        return "*" in self.events or event_type in self.events


class WebhookEvent(db.Model):
    """One thing that happened, as subscribers and the feed see it; kept EVENTS_RETENTION_DAYS."""

    __tablename__ = "webhook_events"
    __table_args__ = (Index("ix_webhook_events_created_at", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    type: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, nullable=False)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class WebhookDelivery(Timestamped, db.Model):
    """One event owed to one subscription: the outbox row and its log (last response)."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (Index("ix_webhook_deliveries_due", "state", "next_attempt_at"),
                      Index("ix_webhook_deliveries_subscription", "subscription_id", "id"),
                      # What holds back a subscription's later deliveries: one in flight, or
                      # one waiting for its retry (few rows either way).
                      Index("ix_webhook_deliveries_unsettled", "subscription_id", "state",
                            "next_attempt_at"),
                      Index("ix_webhook_deliveries_event_id", "event_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    subscription_id: Mapped[int] = mapped_column(
        ForeignKey("webhook_subscriptions.id", ondelete="CASCADE"))
    event_id: Mapped[int] = mapped_column(ForeignKey("webhook_events.id", ondelete="CASCADE"))
    state: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_at: Mapped[datetime | None]
    last_attempt_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]
    response_status: Mapped[int | None]
    response_body: Mapped[str] = mapped_column(Text, default="", server_default="")
    last_error: Mapped[str] = mapped_column(Text, default="", server_default="")
    is_test: Mapped[bool] = mapped_column(default=False, server_default=false())

    subscription: Mapped[WebhookSubscription] = relationship()
    event: Mapped[WebhookEvent] = relationship()
