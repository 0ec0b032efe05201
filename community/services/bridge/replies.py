"""What we owe customers on their channel: acknowledgements, notices and best answers, queued as
outbox rows in the transaction that calls for them (`sending.py` sends them); staff retry or
cancel them."""

from __future__ import annotations

from sqlalchemy import select

from community.bridge.text import fit, plain_text
from community.extensions import db
from community.models import InboundMessage, OutboundMessage, Post, Thread, User
from community.models.base import insert_new, utcnow
from community.models.bridge import OUTBOX_OPEN
from community.services import answers, audit, events, permissions, threads
from community.services.bridge.channels import adapter
from community.services.errors import Invalid
from community.services.links import thread_link

# The events after which a bridged thread's best answer may have changed (a thread closed as a
# duplicate, or merged, is answered by the thread it points at).
SETTLING_EVENTS = ("answer.accepted", "answer.unaccepted", "answer.endorsed",
                   "answer.unendorsed", "post.voted", "thread.closed", "thread.reopened",
                   "thread.merged", "post.hidden", "post.restored")


def reply_row(row: InboundMessage, kind: str, key: str,
              thread: Thread | threads.NewThread | None, post: Post | None, text: str) -> dict:
    """An outbox row replying to `row`; `key` makes it owed once, however often it is asked for."""
    return {"channel_id": row.channel_id, "kind": kind, "idempotency_key": key,
            "inbound_id": row.id, "thread_id": thread.id if thread else None,
            "post_id": post.id if post else None, "text": text, "state": "pending",
            "attempts": 0, "next_attempt_at": utcnow(), "last_error": "", "created_at": utcnow()}


def owe(*replies: dict) -> None:
    """Queue replies (`reply_row`); one whose idempotency key is already queued is left as it
    is. Flushes, never commits."""
    for reply_id in insert_new(db.session.connection(), OutboundMessage.__table__,
                               ("idempotency_key",), list(replies)):
        events.publish("outbox.queued", outbox_id=reply_id)


def notice(row: InboundMessage, text: str) -> dict:
    """A short notice to the sender of `row` (about linking), fitted to the channel."""
    channel = adapter(row.channel)
    return reply_row(row, "notice", f"notice:{row.id}", None, None,
                     fit(text, channel.limit, channel.measure))


def acknowledgement(row: InboundMessage, name: str,
                    thread: Thread | threads.NewThread) -> dict:
    """The reply owed for a message that started `thread`: thanks, and the thread's link."""
    channel = adapter(row.channel)
    greeting = f"Thanks{', ' + name if name else ''}! "
    return reply_row(row, "ack", f"ack:{row.id}", thread, None, fit(
        greeting + "Your question is now on our community, where our team and other customers "
        "can answer it. Follow it or add detail here:", channel.limit, channel.measure,
        link=thread_link(thread)))


def settle_answer(event: events.Event) -> None:
    """In the transaction that settles a bridged thread, owe its customer the best answer.

    A best answer that is replaced before it was sent is cancelled; one that already went out
    stays out (a new best answer is sent as well). Answers that came from the channel itself
    (a staff reply made there) are not echoed back.
    """
    thread_id = event.data["thread_id"]
    for origin in db.session.scalars(select(InboundMessage).where(
            InboundMessage.thread_id == thread_id, InboundMessage.outcome == "thread")):
        _settle(origin)
    # Customers whose threads were closed as duplicates of this one (or merged into it).
    pointing = select(Thread.id).where(Thread.duplicate_of_id == thread_id)
    pointing = pointing.union_all(select(Thread.id).where(Thread.merged_into_id == thread_id))
    for thread in db.session.scalars(select(Thread).where(Thread.id.in_(pointing))):
        for origin in db.session.scalars(select(InboundMessage).where(
                InboundMessage.thread_id == thread.id, InboundMessage.outcome == "thread")):
            _settle(origin)


def answered_by(thread: Thread) -> Thread:
    """The thread whose answers count for `thread`: the one it was merged into or closed as a
    duplicate of, else itself."""
    other_id = thread.merged_into_id or thread.duplicate_of_id
    return db.session.get(Thread, other_id) if other_id else thread


def _settle(origin: InboundMessage) -> None:
    thread = origin.thread
    source = answered_by(thread)
    best = answers.best_answer(source)
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
               channel.measure, link=thread_link(source))
    owe(reply_row(origin, "answer", f"answer:{thread.id}:{best.id}", thread, best, text))


def retry_reply(actor: User, reply: OutboundMessage) -> OutboundMessage:
    """Staff send a failed or held reply again, now. Raises Forbidden, Invalid."""
    permissions.require(actor, "bridge.operate")
    if reply.state not in ("failed", "held", "pending"):
        raise Invalid("state", "outbox.not_retryable", f"A {reply.state} reply cannot be retried.")
    audit.record(actor, "reply.retry", "reply", reply.id, before={"state": reply.state},
                 after={"state": "pending"})
    reply.state, reply.next_attempt_at, reply.last_error = "pending", utcnow(), ""
    events.publish("outbox.queued", outbox_id=reply.id)
    db.session.commit()
    return reply


def cancel_reply(actor: User, reply: OutboundMessage) -> OutboundMessage:
    """Staff decide a reply will not be sent. Raises Forbidden, Invalid."""
    permissions.require(actor, "bridge.operate")
    if reply.state not in OUTBOX_OPEN + ("failed",):
        raise Invalid("state", "outbox.not_cancellable", f"A {reply.state} reply cannot be cancelled.")
    audit.record(actor, "reply.cancel", "reply", reply.id, before={"state": reply.state},
                 after={"state": "cancelled"})
    reply.state = "cancelled"
    db.session.commit()
    return reply
