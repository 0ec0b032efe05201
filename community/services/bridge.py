"""The social bridge's rules: channels, receiving webhooks, turning messages into threads, and
owing replies (the outbox rows; `services/outbox.py` sends them).

A delivery is verified on its raw bytes, then every event in it is stored as an
`InboundMessage` in one commit: from then on it cannot be lost, and a repeat delivery of the
same external id stores nothing new. The webhook answers at once; each stored message then goes
through intake (on the intake thread, or inline) in its own transaction. One that fails is
marked `failed` with the error, for staff, and does not stop the others; one the process never
got to is picked up by the outbox worker (`intake_leftovers`).
"""

from __future__ import annotations

import functools
import hashlib
import re
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from time import monotonic

from flask import Flask, current_app
from sqlalchemy import Connection, bindparam, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError

from community.bridge import (
    DELETE,
    ECHO,
    EDIT,
    MESSAGE,
    OTHER,
    STATUS,
    Author,
    NormalizedMessage,
    PayloadError,
    SignatureError,
    WebhookRequest,
    adapter_class,
    adapter_for,
)
from community.bridge.text import fit, plain_text
from community.extensions import db
from community.models import (
    Channel,
    Comment,
    ExternalIdentity,
    InboundMessage,
    LinkCode,
    OutboundMessage,
    Post,
    Thread,
    User,
)
from community.models.base import MAX_ID, insert_rows, utcnow
from community.models.bridge import CHANNEL_KINDS, OUTBOX_OPEN, OUTBOX_STATES
from community.render import render_markdown
from community.services import (accounts, answers, background, events, permissions, reputation,
                                threads)
from community.services.errors import BadRequest, Invalid, NotFound, Unauthorized
from community.services.links import absolute, thread_link
from community.services.pagination import Page, keyset_page
from community.services.retry import is_conflict, retry_on_conflict
from community.services.text import clean_text

SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,39}$")
LINK_RE = re.compile(r"^\s*link\s+(\d{6})\s*$", re.IGNORECASE)
LINK_CODE_LIFETIME = timedelta(minutes=15)
# Status callbacks only move a reply forward.
_STATUS_ORDER = {"sent": 1, "delivered": 2, "read": 3, "played": 3}
KIND_LABELS = {"whatsapp": "WhatsApp", "messenger": "Messenger", "instagram": "Instagram",
               "telegram": "Telegram", "x": "X", "mastodon": "Mastodon", "generic": "Partner"}


# ---- channels ---------------------------------------------------------------------------

def add_channel(actor: User | None, kind: str, slug: str, settings: Mapping[str, str], *,
                name: str = "") -> Channel:
    """Configure a channel. Admins only; `actor=None` is the command line (already trusted).

    Raises Invalid for an unknown kind, a bad slug, missing or unknown settings; Conflict-like
    Invalid when the slug is taken.
    """
    if actor is not None:
        permissions.require(actor, "bridge.manage")
    if kind not in CHANNEL_KINDS:
        raise Invalid("kind", "channel.kind", f"Kind must be one of {', '.join(CHANNEL_KINDS)}.")
    slug = clean_text(slug).lower()
    if not SLUG_RE.fullmatch(slug):
        raise Invalid("slug", "channel.slug", "Slugs are 2 to 40 lower-case letters, digits or -.")
    if db.session.scalar(select(Channel.id).where(Channel.slug == slug)):
        raise Invalid("slug", "channel.slug_taken", "Another channel has that slug.")
    settings = _check_settings(kind, settings)
    label = clean_text(name) or f"{KIND_LABELS[kind]} ({slug})"
    staff = accounts.system_user(f"{slug}-team", role="staff",
                                 bio=f"Replies our team made directly on {label}.")
    channel = Channel(kind=kind, slug=slug, name=label[:100], settings=settings, staff_user=staff)
    db.session.add(channel)
    db.session.commit()
    return channel


def change_channel(actor: User | None, slug: str, *, settings: Mapping[str, str] | None = None,
                   enabled: bool | None = None) -> Channel:
    """Change a channel's settings (each one given replaces the stored value; an empty value
    removes an optional setting) and turn it off or on: rotate a leaked secret, point it at a new
    API, stop a channel taking webhooks. Admins only; `actor=None` is the command line.

    This process reads the channel afresh at its next webhook; other server processes within
    BRIDGE_CHANNEL_CACHE_SECONDS. Raises NotFound, and Invalid like `add_channel`.
    """
    if actor is not None:
        permissions.require(actor, "bridge.manage")
    channel = _channel_named(slug)
    if settings:
        merged = {**channel.settings, **settings}
        channel.settings = _check_settings(
            channel.kind, {name: value for name, value in merged.items() if value != ""})
    if enabled is not None:
        channel.is_enabled = enabled
    db.session.commit()
    forget_webhook_channels()
    return channel


def parse_settings(lines: str | Iterable[str]) -> dict[str, str]:
    """`name=value` lines (the admin page's text box, the CLI's repeated --setting)."""
    settings = {}
    lines = lines.splitlines() if isinstance(lines, str) else lines
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        name, sep, value = line.partition("=")
        if not sep or not name.strip():
            raise Invalid("settings", "channel.setting_format",
                          f"Setting {number} is not name=value.")
        settings[name.strip()] = value.strip()
    return settings


def _check_settings(kind: str, given: Mapping[str, str]) -> dict[str, str]:
    specs = {spec.name: spec for spec in adapter_class(kind).SETTINGS}
    unknown = sorted(set(given) - set(specs))
    if unknown:
        raise Invalid("settings", "channel.unknown_setting",
                      f"{kind} channels have no setting {', '.join(unknown)}; "
                      f"they take {', '.join(specs)}.")
    missing = [name for name, spec in specs.items() if spec.required and not given.get(name)]
    if missing:
        raise Invalid("settings", "channel.missing_setting",
                      f"{kind} channels need {', '.join(missing)}.")
    return {name: clean_text(str(value)) for name, value in given.items()}


def masked_settings(channel: Channel) -> dict[str, str]:
    """Settings fit to show back: secrets reduced to their last 4 characters."""
    secret = {spec.name for spec in adapter_class(channel.kind).SETTINGS if spec.secret}
    return {name: ("…" + value[-4:] if len(value) > 8 else "…") if name in secret else value
            for name, value in sorted(channel.settings.items())}


def webhook_link(channel: Channel) -> str:
    """Where the channel must send its webhooks."""
    return absolute("bridge.webhook", slug=channel.slug)


def adapter(channel: Channel):
    return adapter_for(channel.kind, channel.settings, channel.cursor)


# ---- receiving --------------------------------------------------------------------------

@dataclass(frozen=True)
class Receipt:
    received: int
    stored: int


_WEBHOOK_CHANNELS = "community.webhook_channels"  # slug -> (kept until, row, adapter)
_ENABLED_CHANNEL = (select(Channel.__table__.c.id, Channel.__table__.c.kind,
                           Channel.__table__.c.settings, Channel.__table__.c.cursor)
                    .where(Channel.__table__.c.slug == bindparam("slug"),
                           Channel.__table__.c.is_enabled.is_(True)))


def _webhook_channel(slug: str):
    """The enabled channel a webhook URL names, as a plain row, and its adapter.

    Kept for BRIDGE_CHANNEL_CACHE_SECONDS (1): a burst's deliveries skip a read each (a tenth
    of a webhook's time), and a channel changed by another process takes that long to apply
    here (`change_channel` forgets the kept rows of its own process). Unknown slugs are not
    kept, so a new channel works at once.
    """
    kept = current_app.extensions[_WEBHOOK_CHANNELS]
    now = monotonic()
    found = kept.get(slug)
    if found is None or found[0] <= now:
        with db.engine.connect() as connection:
            channel = connection.execute(_ENABLED_CHANNEL, {"slug": slug}).one_or_none()
        if channel is None:
            raise NotFound("channel.not_found", "No such channel.")
        found = kept[slug] = (now + current_app.config["BRIDGE_CHANNEL_CACHE_SECONDS"], channel,
                              adapter_for(channel.kind, channel.settings, channel.cursor))
    return found[1], found[2]


def forget_webhook_channels() -> None:
    """Read every channel afresh at its next webhook in this process (after a channel changed:
    `change_channel`, or a test emptying the database)."""
    current_app.extensions[_WEBHOOK_CHANNELS].clear()


def handshake(slug: str, args: Mapping[str, str]) -> str:
    """Answer a channel's subscription check (Meta's hub.challenge). Raises Forbidden-like 401."""
    answer = _webhook_channel(slug)[1].handshake(args)
    if answer is None:
        raise Unauthorized("bridge.handshake", "Verification token does not match.")
    return answer


def receive(slug: str, body: bytes, headers: Mapping[str, str],
            args: Mapping[str, str] | None = None) -> Receipt:
    """A webhook delivery: verify, store every event once, then have each new one taken in."""
    received, stored = _store_delivery(slug, body, dict(headers), dict(args or {}))
    _take_in(stored)
    return Receipt(received=received, stored=len(stored))


@retry_on_conflict
def _store_delivery(slug: str, body: bytes, headers: dict[str, str],
                    args: dict[str, str]) -> tuple[int, list[int]]:
    """The number of events a delivery holds and the ids of those new to us. Commits.

    On a connection of its own rather than the ORM session: the webhook is the hot path of a
    burst, and a session's set-up, commit and tear-down cost about as much as the INSERT.
    """
    channel, handler = _webhook_channel(slug)
    try:
        handler.verify(WebhookRequest(body, headers, args))
    except SignatureError as exc:
        raise Unauthorized("bridge.signature", f"Signature check failed: {exc}.") from None
    try:
        messages = handler.parse(body)
    except PayloadError as exc:
        raise BadRequest("bridge.payload", str(exc)) from None
    rows = _inbound_rows(channel.id, messages, body)
    with db.engine.begin() as connection:
        return len(messages), _insert_new(connection, InboundMessage,
                                          ["channel_id", "external_id"], rows)


def poll(channel: Channel) -> Receipt:
    """Fetch what a polling channel has for us (X mentions, Mastodon notifications)."""
    result = adapter(channel).poll()
    channel.cursor = dict(result.cursor)  # committed with the messages, by store()
    stored = store(channel.id, result.messages, result.raw)
    _take_in(stored)
    return Receipt(received=len(result.messages), stored=len(stored))


@retry_on_conflict
def store(channel_id: int, messages: Iterable[NormalizedMessage], raw: bytes | str) -> list[int]:
    """Keep each event not seen before, with the raw delivery; their ids, in order. Commits the
    session (with what else it holds, such as a polled channel's new cursor)."""
    stored = _insert_new(db.session.connection(), InboundMessage, ["channel_id", "external_id"],
                         _inbound_rows(channel_id, messages, raw))
    db.session.commit()
    return stored


def _inbound_rows(channel_id: int, messages: Iterable[NormalizedMessage],
                  raw: bytes | str) -> list[dict]:
    """The `InboundMessage` rows for a delivery's events, each with the raw delivery. Stored
    with INSERT ... ON CONFLICT DO NOTHING (`_insert_new`): a repeated delivery (or the same
    event twice in one batch, or a concurrent delivery of it) stores nothing new, without a read
    first."""
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
        "payload": payload, "outcome": "", "error": ""} for message in messages]


def _author_fields(author) -> dict[str, object] | None:
    if author is None:
        return None
    return {"external_id": author.external_id[:200], "handle": clean_text(author.handle)[:200],
            "display_name": clean_text(author.display_name)[:200], "is_brand": author.is_brand}


def _take_in(inbound_ids: list[int]) -> None:
    """Intake now (BRIDGE_INTAKE "inline") or on the intake thread, so the webhook answers fast."""
    if not inbound_ids:
        return
    if current_app.config["BRIDGE_INTAKE"] == "inline":
        intake_many(inbound_ids)
    else:
        current_app.extensions[_INTAKE_WORKER].submit(inbound_ids)


def taking_in_burst() -> bool:
    """True while this process is taking in a burst of deliveries."""
    return current_app.extensions[_INTAKE_WORKER].in_burst


def flush(timeout: float = 30.0) -> bool:
    """Wait until every stored message has been taken in (tests, benchmarks)."""
    return current_app.extensions[_INTAKE_WORKER].flush(timeout)


def intake_leftovers(older_than: timedelta = timedelta(minutes=1)) -> int:
    """Take in messages stored but never taken in (the process stopped in between)."""
    ids = db.session.scalars(select(InboundMessage.id).where(
        InboundMessage.outcome == "", InboundMessage.received_at < utcnow() - older_than)
        .order_by(InboundMessage.id).limit(500)).all()
    intake_many(ids)
    return len(ids)


def _shadow_draft(channel: Channel, author: Author) -> accounts.ShadowDraft:
    """The shadow user a customer's posts are by until they link their account."""
    shown = author.display_name or author.handle or "customer"
    preferred = author.handle or author.display_name or "customer"
    hashed = hashlib.sha256(f"{channel.id}:{author.external_id}".encode()).hexdigest()[:20]
    return accounts.ShadowDraft(preferred, f"{channel.slug}.{hashed}@bridge.invalid",
                                suffix=f"-{channel.kind}", bio=f"{shown} on {channel.name}")


def _identity_fields(row: InboundMessage, author: Author, user_id: int) -> dict:
    """A new identity for the author of `row`, whose posts `user_id` makes."""
    customer = row.kind == MESSAGE and not author.is_brand
    return {"channel_id": row.channel_id, "external_id": author.external_id,
            "handle": author.handle, "display_name": author.display_name,
            "last_inbound_at": row.sent_at if customer else None, "shadow_user_id": user_id}


def _identity(row: InboundMessage) -> ExternalIdentity | None:
    """The stored author's identity on the channel, created with a shadow user on first sight."""
    author = Author(**row.author) if row.author else None
    if author is None:
        return None
    channel = row.channel
    customer = row.kind == MESSAGE and not author.is_brand
    lookup = select(ExternalIdentity).where(ExternalIdentity.channel_id == channel.id,
                                            ExternalIdentity.external_id == author.external_id)
    identity = db.session.scalar(lookup)
    for _ in range(3):  # a concurrent intake may create the same identity (or user name)
        if identity is not None:
            break
        try:
            with db.session.begin_nested():
                user_id = (channel.staff_user_id if author.is_brand
                           else accounts.shadow_users([_shadow_draft(channel, author)])[0])
                identity = ExternalIdentity(**_identity_fields(row, author, user_id))
                db.session.add(identity)
        except IntegrityError:
            identity = db.session.scalar(lookup)
    if identity is None:
        raise RuntimeError(f"could not create an identity for {author.external_id!r}")
    identity.handle = author.handle or identity.handle
    identity.display_name = author.display_name or identity.display_name
    if customer:
        identity.last_inbound_at = max(filter(None, (identity.last_inbound_at, row.sent_at)))
    return identity


# ---- intake: one stored event at a time ----------------------------------------------------

def intake(inbound_id: int) -> str:
    """Turn a stored event into forum content; its outcome. Commits (failures are recorded)."""
    try:
        return _intake_once(inbound_id)
    except Exception as exc:  # recorded for staff, who can retry it from the bridge page
        db.session.rollback()
        if is_conflict(exc):  # still losing races after the retries: leave it for a later round
            current_app.logger.warning("bridge intake of %s postponed: %s", inbound_id, exc)
            return ""
        current_app.logger.exception("bridge intake of inbound message %s failed", inbound_id)
        db.session.execute(update(InboundMessage).where(InboundMessage.id == inbound_id)
                           .values(outcome="failed", error=f"{type(exc).__name__}: {exc}"[:2000]))
        db.session.commit()
        return "failed"


@retry_on_conflict
def _intake_once(inbound_id: int) -> str:
    # Claim the row with a write first: on PostgreSQL its lock makes a second intake of the same
    # message (the intake thread and a worker's leftovers pass) wait, then find it done; on
    # SQLite the transaction holds the write lock from its start, so the reads that follow can
    # never go stale before its writes.
    claimed = db.session.execute(
        update(InboundMessage)
        .where(InboundMessage.id == inbound_id, InboundMessage.outcome.in_(("", "failed")))
        .values(error="").execution_options(synchronize_session=False)).rowcount
    row = db.session.get(InboundMessage, inbound_id)
    if not claimed:
        db.session.rollback()
        return row.outcome if row else "missing"
    row.identity = _identity(row)
    outcome = _taken(row, _INTAKE[row.kind](row))
    db.session.commit()
    return outcome


def _taken(row: InboundMessage, outcome: str) -> str:
    row.outcome, row.error = outcome, ""
    events.publish("inbound.received", inbound_id=row.id, thread_id=row.thread_id,
                   channel=row.channel.slug, outcome=outcome)
    return outcome


def _take_message(row: InboundMessage) -> str:
    identity = row.identity
    author = identity.author
    if identity.shadow_user_id == row.channel.staff_user_id:
        return _staff_reply(row)
    if author.is_suspended:
        return "ignored"
    code = LINK_RE.match(row.text)
    if code:
        return _link_identity(row, code.group(1))
    body = _body_of(row)
    if not body:
        return "ignored"
    thread = _conversation_thread(row)
    if thread is not None:
        limit = current_app.config["COMMENT_MAX"]
        comment = threads.add_comment(author, thread.question, fit(body, limit))
        row.thread_id, row.comment_id = thread.id, comment.id
        return "joined"
    title = _title_of(row, identity.display_name or identity.handle)
    thread = threads.create_thread(author, title, body, [row.channel.kind],
                                   source_kind=row.channel.kind, source_url=row.url)
    reputation.award_for_question(thread.question)
    _owe(_started(row, thread))
    return "thread"


def _started(row: InboundMessage, thread: Thread) -> dict:
    """The message started `thread`: record it; the acknowledgement the customer is owed."""
    row.thread_id, row.post_id = thread.id, thread.question.id
    return _acknowledgement(row, row.identity.display_name or row.identity.handle, thread)


def _acknowledgement(row: InboundMessage, name: str, thread: Thread | threads.NewThread) -> dict:
    """The reply owed for a message that started `thread`: thanks, and the thread's link."""
    channel = adapter(row.channel)
    greeting = f"Thanks{', ' + name if name else ''}! "
    return _reply(row, "ack", f"ack:{row.id}", thread, None, fit(
        greeting + "Your question is now on our community, where our team and other customers "
        "can answer it. Follow it or add detail here:", channel.limit, channel.measure,
        link=thread_link(thread)))


def _staff_reply(row: InboundMessage) -> str:
    """Our own account wrote on the channel: an echo of a reply we sent, or a native staff reply."""
    if _is_our_send(row):
        return "echo"
    thread = _conversation_thread(row)
    body = _body_of(row)
    if thread is None or not body:
        return "ignored"
    post = threads.add_answer(row.channel.staff_user, thread, body)
    row.thread_id, row.post_id = thread.id, post.id
    return "staff_reply"


def _is_our_send(row: InboundMessage) -> bool:
    sent = select(OutboundMessage.id).where(OutboundMessage.channel_id == row.channel_id)
    if row.reply_to and db.session.scalar(sent.where(OutboundMessage.external_id == row.reply_to)):
        return True
    # Polled channels (X, Mastodon) show our sent reply itself, under the id the send returned.
    if db.session.scalar(sent.where(OutboundMessage.external_id == row.external_id)):
        return True
    # The echo can overtake the provider's answer to our send: match the text of a recent reply.
    recent = utcnow() - timedelta(minutes=10)
    return bool(db.session.scalar(sent.where(
        OutboundMessage.state.in_(("sending", "sent", "delivered", "read")),
        OutboundMessage.claimed_at >= recent,
        OutboundMessage.text == row.text)))


def _take_echo(row: InboundMessage) -> str:
    return _staff_reply(row)


def _take_edit(row: InboundMessage) -> str:
    original = _original(row)
    if original is None or not _body_of(row):
        return "ignored"
    editor = original.identity.author if original.identity else None
    if original.comment_id:
        threads.revise_comment(db.session.get(Comment, original.comment_id),
                               fit(_body_of(row), current_app.config["COMMENT_MAX"]))
    elif original.post_id and editor is not None:
        post = db.session.get(Post, original.post_id)
        threads.revise(editor, post, _body_of(row), summary=f"edited on {row.channel.name}")
    else:
        return "ignored"
    row.thread_id = original.thread_id
    return "edited"


def _take_delete(row: InboundMessage) -> str:
    original = _original(row)
    if original is None:
        return "ignored"
    if original.comment_id:
        db.session.get(Comment, original.comment_id).is_hidden = True
    elif original.post_id:
        post = db.session.get(Post, original.post_id)
        post.is_hidden = True
        if post.is_question:
            post.thread.is_hidden = True
    else:
        return "ignored"
    row.thread_id = original.thread_id
    events.publish("thread.updated", thread_id=original.thread_id)
    return "hidden"


def _take_status(row: InboundMessage) -> str:
    status = row.status
    if row.reply_to is None and isinstance((row.extra or {}).get("watermark"), int):
        return _take_watermark(row)
    reply = db.session.scalar(select(OutboundMessage).where(
        OutboundMessage.channel_id == row.channel_id, OutboundMessage.external_id == row.reply_to))
    if reply is None or status is None:
        return "ignored"
    if status == "failed":
        if reply.state not in ("read", "cancelled"):
            reply.state, reply.last_error = "failed", row.text or "the channel reported a failure"
    elif _STATUS_ORDER.get(status, 0) > _STATUS_ORDER.get(reply.state, 0):
        reply.state = "read" if status == "played" else status
    row.thread_id = reply.thread_id
    return "status"


def _take_watermark(row: InboundMessage) -> str:
    """A receipt that names no message, only a watermark (Messenger: epoch ms, "everything sent
    before this was delivered/read"): every reply in the conversation whose send began by then
    moves forward. The send's start is used because the channel stamps a message between our
    call and its answer."""
    upto = datetime.fromtimestamp(row.extra["watermark"] / 1000, UTC)
    replies = db.session.scalars(
        select(OutboundMessage).join(InboundMessage, OutboundMessage.inbound_id == InboundMessage.id)
        .where(OutboundMessage.channel_id == row.channel_id,
               InboundMessage.conversation == row.conversation,
               OutboundMessage.state.in_(("sent", "delivered")),
               OutboundMessage.claimed_at <= upto)
        .order_by(OutboundMessage.id)).all()
    moved = [reply for reply in replies
             if _STATUS_ORDER.get(row.status or "", 0) > _STATUS_ORDER.get(reply.state, 0)]
    for reply in moved:
        reply.state = row.status
    if not moved:
        return "ignored"
    row.thread_id = moved[-1].thread_id
    return "status"


def _take_other(row: InboundMessage) -> str:
    return "ignored"


_INTAKE = {MESSAGE: _take_message, ECHO: _take_echo, EDIT: _take_edit, DELETE: _take_delete,
           STATUS: _take_status, OTHER: _take_other}


def _original(row: InboundMessage) -> InboundMessage | None:
    """The message an edit or deletion is about."""
    if not row.reply_to:
        return None
    return db.session.scalar(select(InboundMessage).where(
        InboundMessage.channel_id == row.channel_id, InboundMessage.external_id == row.reply_to))


def _conversation_thread(row: InboundMessage) -> Thread | None:
    """The thread this message continues, if any: a reply to something of ours or the
    customer's, else (depending on the channel) the same conversation's thread."""
    found = None
    if row.reply_to:
        found = db.session.scalar(select(InboundMessage.thread_id).where(
            InboundMessage.channel_id == row.channel_id,
            InboundMessage.external_id == row.reply_to, InboundMessage.thread_id.is_not(None)))
        found = found or db.session.scalar(select(OutboundMessage.thread_id).where(
            OutboundMessage.channel_id == row.channel_id,
            OutboundMessage.external_id == row.reply_to))
    joins = adapter_class(row.channel.kind).joins_conversation
    if found is None and row.conversation and joins != "never":
        found = db.session.scalar(
            select(InboundMessage.thread_id).where(
                InboundMessage.channel_id == row.channel_id,
                InboundMessage.conversation == row.conversation,
                InboundMessage.thread_id.is_not(None), InboundMessage.id != row.id)
            .order_by(InboundMessage.id.desc()).limit(1))
        if found is not None and joins == "open":
            thread = db.session.get(Thread, found)
            window = timedelta(days=current_app.config["BRIDGE_CONVERSATION_DAYS"])
            if thread.is_solved or thread.last_activity_at < utcnow() - window:
                found = None
    thread = db.session.get(Thread, found) if found is not None else None
    if thread is None or thread.is_hidden or thread.is_locked:
        return None
    return thread


def _body_of(row: InboundMessage) -> str:
    """The message as a post body: its text, then its media as links."""
    parts = [row.text] if row.text else []
    parts += [f"- [{item.get('type', 'file')}]({item['url']})" for item in row.media
              if str(item.get("url", "")).startswith(("http://", "https://"))]
    body = "\n\n".join(parts).strip()
    return fit(body, current_app.config["BODY_MAX"]) if body else ""


def _title_of(row: InboundMessage, name: str) -> str:
    """The first sentence, cut to a readable length; a label naming the sender (`name`) when
    that is too short."""
    text = " ".join(row.text.split())
    first = re.split(r"(?<=[.!?؟。！？])\s", text, maxsplit=1)[0] if text else ""
    title = fit(first, 120)
    if len(title) < current_app.config["TITLE_MIN"]:
        who = name or "a customer"
        title = fit(f"{row.channel.name} message from {who}" + (f": {title}" if title else ""),
                    current_app.config["TITLE_MAX"])
    return title


# ---- intake in batches: a burst of new complaints -------------------------------------------

INTAKE_BATCH = 100


def intake_many(inbound_ids: list[int]) -> None:
    """Take in stored messages. A burst's complaints from customers new to the channel (most of
    it) are taken in together, one transaction and one flush per batch; every other message,
    and every message of a batch that failed, goes through `intake` one at a time, in order."""
    for start in range(0, len(inbound_ids), INTAKE_BATCH):
        chunk = inbound_ids[start:start + INTAKE_BATCH]
        try:
            rest = _intake_new_complaints(chunk)
        except Exception as exc:  # a race or a bad message: one at a time records which
            db.session.rollback()
            current_app.logger.warning("bridge batch intake fell back to one at a time: %r", exc)
            rest = chunk
        for inbound_id in rest:
            intake(inbound_id)


@retry_on_conflict
def _intake_new_complaints(inbound_ids: list[int]) -> list[int]:
    """Start a thread for each new customer's complaint among `inbound_ids`, in one transaction;
    the ids left for `intake`. Commits.

    What needs no write (finding the new complaints, titles, rendering) is done before the
    claim, which on SQLite takes the one write lock the webhooks also wait for. A message
    claimed meanwhile by another process sends the whole batch one at a time; an identity or
    user name created meanwhile fails the flush, with the same result.
    """
    rows = db.session.scalars(select(InboundMessage).where(
        InboundMessage.id.in_(inbound_ids), InboundMessage.outcome == "")
        .order_by(InboundMessage.id)).all()
    fresh = _new_complaints(rows)
    if not fresh:
        db.session.rollback()
        return inbound_ids
    authors = [Author(**row.author) for row in fresh]
    shadows = [_shadow_draft(row.channel, author) for row, author in zip(fresh, authors)]
    texts = [(_title_of(row, author.display_name or author.handle), _body_of(row))
             for row, author in zip(fresh, authors)]
    rendered = [render_markdown(body) for _, body in texts]
    claimed = db.session.scalars(
        update(InboundMessage)
        .where(InboundMessage.id.in_([row.id for row in fresh]), InboundMessage.outcome == "")
        .values(error="").returning(InboundMessage.id)
        .execution_options(synchronize_session=False)).all()
    if len(claimed) != len(fresh):
        db.session.rollback()
        return inbound_ids
    # Every row below goes in through Core, a statement per table for the batch (see
    # models.base.insert_rows); the loaded messages are only read.
    user_ids = accounts.shadow_users(shadows)
    identity_ids = insert_rows(db.session.connection(), ExternalIdentity.__table__, [
        _identity_fields(row, author, user_id)
        for row, author, user_id in zip(fresh, authors, user_ids)])
    created = threads.create_threads([
        threads.ThreadDraft(user_id, title, body, [row.channel.kind],
                            source_kind=row.channel.kind, source_url=row.url, body_html=html)
        for row, user_id, (title, body), html in zip(fresh, user_ids, texts, rendered)])
    reputation.award_for_questions([(user_id, thread.question_id)
                                    for user_id, thread in zip(user_ids, created)])
    _owe(*(_acknowledgement(row, author.display_name or author.handle, thread)
           for row, author, thread in zip(fresh, authors, created)))
    table = InboundMessage.__table__
    db.session.connection().execute(
        update(table).where(table.c.id == bindparam("row_id")).values(
            identity_id=bindparam("new_identity_id"), thread_id=bindparam("new_thread_id"),
            post_id=bindparam("new_post_id"), outcome="thread", error=""),
        [{"row_id": row.id, "new_identity_id": identity_id, "new_thread_id": thread.id,
          "new_post_id": thread.question_id}
         for row, identity_id, thread in zip(fresh, identity_ids, created)])
    for row, thread in zip(fresh, created):
        events.publish("inbound.received", inbound_id=row.id, thread_id=thread.id,
                       channel=row.channel.slug, outcome="thread")
    done = {row.id for row in fresh}  # read before the commit expires the rows
    db.session.commit()
    return [inbound_id for inbound_id in inbound_ids if inbound_id not in done]


def _new_complaints(rows: list[InboundMessage]) -> list[InboundMessage]:
    """The messages that start a thread by a customer the channel has not seen: a message with a
    body, replying to nothing, in no conversation that has a thread, sharing neither author nor
    conversation with an earlier message of the batch (those wait, to keep their order)."""
    seen: set[tuple[int, str, str]] = set()
    candidates = []
    for row in rows:
        who = (row.author or {}).get("external_id") or ""
        marks = {(row.channel_id, "author", who),
                 (row.channel_id, "conversation", row.conversation or f"#{row.id}")}
        if (row.kind == MESSAGE and who and not row.author.get("is_brand") and not row.reply_to
                and not marks & seen and not LINK_RE.match(row.text) and _body_of(row)):
            candidates.append(row)
        seen |= marks
    if not candidates:
        return []
    known = set(db.session.execute(
        select(ExternalIdentity.channel_id, ExternalIdentity.external_id)
        .where(ExternalIdentity.external_id.in_({row.author["external_id"]
                                                 for row in candidates}))))
    threaded = set(db.session.execute(
        select(InboundMessage.channel_id, InboundMessage.conversation)
        .where(InboundMessage.conversation.in_({row.conversation for row in candidates}),
               InboundMessage.thread_id.is_not(None))))
    return [row for row in candidates
            if (row.channel_id, row.author["external_id"]) not in known
            and (row.channel_id, row.conversation) not in threaded]


# ---- what we owe customers (outbox rows; services/outbox.py sends them) ---------------------

def _reply(row: InboundMessage, kind: str, key: str, thread: Thread | threads.NewThread | None,
           post: Post | None, text: str) -> dict:
    """An outbox row replying to `row`; `key` makes it owed once, however often it is asked for."""
    return {"channel_id": row.channel_id, "kind": kind, "idempotency_key": key,
            "inbound_id": row.id, "thread_id": thread.id if thread else None,
            "post_id": post.id if post else None, "text": text, "state": "pending",
            "attempts": 0, "next_attempt_at": utcnow(), "last_error": "", "created_at": utcnow()}


def _owe(*replies: dict) -> None:
    """Queue replies (`_reply`); one whose idempotency key is already queued is left as it is."""
    for reply_id in _insert_new(db.session.connection(), OutboundMessage, ["idempotency_key"],
                                list(replies)):
        events.publish("outbox.queued", outbox_id=reply_id)


def _insert_new(connection: Connection, model, unique: list[str], rows: list[dict]) -> list[int]:
    """INSERT ... ON CONFLICT (unique) DO NOTHING for each row: the new rows' ids, in order.

    Core (the ORM costs more than the row), the rows as parameters of one cached statement
    (SQLAlchemy batches them into multi-row INSERTs), not as a VALUES list compiled anew for
    every batch.
    """
    if not rows:
        return []
    return sorted(connection.scalars(_insert_new_statement(model, tuple(unique),
                                                           connection.dialect.name), rows))


@functools.cache
def _insert_new_statement(model, unique: tuple[str, ...], dialect: str):
    """Built once: SQLAlchemy caches a statement's compiled form by its structure, which it
    would otherwise work out again for every delivery."""
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    table = model.__table__
    return insert(table).on_conflict_do_nothing(index_elements=unique).returning(table.c.id)


def _settle_answer(event: events.Event) -> None:
    """In the transaction that settles a bridged thread, owe its customer the best answer.

    A best answer that is replaced before it was sent is cancelled; one that already went out
    stays out (a new best answer is sent as well). Answers that came from the channel itself
    (a staff reply made there) are not echoed back.
    """
    if event.name not in ("answer.accepted", "answer.unaccepted", "answer.endorsed",
                          "answer.unendorsed", "post.voted"):
        return
    origin = db.session.scalar(select(InboundMessage).where(
        InboundMessage.thread_id == event.data["thread_id"], InboundMessage.outcome == "thread"))
    if origin is None:
        return
    thread = origin.thread
    best = answers.best_answer(thread)
    if best is not None and db.session.scalar(select(InboundMessage.id).where(
            InboundMessage.post_id == best.id)):
        best = None
    for stale in db.session.scalars(select(OutboundMessage).where(
            OutboundMessage.thread_id == thread.id, OutboundMessage.kind == "answer",
            OutboundMessage.state.in_(("pending", "held")))):
        if best is None or stale.post_id != best.id:
            stale.state, stale.last_error = "cancelled", "no longer the best answer"
    if best is None:
        return
    channel = adapter(origin.channel)
    by = "our team" if best.author.is_staff else f"community member {best.author.username}"
    text = fit(f"Answer from {by}:\n\n{plain_text(best.body_html)}", channel.limit,
               channel.measure, link=thread_link(thread))
    _owe(_reply(origin, "answer", f"answer:{thread.id}:{best.id}", thread, best, text))


def retry(actor: User, reply: OutboundMessage) -> OutboundMessage:
    """Staff send a failed or held reply again, now. Raises Forbidden, Invalid."""
    permissions.require(actor, "bridge.operate")
    if reply.state not in ("failed", "held", "pending"):
        raise Invalid("state", "outbox.not_retryable", f"A {reply.state} reply cannot be retried.")
    reply.state, reply.next_attempt_at, reply.last_error = "pending", utcnow(), ""
    events.publish("outbox.queued", outbox_id=reply.id)
    db.session.commit()
    return reply


def cancel(actor: User, reply: OutboundMessage) -> OutboundMessage:
    """Staff decide a reply will not be sent. Raises Forbidden, Invalid."""
    permissions.require(actor, "bridge.operate")
    if reply.state not in OUTBOX_OPEN + ("failed",):
        raise Invalid("state", "outbox.not_cancellable", f"A {reply.state} reply cannot be cancelled.")
    reply.state = "cancelled"
    db.session.commit()
    return reply


def retry_intake(actor: User, row: InboundMessage) -> str:
    """Staff take in again a message whose intake failed (after fixing its cause)."""
    permissions.require(actor, "bridge.operate")
    if row.outcome != "failed":
        raise Invalid("outcome", "inbound.not_failed", "Only failed messages are taken in again.")
    return intake(row.id)


# ---- linking a channel identity to a forum account -----------------------------------------

def new_link_code(actor: User) -> str:
    """A one-time code the member sends us from their channel account ("LINK 123456")."""
    permissions.require(actor, "bridge.link")
    while True:
        code = f"{secrets.randbelow(10**6):06d}"
        digest = _code_hash(code)
        if not db.session.scalar(select(LinkCode.id).where(LinkCode.code_hash == digest)):
            break
    db.session.add(LinkCode(user_id=actor.id, code_hash=digest,
                            expires_at=utcnow() + LINK_CODE_LIFETIME))
    db.session.commit()
    return code


def _code_hash(code: str) -> str:
    return hashlib.sha256(f"{current_app.secret_key}:{code}".encode()).hexdigest()


def _link_identity(row: InboundMessage, code: str) -> str:
    claim = db.session.scalar(select(LinkCode).where(
        LinkCode.code_hash == _code_hash(code), LinkCode.used_at.is_(None),
        LinkCode.expires_at > utcnow()))
    channel = adapter(row.channel)
    if claim is None:
        _owe(_reply(row, "notice", f"notice:{row.id}", None, None, fit(
            "That code is not valid or has expired. Get a new one on your profile page.",
            channel.limit, channel.measure)))
        return "ignored"
    claim.used_at = utcnow()
    row.identity.linked_user_id, row.identity.linked_at = claim.user_id, utcnow()
    _owe(_reply(row, "notice", f"notice:{row.id}", None, None, fit(
        f"Done: this account is now linked to {claim.user.username} on our community.",
        channel.limit, channel.measure)))
    return "linked"


def linked_identities(user: User) -> list[ExternalIdentity]:
    return list(db.session.scalars(select(ExternalIdentity).where(
        ExternalIdentity.linked_user_id == user.id).order_by(ExternalIdentity.id)))


# ---- staff view ---------------------------------------------------------------------------

def recent_inbound(actor: User, *, cursor: str | None = None, limit: int = 50) -> Page:
    """What channels sent us, newest first. Staff only."""
    permissions.require(actor, "bridge.view")
    return keyset_page(select(InboundMessage), "inbound", InboundMessage.id, InboundMessage.id,
                       cursor, limit, db.session)


def outbox(actor: User, state: str | None = None, *, cursor: str | None = None,
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
    permissions.require(actor, "bridge.view")
    row = db.session.get(OutboundMessage, reply_id) if 0 < reply_id <= MAX_ID else None
    if row is None:
        raise NotFound("outbox.not_found", "No such reply.")
    return row


def get_inbound(actor: User, inbound_id: int) -> InboundMessage:
    permissions.require(actor, "bridge.view")
    row = db.session.get(InboundMessage, inbound_id) if 0 < inbound_id <= MAX_ID else None
    if row is None:
        raise NotFound("inbound.not_found", "No such message.")
    return row


def channels(actor: User | None) -> list[Channel]:
    if actor is not None:
        permissions.require(actor, "bridge.view")
    return list(db.session.scalars(select(Channel).order_by(Channel.slug)))


def get_channel(actor: User | None, slug: str) -> Channel:
    if actor is not None:
        permissions.require(actor, "bridge.view")
    return _channel_named(slug)


def _channel_named(slug: str) -> Channel:
    channel = db.session.scalar(select(Channel).where(Channel.slug == clean_text(slug).lower()))
    if channel is None:
        raise NotFound("channel.not_found", "No such channel.")
    return channel


_INTAKE_WORKER = "community.bridge_intake"


def init_app(app: Flask) -> None:
    events.subscribe(app, _settle_answer, in_transaction=True)
    app.extensions[_WEBHOOK_CHANNELS] = {}
    app.extensions[_INTAKE_WORKER] = background.Worker(
        app, "bridge-intake", _intake_gathered,
        gather_seconds=app.config["BRIDGE_INTAKE_GATHER_SECONDS"],
        gather_max_seconds=app.config["BRIDGE_INTAKE_GATHER_MAX_SECONDS"])


def _intake_gathered(deliveries: list[list[int]]) -> None:
    intake_many([inbound_id for stored in deliveries for inbound_id in stored])
