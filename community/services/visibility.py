"""Who may see what: a hidden thread, post or comment is for staff and its own author only (who
see it marked, with the moderator's reason). The one rule that every page, API response, live
update and profile applies before it shows another object's title or text (a thread deleted on
its social channel must not live on in someone's reputation history). Lists, search, live
events and notifications keep to the stricter staff-only rule."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, exists, true

from community.models import Comment, Notification, Post, Thread, User
from community.models.notifications import FLAG_OUTCOME_KINDS


def sees_hidden(viewer: User | None) -> bool:
    """Staff, moderators and admins see hidden content (to review it); nobody else does."""
    return bool(viewer is not None and viewer.is_authenticated and viewer.is_staff)


def is_public(thread: Thread, *items: Any) -> bool:
    """Every visitor may see the thread and each of `items` (posts, comments)."""
    return not thread.is_hidden and not any(getattr(item, "is_hidden", False) for item in items)


def _is_author(viewer: User | None, item: Any) -> bool:
    return bool(viewer is not None and viewer.is_authenticated
                and getattr(item, "author_id", None) == viewer.id)


def shows(viewer: User | None, item: Any) -> bool:
    """The viewer sees this one thread, post or comment: it is not hidden, or they are staff,
    or they wrote it (then the page marks it hidden and gives the reason)."""
    return not getattr(item, "is_hidden", False) or sees_hidden(viewer) or _is_author(viewer, item)


def can_see(viewer: User | None, thread: Thread, *items: Any) -> bool:
    return sees_hidden(viewer) or all(shows(viewer, item) for item in (thread, *items))


def visible_threads(viewer: User | None) -> ColumnElement[bool]:
    """The same rule as a WHERE clause on threads."""
    return true() if sees_hidden(viewer) else Thread.is_hidden.is_(False)


def readable_threads(viewer: User | None) -> ColumnElement[bool]:
    """Threads whose page the viewer may open: the visible ones and, hidden, their own."""
    if sees_hidden(viewer):
        return true()
    if viewer is None or not viewer.is_authenticated:
        return Thread.is_hidden.is_(False)
    return Thread.is_hidden.is_(False) | (Thread.author_id == viewer.id)


def visible_posts(viewer: User | None) -> ColumnElement[bool]:
    """The same rule on posts joined to their thread."""
    if sees_hidden(viewer):
        return true()
    return Post.is_hidden.is_(False) & Thread.is_hidden.is_(False)


def visible_notifications(viewer: User | None) -> ColumnElement[bool]:
    """Notifications whose thread and post the viewer may still see (one may have been hidden
    since the notification was written)."""
    if sees_hidden(viewer):
        return true()
    hidden = (exists().where(Thread.id == Notification.thread_id, Thread.is_hidden)
              | exists().where(Post.id == Notification.post_id, Post.is_hidden)
              | exists().where(Comment.id == Notification.comment_id, Comment.is_hidden))
    # A flag's outcome names no content (words.py leaves a hidden thread's title out).
    return ~hidden | Notification.kind.in_(FLAG_OUTCOME_KINDS)
