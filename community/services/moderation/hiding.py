"""Hiding and restoring posts, comments and threads, with a reason.

A hidden thread, answer or comment disappears for visitors and members at once (the rule is
services/visibility.py; search, the page cache and live pages follow the events published
here) and stays visible to staff and to its author, marked, with the reason. Hiding the question
post hides its thread: a thread without its question means nothing. A hidden answer stops
counting in `answer_count` (and so in the thread's status), as it never shows in the list.
Restoring also gives back reputation lost to an agreed spam or abuse flag on that content.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import update

from community.extensions import db
from community.models import Comment, Post, Thread, User
from community.models.base import MAX_ID
from community.services import audit, events, permissions, reputation, visibility
from community.services.errors import Conflict, NotFound
from community.services.moderation.reasons import optional_reason, required_reason

# Why content hidden by members' flags (flags.py) is hidden; dismissing those flags restores it.
AUTO_HIDE_REASON = "Hidden automatically after several members flagged it; pending review."

Target = Post | Comment | Thread


MODELS = {"post": Post, "comment": Comment, "thread": Thread}


def get_target(viewer: User | None, kind: str, target_id: int) -> Target:
    """The post, comment or thread the viewer may see (staff: hidden ones too); NotFound else."""
    item = db.session.get(MODELS[kind], target_id) if 0 < target_id <= MAX_ID else None
    items = [] if isinstance(item, (Thread, type(None))) else [item]
    if isinstance(item, Comment):
        items.insert(0, item.post)
    if item is None or not visibility.can_see(viewer, thread_of(item), *items):
        raise NotFound(f"{kind}.not_found", f"No such {kind}.")
    return item


def kind_of(target: Target) -> str:
    return {Post: "post", Comment: "comment", Thread: "thread"}[type(target)]


def thread_of(target: Target) -> Thread:
    if isinstance(target, Thread):
        return target
    return target.thread if isinstance(target, Post) else target.post.thread


def effective(target: Target) -> Target:
    """What hiding `target` hides: the thread for its question post, else the target itself."""
    if isinstance(target, Post) and target.is_question:
        return target.thread
    return target




def _state(target: Target) -> dict[str, Any]:
    return {"is_hidden": target.is_hidden, "hidden_reason": target.hidden_reason}


def _count_answer(post: Post, delta: int) -> None:
    """Move the thread's visible-answer count by `delta` (an SQL increment) and its status."""
    if post.kind != "answer":
        return
    thread = post.thread
    db.session.execute(update(Thread).where(Thread.id == thread.id).values(
        answer_count=Thread.answer_count + delta).execution_options(synchronize_session=False))
    db.session.refresh(thread, ["answer_count"])
    thread.refresh_status()


def _publish(name: str, target: Target) -> None:
    """`post.hidden`, `comment.restored`, ... with the thread id (search and cached pages
    follow it) and the ids the live pages need."""
    data: dict[str, Any] = {"thread_id": thread_of(target).id}
    if isinstance(target, Post):
        data["post_id"] = target.id
    elif isinstance(target, Comment):
        data.update(post_id=target.post_id, comment_id=target.id)
    events.publish(f"{kind_of(target)}.{name}", **data)


def apply_hide(actor: User | None, target: Target, reason: str) -> bool:
    """Hide `target` (the thread for a question post) in the current transaction, with an
    audit entry; `actor` None when members' flags hid it. False if it was hidden already.
    Shared with flags.py; flushes, never commits."""
    target = effective(target)
    if target.is_hidden:
        return False
    before = _state(target)
    if isinstance(target, Post):
        _count_answer(target, -1)
    target.is_hidden, target.hidden_reason = True, reason
    audit.record(actor, f"{kind_of(target)}.hide", kind_of(target), target.id, reason=reason,
                 before=before, after=_state(target))
    _publish("hidden", target)
    db.session.flush()
    return True


def apply_restore(actor: User | None, target: Target, reason: str = "") -> bool:
    """Show `target` again, with an audit entry, and give back an agreed flag's reputation
    penalty on it. False if it was not hidden. Shared with flags.py; flushes, never commits."""
    target = effective(target)
    if not target.is_hidden:
        return False
    before = _state(target)
    target.is_hidden, target.hidden_reason = False, ""
    if isinstance(target, Post):
        _count_answer(target, +1)
    undo_penalty(target)
    audit.record(actor, f"{kind_of(target)}.restore", kind_of(target), target.id,
                 reason=reason, before=before, after=_state(target))
    _publish("restored", target)
    db.session.flush()
    return True


def penalty_key(target: Target) -> tuple[int, str, int] | None:
    """(user, ledger kind, post) of the reputation an agreed spam/abuse flag costs; a comment's
    penalty is booked on its post (the ledger's rows name posts)."""
    if isinstance(target, Thread):
        target = target.question
    if isinstance(target, Post):
        return target.author_id, reputation.POST_FLAGGED_SPAM, target.id
    return target.author_id, reputation.COMMENT_FLAGGED_SPAM, target.post_id


def apply_penalty(target: Target) -> None:
    """Book the penalty once: a second agreement on the same content costs nothing more."""
    user_id, kind, post_id = penalty_key(target)
    if reputation.standing(user_id, kind, post_id, None) == 0:
        reputation.record(user_id, kind, post_id, None)


def undo_penalty(target: Target) -> None:
    user_id, kind, post_id = penalty_key(target)
    reputation.reverse(user_id, kind, post_id, None)


def hide(actor: User, target: Target, reason: Any) -> Target:
    """Hide a post, comment or thread (a question post: its thread). Moderators and admins.
    Raises Unauthorized, Forbidden (`moderator.required`) or Invalid (`reason.required`);
    hiding hidden content changes nothing."""
    permissions.require(actor, "moderation.act", target)
    apply_hide(actor, target, required_reason(reason))
    db.session.commit()
    return effective(target)


def restore(actor: User, target: Target, reason: Any = "") -> Target:
    """Show hidden content again. Moderators and admins. Raises Unauthorized, Forbidden, or
    Conflict `post.held` for a post held for review (approving it is what publishes it);
    restoring visible content changes nothing."""
    permissions.require(actor, "moderation.act", target)
    question = target.question if isinstance(target, Thread) else target
    if isinstance(question, Post) and question.is_pending:
        raise Conflict("post.held", "This post is held for review: approve or reject it in "
                                    "the held posts instead.")
    text = optional_reason(reason)
    apply_restore(actor, target, text)
    db.session.commit()
    return effective(target)
