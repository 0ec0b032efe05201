"""Settling a thread: accept an answer, staff endorsement, and the thread's best answer."""

from __future__ import annotations

from sqlalchemy import select

from community.extensions import db
from community.models import Post, Thread, User
from community.models.base import utcnow
from community.services import events, permissions
from community.services.errors import Invalid


def _lock(thread: Thread) -> Thread:
    """Re-read the thread row FOR UPDATE (PostgreSQL) so concurrent accepts queue up."""
    return db.session.scalars(
        select(Thread).where(Thread.id == thread.id).with_for_update()
        .execution_options(populate_existing=True)).one()


def _require_answer_of(thread: Thread, post: Post) -> None:
    if post.thread_id != thread.id or post.kind != "answer":
        raise Invalid("post_id", "accept.not_an_answer", "That post is not an answer in this thread.")
    if post.is_hidden:
        raise Invalid("post_id", "accept.hidden", "A hidden answer cannot be accepted.")


def accept(actor: User, thread: Thread, post: Post) -> Thread:
    """Mark `post` as the thread's accepted answer, replacing any other.

    The asker and staff may accept. Raises Forbidden or Invalid; accepting the answer that is
    already accepted changes nothing.
    """
    permissions.require(actor, "thread.accept", thread)
    _require_answer_of(thread, post)
    thread = _lock(thread)
    if thread.accepted_answer_id == post.id:
        return thread
    previous = thread.accepted_answer_id
    thread.accepted_answer_id = post.id
    thread.refresh_status()
    thread.last_activity_at = utcnow()
    events.publish("answer.accepted", thread_id=thread.id, post_id=post.id,
                   previous_post_id=previous)
    db.session.commit()
    return thread


def unaccept(actor: User, thread: Thread) -> Thread:
    """Clear the accepted answer. The asker and staff may. Raises Forbidden."""
    permissions.require(actor, "thread.accept", thread)
    thread = _lock(thread)
    previous = thread.accepted_answer_id
    if previous is None:
        return thread
    thread.accepted_answer_id = None
    thread.refresh_status()
    events.publish("answer.unaccepted", thread_id=thread.id, post_id=previous)
    db.session.commit()
    return thread


def endorse(actor: User, post: Post) -> Post:
    """Staff vouch for an answer. Raises Forbidden (members) or Invalid (not an answer)."""
    permissions.require(actor, "post.endorse", post)
    if post.kind != "answer":
        raise Invalid("post_id", "endorse.not_an_answer", "Only answers can be endorsed.")
    if post.endorsed_by_id is None:
        post.endorsed_by = actor
        post.endorsed_at = utcnow()
        db.session.flush()
        events.publish("answer.endorsed", thread_id=post.thread_id, post_id=post.id,
                       endorsed_by=actor.id)
        db.session.commit()
    return post


def unendorse(actor: User, post: Post) -> Post:
    """Withdraw an endorsement. Staff only. Raises Forbidden."""
    permissions.require(actor, "post.endorse", post)
    if post.endorsed_by_id is not None:
        post.endorsed_by = None
        post.endorsed_at = None
        events.publish("answer.unendorsed", thread_id=post.thread_id, post_id=post.id)
        db.session.commit()
    return post


def in_order(thread: Thread) -> list[Post]:
    """Answers as readers see them: the accepted one pinned first, then by score, then oldest."""
    return sorted(thread.answers, key=lambda post: (post.id != thread.accepted_answer_id,
                                                    -post.score, post.id))


def best_answer(thread: Thread) -> Post | None:
    """The accepted answer; else the staff-endorsed answer with the highest score; else None."""
    answers = [post for post in thread.answers if not post.is_hidden]
    for post in answers:
        if post.id == thread.accepted_answer_id:
            return post
    endorsed = [post for post in answers if post.endorsed_by_id is not None]
    return max(endorsed, key=lambda post: (post.score, -post.id), default=None)
