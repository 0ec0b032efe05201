"""Posts held by the spam checker, and what moderators do with them.

A held post is hidden with `is_pending` set (a held question hides its thread too), so every
rule for hidden content keeps it from visitors and members (services/visibility.py: pages,
lists, search, live events, notifications) while its author and staff see it, marked. Nothing
was announced when it was posted: approving publishes it as if it had just been posted
(`thread.created` or `answer.created`, so search, followers and live pages hear of it then);
rejecting leaves it hidden with the moderator's reason.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import joinedload

from community.extensions import db
from community.models import Post, Thread, User
from community.models.base import MAX_ID
from community.services import audit, events, permissions, reputation
from community.services.errors import Conflict, NotFound
from community.services.moderation import spam
from community.services.moderation.reasons import optional_reason
from community.services.pagination import Page, decode_cursor, encode_cursor

REJECTED_REASON = "Rejected by a moderator as spam."


def is_held(post: Post) -> bool:
    return bool(post.is_pending and post.is_hidden)


def list_held(viewer: User | None, *, cursor: str | None = None, limit: int = 50) -> Page[Post]:
    """Held posts, oldest first. Staff may read; raises Forbidden, BadRequest (cursor)."""
    permissions.require(viewer, "moderation.read")
    query = (select(Post).where(Post.is_pending.is_(True), Post.is_hidden.is_(True))
             .options(joinedload(Post.author), joinedload(Post.thread))
             .order_by(Post.id).limit(limit + 1))
    if cursor:
        _, after = decode_cursor(cursor, "held", int)
        query = query.where(Post.id > after)
    rows = list(db.session.scalars(query))
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(rows, encode_cursor("held", rows[-1].id, rows[-1].id) if more else None)


def reasons(post: Post) -> tuple[str, ...]:
    """Why the checker would hold this post now (for the queue; scores are not stored)."""
    title = post.thread.title if post.is_question else ""
    return spam.assess(post.author, post.body_source, kind=post.kind, title=title,
                       exclude_post_id=post.id).reasons


def get_held(actor: User | None, post_id: int) -> Post:
    """A held post, for moderators; NotFound `post.not_found`, Conflict `post.not_held`."""
    permissions.require(actor, "moderation.act")
    post = db.session.get(Post, post_id) if 0 < post_id <= MAX_ID else None
    if post is None:
        raise NotFound("post.not_found", "No such post.")
    if not is_held(post):
        raise Conflict("post.not_held", "This post is not held for review.")
    return post


def approve(actor: User, post: Post) -> Post:
    """Publish a held post: visible to all, counted, announced. Moderators; raises Forbidden,
    Conflict `post.not_held`."""
    permissions.require(actor, "moderation.act", post)
    if not is_held(post):
        raise Conflict("post.not_held", "This post is not held for review.")
    thread = post.thread
    post.is_pending, post.is_hidden, post.hidden_reason = False, False, ""
    if post.is_question:
        thread.is_hidden, thread.hidden_reason = False, ""
        db.session.flush()
        events.publish("thread.created", thread_id=thread.id, post_id=post.id)
    else:
        # An increment in SQL, as add_answer does: answers may be posted meanwhile.
        db.session.execute(update(Thread).where(Thread.id == thread.id).values(
            answer_count=Thread.answer_count + 1).execution_options(synchronize_session=False))
        db.session.refresh(thread)
        thread.refresh_status()
        db.session.flush()
        reputation.award_for_answer(post)
        events.publish("answer.created", thread_id=thread.id, post_id=post.id)
    audit.record(actor, "post.approve", "post", post.id, before={"held": True},
                 after={"held": False})
    events.publish("post.approved", thread_id=thread.id, post_id=post.id)
    db.session.commit()
    return post


def reject(actor: User, post: Post, reason: str | None = None) -> Post:
    """Keep a held post hidden for good (its author sees the reason). Moderators; raises
    Forbidden, Conflict `post.not_held`, Invalid `reason.too_long`."""
    permissions.require(actor, "moderation.act", post)
    if not is_held(post):
        raise Conflict("post.not_held", "This post is not held for review.")
    reason = optional_reason(reason) or REJECTED_REASON
    post.is_pending, post.hidden_reason = False, reason
    if post.is_question:
        post.thread.hidden_reason = reason
    audit.record(actor, "post.reject", "post", post.id, reason=reason, before={"held": True},
                 after={"held": False, "hidden": True})
    events.publish("post.rejected", thread_id=post.thread_id, post_id=post.id)
    db.session.commit()
    return post
