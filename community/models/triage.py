"""Triage: what the staff queue keeps per thread, and staff members' claims on threads."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.sql.expression import false

from community.models.base import db, utcnow
from community.models.threads import Thread
from community.models.users import User

# Why a thread waits for staff, strongest first (services/triage/state.py decides).
TRIAGE_KINDS = ("needs_staff", "reopened", "follow_up", "complaint", "question")


class TriageItem(db.Model):
    """A thread's place in the triage queue: open while it waits for staff, from
    `waiting_since`; listed once `due_at` has passed (web questions wait for the community
    first). Written only by services/triage/state.py, in the transaction that changed the thread."""

    __tablename__ = "triage_items"
    __table_args__ = (Index("ix_triage_items_open_waiting", "is_open", "waiting_since",
                            "thread_id"),)

    thread_id: Mapped[int] = mapped_column(ForeignKey("threads.id", ondelete="CASCADE"),
                                           primary_key=True)
    is_open: Mapped[bool] = mapped_column(default=False, server_default=false())
    kind: Mapped[str] = mapped_column(String(16), default="question")  # one of TRIAGE_KINDS
    source: Mapped[str] = mapped_column(String(32), default="web")  # the thread's source_kind
    waiting_since: Mapped[datetime] = mapped_column(default=utcnow)
    due_at: Mapped[datetime] = mapped_column(default=utcnow)
    # When the asker took back an accepted answer (a solved thread reopened).
    reopened_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    thread: Mapped[Thread] = relationship()


class TriageClaim(db.Model):
    """One staff member's claim on a thread ("I am on it"), at most one per thread (the primary
    key is the race guard); it lapses TRIAGE_CLAIM_MINUTES after `claimed_at`."""

    __tablename__ = "triage_claims"

    thread_id: Mapped[int] = mapped_column(ForeignKey("threads.id", ondelete="CASCADE"),
                                           primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    claimed_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship()
