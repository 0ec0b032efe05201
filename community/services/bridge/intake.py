"""Intake, one stored event at a time: a customer's message becomes a thread, a comment on their
thread or a link of their account; our own account's messages become staff answers; edits,
deletions and delivery receipts change what they are about.

Each message is taken in its own transaction. One that fails is marked `failed` with the error,
for staff, and does not stop the others.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime, timedelta

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from community.bridge import DELETE, ECHO, EDIT, MESSAGE, OTHER, STATUS, Author, adapter_class
from community.bridge.text import fit
from community.extensions import db
from community.models import (Channel, Comment, ExternalIdentity, InboundMessage, OutboundMessage,
                              Post, Thread, User)
from community.models.base import utcnow
from community.services import accounts, events, permissions, reputation, threads
from community.services.bridge.linking import LINK_RE, link_identity
from community.services.bridge.replies import acknowledgement, owe
from community.services.errors import Invalid
from community.services.moderation import spam
from community.services.retry import is_conflict, retry_on_conflict

# Status callbacks only move a reply forward.
_STATUS_ORDER = {"sent": 1, "delivered": 2, "read": 3, "played": 3}


def shadow_draft(channel: Channel, author: Author) -> accounts.ShadowDraft:
    """The shadow user a customer's posts are by until they link their account."""
    shown = author.display_name or author.handle or "customer"
    preferred = author.handle or author.display_name or "customer"
    hashed = hashlib.sha256(f"{channel.id}:{author.external_id}".encode()).hexdigest()[:20]
    return accounts.ShadowDraft(preferred, f"{channel.slug}.{hashed}@bridge.invalid",
                                suffix=f"-{channel.kind}", bio=f"{shown} on {channel.name}")


def identity_fields(row: InboundMessage, author: Author, user_id: int) -> dict:
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
                           else accounts.shadow_users([shadow_draft(channel, author)])[0])
                identity = ExternalIdentity(**identity_fields(row, author, user_id))
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
    if identity.is_blocked:  # kept for staff; no thread, no comment, no acknowledgement
        return "blocked"
    if author.is_suspended:
        return "ignored"
    code = LINK_RE.match(row.text)
    if code:
        return link_identity(row, code.group(1))
    body = body_of(row)
    if not body:
        return "ignored"
    thread = _conversation_thread(row)
    if thread is not None:
        limit = current_app.config["COMMENT_MAX"]
        comment = threads.add_comment(author, thread.question, fit(body, limit))
        row.thread_id, row.comment_id = thread.id, comment.id
        return "joined"
    title = title_of(row, identity.display_name or identity.handle)
    held = spam.screen(author, body, kind="bridge", title=title) is not None
    thread = threads.create_thread(author, title, body, [row.channel.kind],
                                   source_kind=row.channel.kind, source_url=row.url, held=held)
    reputation.award_for_question(thread.question)
    if held:  # kept for a moderator (services/moderation/held.py); no acknowledgement
        row.thread_id, row.post_id = thread.id, thread.question.id
        return "held"
    owe(_started(row, thread))
    return "thread"


def _started(row: InboundMessage, thread: Thread) -> dict:
    """The message started `thread`: record it; the acknowledgement the customer is owed."""
    row.thread_id, row.post_id = thread.id, thread.question.id
    return acknowledgement(row, row.identity.display_name or row.identity.handle, thread)


def acknowledge_approved(event: events.Event) -> None:
    """In the transaction that approves a question the spam checker held: owe its customer the
    acknowledgement their message did not get."""
    row = db.session.scalar(select(InboundMessage).where(
        InboundMessage.post_id == event.data["post_id"], InboundMessage.outcome == "held"))
    if row is not None and row.thread is not None:
        row.outcome = "thread"
        owe(acknowledgement(row, row.identity.display_name or row.identity.handle, row.thread))


def _staff_reply(row: InboundMessage) -> str:
    """Our own account wrote on the channel: an echo of a reply we sent, or a native staff reply."""
    if _is_our_send(row):
        return "echo"
    thread = _conversation_thread(row)
    body = body_of(row)
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


def _take_edit(row: InboundMessage) -> str:
    original = _original(row)
    if original is None or not body_of(row):
        return "ignored"
    editor = original.identity.author if original.identity else None
    if original.comment_id:
        threads.revise_comment(db.session.get(Comment, original.comment_id),
                               fit(body_of(row), current_app.config["COMMENT_MAX"]))
    elif original.post_id and editor is not None:
        post = db.session.get(Post, original.post_id)
        threads.revise(editor, post, body_of(row), summary=f"edited on {row.channel.name}")
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


_INTAKE = {MESSAGE: _take_message, ECHO: _staff_reply, EDIT: _take_edit, DELETE: _take_delete,
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


def body_of(row: InboundMessage) -> str:
    """The message as a post body: its text, then its media as links."""
    parts = [row.text] if row.text else []
    parts += [f"- [{item.get('type', 'file')}]({item['url']})" for item in row.media
              if str(item.get("url", "")).startswith(("http://", "https://"))]
    body = "\n\n".join(parts).strip()
    return fit(body, current_app.config["BODY_MAX"]) if body else ""


def title_of(row: InboundMessage, name: str) -> str:
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


def retry_intake(actor: User, row: InboundMessage) -> str:
    """Staff take in again a message whose intake failed (after fixing its cause)."""
    permissions.require(actor, "bridge.operate")
    if row.outcome != "failed":
        raise Invalid("outcome", "inbound.not_failed", "Only failed messages are taken in again.")
    return intake(row.id)
