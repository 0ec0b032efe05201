"""Who may see what: a hidden thread, post or comment is for staff only. The one rule that every
page, API response, live update and profile applies before it shows another object's title or
text (a thread deleted on its social channel must not live on in someone's reputation history)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, exists, true

from community.models import Notification, Post, Thread, User


def sees_hidden(viewer: User | None) -> bool:
    """Staff, moderators and admins see hidden content (to review it); nobody else does."""
    return bool(viewer is not None and viewer.is_authenticated and viewer.is_staff)


def is_public(thread: Thread, *items: Any) -> bool:
    """Every visitor may see the thread and each of `items` (posts, comments)."""
    return not thread.is_hidden and not any(getattr(item, "is_hidden", False) for item in items)


def can_see(viewer: User | None, thread: Thread, *items: Any) -> bool:
    return sees_hidden(viewer) or is_public(thread, *items)


def visible_threads(viewer: User | None) -> ColumnElement[bool]:
    """The same rule as a WHERE clause on threads."""
    return true() if sees_hidden(viewer) else Thread.is_hidden.is_(False)


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
              | exists().where(Post.id == Notification.post_id, Post.is_hidden))
    return ~hidden
