"""What staff read of the bridge: messages channels sent us and replies we owe or sent."""

from __future__ import annotations

from sqlalchemy import select

from community.extensions import db
from community.models import InboundMessage, OutboundMessage, User
from community.models.base import MAX_ID
from community.models.bridge import OUTBOX_STATES
from community.services import permissions
from community.services.errors import Invalid, NotFound
from community.services.pagination import Page, keyset_page


def recent_inbound(actor: User, *, cursor: str | None = None, limit: int = 50) -> Page:
    """What channels sent us, newest first. Staff only."""
    permissions.require(actor, "bridge.view")
    return keyset_page(select(InboundMessage), "inbound", InboundMessage.id, InboundMessage.id,
                       cursor, limit, db.session)


def list_replies(actor: User, state: str | None = None, *, cursor: str | None = None,
                 limit: int = 50) -> Page:
    """Replies we owe or sent, newest first, optionally in one state. Staff only."""
    permissions.require(actor, "bridge.view")
    if state is not None and state not in OUTBOX_STATES:
        raise Invalid("state", "outbox.state", f"state is one of {', '.join(OUTBOX_STATES)}.")
    query = select(OutboundMessage)
    if state:
        query = query.where(OutboundMessage.state == state)
    return keyset_page(query, f"outbox:{state or ''}", OutboundMessage.id, OutboundMessage.id,
                       cursor, limit, db.session)


def get_reply(actor: User, reply_id: int) -> OutboundMessage:
    """One reply. Staff only; raises NotFound."""
    permissions.require(actor, "bridge.view")
    row = db.session.get(OutboundMessage, reply_id) if 0 < reply_id <= MAX_ID else None
    if row is None:
        raise NotFound("outbox.not_found", "No such reply.")
    return row


def get_inbound(actor: User, inbound_id: int) -> InboundMessage:
    """One inbound message. Staff only; raises NotFound."""
    permissions.require(actor, "bridge.view")
    row = db.session.get(InboundMessage, inbound_id) if 0 < inbound_id <= MAX_ID else None
    if row is None:
        raise NotFound("inbound.not_found", "No such message.")
    return row
