"""The audit log: every staff, moderator and admin action, as rows that are only ever added.

Services that act for staff call `record` inside their own transaction, so an action and its
entry commit (or roll back) together. Nothing in the product updates or deletes an entry.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import select

from community.extensions import db
from community.models import AuditEntry, User
from community.services import permissions
from community.models.base import MAX_ID
from community.services.errors import Invalid
from community.services.pagination import Page, keyset_page


def record(actor: User | None, action: str, target_kind: str, target_id: int, *,
           reason: str = "", before: dict[str, Any] | None = None,
           after: dict[str, Any] | None = None) -> AuditEntry:
    """Add an entry to the current transaction (the caller commits). `actor` None: the system
    acted on its own rules (e.g. a post hidden by members' flags)."""
    entry = AuditEntry(actor_id=actor.id if actor is not None else None, action=action,
                       target_kind=target_kind, target_id=target_id, reason=reason,
                       before=before or {}, after=after or {})
    db.session.add(entry)
    return entry


def entries(viewer: User | None, *, actor_id: int | None = None, action: str | None = None,
            target_kind: str | None = None, target_id: int | None = None,
            since: datetime | None = None, until: datetime | None = None,
            cursor: str | None = None, limit: int = 50, command_line: bool = False) -> Page:
    """Entries newest first, filtered; moderators and admins only (`command_line`: the
    `community audit list` command, already trusted)."""
    if not command_line:
        permissions.require(viewer, "audit.read")
    query = select(AuditEntry)
    for column, value in ((AuditEntry.actor_id, actor_id), (AuditEntry.action, action),
                          (AuditEntry.target_kind, target_kind),
                          (AuditEntry.target_id, target_id)):
        if value is not None:
            query = query.where(column == value)
    if since is not None:
        query = query.where(AuditEntry.created_at >= since)
    if until is not None:
        query = query.where(AuditEntry.created_at < until)
    return keyset_page(query, "audit", AuditEntry.id, AuditEntry.id, cursor, limit, db.session)


def search(viewer: User | None, *, actor: str | None = None, action: str | None = None,
           target_kind: str | None = None, target_id: str | None = None,
           since: str | None = None, until: str | None = None, cursor: str | None = None,
           limit: int = 50, command_line: bool = False) -> Page:
    """`entries` with the filters as people type them (API query, the staff page, the CLI):
    `actor` is a user id or username (an unknown one matches nothing), dates are YYYY-MM-DD
    (`until` includes its day), `target_id` a number. Raises Forbidden, Invalid."""
    if not command_line:
        permissions.require(viewer, "audit.read")
    actor_id = None
    if actor and actor.strip():
        name = actor.strip()
        actor_id = (int(name) if name.isascii() and name.isdigit() and int(name) <= MAX_ID
                    else db.session.scalar(select(User.id).where(User.username == name)) or -1)
    number = None
    if target_id and target_id.strip():
        raw = target_id.strip()
        if not (raw.isascii() and raw.isdigit() and int(raw) <= MAX_ID):
            raise Invalid("target_id", "target_id.invalid", "target_id is a number.")
        number = int(raw)
    return entries(viewer, actor_id=actor_id, action=(action or "").strip() or None,
                   target_kind=(target_kind or "").strip() or None, target_id=number,
                   since=_day(since, "since"), until=_day(until, "until", end=True),
                   cursor=cursor, limit=limit, command_line=command_line)


def _day(raw: str | None, field: str, *, end: bool = False) -> datetime | None:
    if not raw or not raw.strip():
        return None
    try:
        day = datetime.strptime(raw.strip(), "%Y-%m-%d").replace(tzinfo=timezone.utc)
    except ValueError:
        raise Invalid(field, f"{field}.invalid", f"{field} is a date like 2026-11-23.") from None
    return day + timedelta(days=1) if end and day.year < 9999 else day
