"""Settling a thread: accept an answer, staff endorsement, and the thread's best answer."""

from __future__ import annotations

from sqlalchemy import update

from community.extensions import db
from community.models import Post, Thread, User
from community.models.base import utcnow
from community.services import audit, events, permissions, reputation
from community.services.errors import Invalid
from community.services.retry import LostRace, retry_on_conflict


def _require_answer_of(thread: Thread, post: Post) -> None:
    if post.thread_id != thread.id or post.kind != "answer":
        raise Invalid("post_id", "accept.not_an_answer", "That post is not an answer in this thread.")
    if post.is_hidden:
        raise Invalid("post_id", "accept.hidden", "A hidden answer cannot be accepted.")


def _swap_accepted(thread: Thread, old: int | None, new: int | None) -> None:
    """Compare-and-set the accepted answer; LostRace if another request changed it first."""
    values = {"accepted_answer_id": new, "status": Thread.status_for(new, thread.answer_count)}
    if new is not None:
        values["last_activity_at"] = utcnow()
    result = db.session.execute(
        update(Thread).where(Thread.id == thread.id,
                             Thread.accepted_answer_id.is_not_distinct_from(old))
        .values(**values).execution_options(synchronize_session=False))
    if result.rowcount != 1:
        raise LostRace()
    db.session.expire(thread, ["accepted_answer_id", "status", "last_activity_at"])


def _acceptance_points(thread: Thread, post: Post, *, undo: bool) -> None:
    """+15 to the answerer and +2 to the asker, except when askers accept their own answer."""
    if post.author_id == thread.author_id:
        return
    if undo:
        reputation.reverse(post.author_id, reputation.ANSWER_ACCEPTED, post.id, None)
        reputation.reverse(thread.author_id, reputation.ACCEPTED_BY_ASKER, post.id, None)
    else:
        reputation.record(post.author_id, reputation.ANSWER_ACCEPTED, post.id, None)
        reputation.record(thread.author_id, reputation.ACCEPTED_BY_ASKER, post.id, None)


@retry_on_conflict
def accept(actor: User, thread: Thread, post: Post) -> Thread:
    """Mark `post` as the thread's accepted answer, replacing any other.

    The asker and staff may accept. Points go to the answerer and the asker (none for a
    self-accept); moving the acceptance reverses them exactly. Raises Forbidden or Invalid;
    accepting the answer that is already accepted changes nothing.
    """
    permissions.require(actor, "thread.accept", thread)
    _require_answer_of(thread, post)
    previous_id = thread.accepted_answer_id
    if previous_id == post.id:
        return thread
    _swap_accepted(thread, previous_id, post.id)
    if previous_id is not None:
        _acceptance_points(thread, db.session.get(Post, previous_id), undo=True)
    _acceptance_points(thread, post, undo=False)
    reputation.award_for_acceptance(thread, post)
    events.publish("answer.accepted", thread_id=thread.id, post_id=post.id,
                   previous_post_id=previous_id, actor_id=actor.id)
    db.session.commit()
    return thread


@retry_on_conflict
def unaccept(actor: User, thread: Thread) -> Thread:
    """Clear the accepted answer, reversing its points. The asker and staff may. Raises Forbidden."""
    permissions.require(actor, "thread.accept", thread)
    previous_id = thread.accepted_answer_id
    if previous_id is None:
        return thread
    _swap_accepted(thread, previous_id, None)
    _acceptance_points(thread, db.session.get(Post, previous_id), undo=True)
    events.publish("answer.unaccepted", thread_id=thread.id, post_id=previous_id)
    db.session.commit()
    return thread


def _swap_endorsement(post: Post, old: int | None, new: int | None) -> None:
    result = db.session.execute(
        update(Post).where(Post.id == post.id, Post.endorsed_by_id.is_not_distinct_from(old))
        .values(endorsed_by_id=new, endorsed_at=utcnow() if new else None)
        .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        raise LostRace()
    db.session.expire(post, ["endorsed_by_id", "endorsed_at", "endorsed_by"])


@retry_on_conflict
def endorse(actor: User, post: Post) -> Post:
    """Staff vouch for an answer (+10 to its author). Raises Forbidden or Invalid."""
    permissions.require(actor, "post.endorse", post)
    if post.kind != "answer":
        raise Invalid("post_id", "endorse.not_an_answer", "Only answers can be endorsed.")
    if post.endorsed_by_id is None:
        _swap_endorsement(post, None, actor.id)
        audit.record(actor, "post.endorse", "post", post.id, before={"endorsed_by_id": None},
                     after={"endorsed_by_id": actor.id})
        reputation.record(post.author_id, reputation.ANSWER_ENDORSED, post.id, None)
        reputation.award_for_endorsement(post)
        events.publish("answer.endorsed", thread_id=post.thread_id, post_id=post.id,
                       endorsed_by=actor.id)
        db.session.commit()
    return post


@retry_on_conflict
def unendorse(actor: User, post: Post) -> Post:
    """Withdraw an endorsement and its points. Staff only. Raises Forbidden."""
    permissions.require(actor, "post.endorse", post)
    previous = post.endorsed_by_id
    if previous is not None:
        _swap_endorsement(post, previous, None)
        audit.record(actor, "post.unendorse", "post", post.id,
                     before={"endorsed_by_id": previous}, after={"endorsed_by_id": None})
        reputation.reverse(post.author_id, reputation.ANSWER_ENDORSED, post.id, None)
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
