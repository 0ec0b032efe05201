"""Receiving from channels: verify a webhook delivery (or poll a channel without push) and store
every event in it once, as an `InboundMessage`.

A delivery is verified on its raw bytes, then every event in it is stored in one commit: from
then on it cannot be lost, and a repeat delivery of the same external id stores nothing new.
The webhook answers at once; the stored ids are announced (`inbound.stored`) for intake, which
the workers run on the intake thread or inline (BRIDGE_INTAKE).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app

from community.bridge import (
    STATUS,
    Author,
    NormalizedMessage,
    PayloadError,
    SignatureError,
    WebhookRequest,
)
from community.extensions import db
from community.models import Channel, InboundMessage
from community.models.base import insert_new, utcnow
from community.services import events
from community.services.bridge.channels import adapter, webhook_channel
from community.services.errors import BadRequest, Unauthorized
from community.services.retry import retry_on_conflict
from community.services.text import clean_text, is_encodable

_INBOUND_KEY = ("channel_id", "external_id")
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Receipt:
    received: int
    stored: int


def handshake(slug: str, args: Mapping[str, str]) -> str:
    """Answer a channel's subscription check (Meta's hub.challenge). Raises Unauthorized."""
    answer = webhook_channel(slug)[1].handshake(args)
    if answer is None:
        raise Unauthorized("bridge.handshake", "Verification token does not match.")
    return answer


def receive(slug: str, body: bytes, headers: Mapping[str, str],
            args: Mapping[str, str] | None = None) -> Receipt:
    """A webhook delivery: verify, store every event once, then have each new one taken in.
    Raises NotFound (no such enabled channel), Unauthorized (signature), BadRequest (payload)."""
    received, stored = _store_delivery(slug, body, dict(headers), dict(args or {}))
    _announce(stored)
    return Receipt(received=received, stored=len(stored))


@retry_on_conflict
def _store_delivery(slug: str, body: bytes, headers: dict[str, str],
                    args: dict[str, str]) -> tuple[int, list[int]]:
    """The number of events a delivery holds and the ids of those new to us. Commits.

    On a connection of its own rather than the ORM session: the webhook is the hot path of a
    burst, and a session's set-up, commit and tear-down cost about as much as the INSERT.
    """
    channel, handler = webhook_channel(slug)
    try:
        handler.verify(WebhookRequest(body, headers, args))
    except SignatureError as exc:
        raise Unauthorized("bridge.signature", f"Signature check failed: {exc}.") from None
    try:
        messages = handler.parse(body)
    except PayloadError as exc:
        raise BadRequest("bridge.payload", str(exc)) from None
    except (AttributeError, TypeError, KeyError, IndexError, ValueError, RecursionError):
        # A shape the adapter did not expect (a number where an object goes): refused like any
        # delivery it cannot read, never a 500, and logged, since the adapter should have said.
        log.warning("channel %s: unreadable delivery refused", slug, exc_info=True)
        raise BadRequest("bridge.payload", "The body is not in the shape this channel sends.") \
            from None
    _refuse_poison(messages)
    cutoff = _too_old_before(handler)
    rows = _inbound_rows(channel.id, messages, body, cutoff)
    too_old = sum(1 for row in rows if row["outcome"])
    if too_old:
        log.info("channel %s: %d event(s) dated before %s kept, not taken in (too_old)", slug,
                 too_old, cutoff)
    with db.engine.begin() as connection:
        return len(messages), insert_new(connection, InboundMessage.__table__, _INBOUND_KEY,
                                         rows)


def poll(channel: Channel) -> Receipt:
    """Fetch what a polling channel has for us (X mentions, Mastodon notifications)."""
    result = adapter(channel).poll()
    channel.cursor = dict(result.cursor)  # committed with the messages, by store()
    stored = store(channel.id, result.messages, result.raw)
    _announce(stored)
    return Receipt(received=len(result.messages), stored=len(stored))


@retry_on_conflict
def store(channel_id: int, messages: Iterable[NormalizedMessage], raw: bytes | str) -> list[int]:
    """Keep each event not seen before, with the raw delivery; their ids, in order. Commits the
    session (with what else it holds, such as a polled channel's new cursor)."""
    stored = insert_new(db.session.connection(), InboundMessage.__table__, _INBOUND_KEY,
                        _inbound_rows(channel_id, messages, raw))
    db.session.commit()
    return stored


def _refuse_poison(messages: Iterable[NormalizedMessage]) -> None:
    """BadRequest for a delivery with a field that is not text, or an identifier holding a lone
    surrogate (JSON "\\ud800"), which no database stores. Identifiers are kept exactly as sent
    or not at all, so such a delivery is refused whole; free text is repaired (clean_text)."""
    for message in messages:
        author = message.author
        exact = [message.external_id, message.conversation, message.reply_to, message.status,
                 message.url, author.external_id if author else None,
                 *(value for item in message.media for value in item.values())]
        free = [message.text, message.error, *((author.handle, author.display_name)
                                               if author else ())]
        if not (all(isinstance(value, str) and is_encodable(value)
                    for value in exact if value is not None)
                and all(isinstance(value, str) for value in free if value is not None)):
            raise BadRequest("bridge.payload", f"event {str(message.external_id)[:100]!r} has "
                             "a field that is not text, or an id that is not valid Unicode")


def _announce(inbound_ids: list[int]) -> None:
    """Tell the workers what to take in, now that it is committed."""
    if inbound_ids:
        events.announce("inbound.stored", inbound_ids=inbound_ids)


def _too_old_before(handler) -> datetime | None:
    """Events dated before this are kept for staff as `too_old`, never taken in: WhatsApp and
    Meta redeliver for a few days at most, so an older event is a replay
    (BRIDGE_MAX_MESSAGE_AGE_HOURS; None on other channels, or when it is 0)."""
    return utcnow() - _max_age() if handler.ages_out and _max_age() else None


def _max_age() -> timedelta:
    return timedelta(hours=float(current_app.config["BRIDGE_MAX_MESSAGE_AGE_HOURS"] or 0))


def _inbound_rows(channel_id: int, messages: Iterable[NormalizedMessage],
                  raw: bytes | str, too_old_before: datetime | None = None) -> list[dict]:
    """The `InboundMessage` rows for a delivery's events, each with the raw delivery. Stored
    with INSERT ... ON CONFLICT DO NOTHING: a repeated delivery (or the same event twice in one
    batch, or a concurrent delivery of it) stores nothing new, without a read first. Events
    dated before `too_old_before` are stored already settled (`too_old`)."""
    payload = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    payload = payload.replace("\x00", "\ufffd")  # PostgreSQL text cannot hold NUL
    now = utcnow()
    return [{
        "channel_id": channel_id, "external_id": message.external_id[:300], "kind": message.kind,
        "conversation": message.conversation[:300],
        "reply_to": message.reply_to[:300] if message.reply_to else None,
        "author": _author_fields(message.author),
        "text": clean_text(message.error or "" if message.kind == STATUS else message.text),
        "status": (message.status or "")[:16] or None, "url": (message.url or "")[:500] or None,
        "sent_at": message.sent_at, "received_at": now,
        "media": [dict(item) for item in message.media], "extra": dict(message.extra),
        "payload": payload, "error": "",
        "outcome": "too_old" if too_old_before and message.sent_at < too_old_before else ""}
        for message in messages]


def _author_fields(author: Author | None) -> dict[str, object] | None:
    if author is None:
        return None
    return {"external_id": author.external_id[:200], "handle": clean_text(author.handle)[:200],
            "display_name": clean_text(author.display_name)[:200], "is_brand": author.is_brand}
