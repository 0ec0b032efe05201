"""Moderators act on whole threads: lock and unlock, close as a duplicate and reopen, merge.

Each use-case checks `moderation.act` first, changes the thread, writes an audit entry with the
thread's state before and after, publishes its event (search, cached pages and the bridge
follow it) and commits once.

Merging moves the answers (with their comments, votes, endorsements and reputation) and the
comments on the question into the target thread. The merged thread keeps only its question, as
a record: it leaves lists and search, nobody can answer or vote there any more, and its address
redirects to the target. Acceptance does not move (the target's asker did not choose it), but
the points it earned stay with their owners.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select, update

from community.extensions import db
from community.models import Comment, Post, Thread, User
from community.models.base import MAX_ID, utcnow
from community.services import audit, events, permissions
from community.services.errors import Conflict, Invalid, NotFound
from community.services.moderation.reasons import required_reason


def _thread(thread_id: int, *, field: str | None = None) -> Thread:
    """A thread by id (moderators see hidden ones); a merged thread is no longer acted on."""
    thread = db.session.get(Thread, thread_id) if 0 < thread_id <= MAX_ID else None
    if thread is None:
        if field:
            raise Invalid(field, f"{field}.not_found", "No such thread.")
        raise NotFound("thread.not_found", "No such thread.")
    if thread.merged_into_id is not None and field is None:
        raise Conflict("thread.merged", f"This thread was merged into #{thread.merged_into_id}.")
    return thread


def state(thread: Thread) -> dict[str, Any]:
    """What the audit log keeps of a thread, before and after an action."""
    return {"is_locked": thread.is_locked, "locked_reason": thread.locked_reason,
            "duplicate_of_id": thread.duplicate_of_id, "merged_into_id": thread.merged_into_id,
            "answer_count": thread.answer_count, "status": thread.status,
            "accepted_answer_id": thread.accepted_answer_id}


def _done(actor: User, action: str, thread: Thread, before: dict[str, Any], event: str,
          reason: str = "", **data: Any) -> Thread:
    db.session.flush()
    audit.record(actor, action, "thread", thread.id, reason=reason, before=before,
                 after=state(thread))
    events.publish(event, thread_id=thread.id, actor_id=actor.id, **data)
    db.session.commit()
    return thread


def lock(actor: User, thread_id: int, reason: str | None) -> Thread:
    """No new answers, comments or votes; the page says why. Raises Forbidden, NotFound,
    Invalid, Conflict (already locked)."""
    permissions.require(actor, "moderation.act")
    thread = _thread(thread_id)
    reason = required_reason(reason)
    if thread.is_locked:
        raise Conflict("thread.already_locked", "This thread is already locked.")
    before = state(thread)
    thread.is_locked, thread.locked_reason = True, reason
    return _done(actor, "thread.lock", thread, before, "thread.locked", reason)


def unlock(actor: User, thread_id: int) -> Thread:
    """Open a locked thread again. Raises Forbidden, NotFound, Conflict (not locked)."""
    permissions.require(actor, "moderation.act")
    thread = _thread(thread_id)
    if not thread.is_locked:
        raise Conflict("thread.not_locked", "This thread is not locked.")
    before = state(thread)
    thread.is_locked, thread.locked_reason = False, ""
    return _done(actor, "thread.unlock", thread, before, "thread.unlocked")


def _original(thread: Thread, original_id: int, field: str) -> Thread:
    """The thread `thread` is closed into or merged into: visible, another, not closed itself."""
    original = _thread(original_id, field=field)
    if original.id == thread.id:
        raise Invalid(field, f"{field}.self", "A thread cannot point at itself.")
    if original.is_hidden:
        raise Invalid(field, f"{field}.hidden", "That thread is hidden.")
    if original.merged_into_id is not None:
        raise Invalid(field, f"{field}.merged",
                      f"That thread was merged into #{original.merged_into_id}; use that one.")
    if original.duplicate_of_id == thread.id:
        raise Invalid(field, f"{field}.cycle", "That thread is closed as a duplicate of this one.")
    if original.duplicate_of_id is not None:
        raise Invalid(field, f"{field}.closed",
                      f"That thread is itself a duplicate of #{original.duplicate_of_id}.")
    return original


def close_as_duplicate(actor: User, thread_id: int, original_id: int) -> Thread:
    """Close a thread as a duplicate of `original_id`: a banner links to the original, search
    shows only the original, and a bridged customer is owed the original's best answer.
    Raises Forbidden, NotFound, Invalid (`of`), Conflict (already closed)."""
    permissions.require(actor, "moderation.act")
    thread = _thread(thread_id)
    original = _original(thread, original_id, "of")
    if thread.duplicate_of_id is not None:
        raise Conflict("thread.already_closed",
                       f"This thread is already closed as a duplicate of #{thread.duplicate_of_id}.")
    before = state(thread)
    thread.duplicate_of_id = original.id
    return _done(actor, "thread.close", thread, before, "thread.closed", duplicate_of=original.id)


def reopen(actor: User, thread_id: int) -> Thread:
    """Undo a duplicate closing. Raises Forbidden, NotFound, Conflict (not closed)."""
    permissions.require(actor, "moderation.act")
    thread = _thread(thread_id)
    if thread.duplicate_of_id is None:
        raise Conflict("thread.not_closed", "This thread is not closed.")
    before = state(thread)
    thread.duplicate_of_id = None
    return _done(actor, "thread.reopen", thread, before, "thread.reopened")


def merge(actor: User, thread_id: int, target_id: int) -> Thread:
    """Move a thread's answers and comments into `target_id` and redirect it there (see the
    module docstring); returns the target. Raises Forbidden, NotFound, Invalid (`into`)."""
    permissions.require(actor, "moderation.act")
    thread = _thread(thread_id)
    target = _original(thread, target_id, "into")
    before, target_before = state(thread), state(target)
    question_id = thread.question.id
    moved = db.session.execute(
        update(Post).where(Post.thread_id == thread.id, Post.kind == "answer")
        .values(thread_id=target.id).execution_options(synchronize_session=False)).rowcount
    db.session.execute(update(Comment).where(Comment.post_id == question_id)
                       .values(post_id=target.question.id)
                       .execution_options(synchronize_session=False))
    # Threads pointing at the merged one point at the target instead (no chains of redirects).
    for column in (Thread.duplicate_of_id, Thread.merged_into_id):
        db.session.execute(update(Thread).where(column == thread.id, Thread.id != target.id)
                           .values({column: target.id}).execution_options(
                               synchronize_session=False))
    counted = db.session.scalar(select(func.count()).select_from(Post).where(
        Post.thread_id == target.id, Post.kind == "answer", Post.is_hidden.is_(False),
        Post.is_pending.is_(False)))
    db.session.expire_all()
    thread, target = db.session.get(Thread, thread_id), db.session.get(Thread, target_id)
    thread.merged_into_id, thread.duplicate_of_id = target.id, None
    thread.answer_count, thread.accepted_answer_id = 0, None
    thread.refresh_status()
    target.answer_count = counted
    target.refresh_status()
    target.last_activity_at = utcnow()
    db.session.flush()
    audit.record(actor, "thread.merge", "thread", thread.id, reason=f"merged into #{target.id}",
                 before={**before, "target": target_before},
                 after={**state(thread), "target": state(target), "moved_answers": moved})
    events.publish("thread.merged", thread_id=thread.id, actor_id=actor.id, into=target.id)
    events.publish("thread.updated", thread_id=target.id)
    db.session.commit()
    return target
