"""Live updates: which rooms a viewer may join, and who may hear about a change.

Rooms: one per thread, a staff-only twin per thread for what only staff may see (hidden
threads, posts and comments), "lists" for the new-thread bar on list pages, "triage" for staff,
"moderation" for staff watching the flag queue, and one per user for their notifications. community/realtime.py asks these
functions before it lets a client into a room, and workers/live_updates.py before it sends
anything to one.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from community.extensions import db
from community.models import Thread, User
from community.models.base import MAX_ID
from community.services import permissions, visibility
from community.services.errors import Forbidden, Invalid, NotFound

LISTS = "lists"
TRIAGE = "triage"
MODERATION = "moderation"  # the flag queue, for staff (services/moderation/queue.py)
PUBLIC = "public"
STAFF = "staff"


def thread_room(thread_id: int) -> str:
    return f"thread:{thread_id}"


def staff_thread_room(thread_id: int) -> str:
    return f"thread:{thread_id}:staff"


def user_room(user_id: int) -> str:
    return f"user:{user_id}"


def _is_staff(viewer: User | None) -> bool:
    return bool(viewer is not None and viewer.is_authenticated and viewer.is_staff)


def rooms_to_join(viewer: User | None, target: Any) -> list[str]:
    """The rooms a `join` request asks for: `{"thread": id}`, `{"room": "lists"}` or
    `{"room": "triage"}`. Anyone may watch a visible thread and the lists; staff also watch
    hidden threads (and get the staff twin of every thread room) and the triage room.
    Raises Invalid for a malformed request, NotFound for a thread the viewer may not see,
    Forbidden for triage without a staff role.
    """
    if not isinstance(target, dict):
        raise Invalid("thread", "join.invalid", 'Send {"thread": id} or {"room": name}.')
    if "thread" in target:
        thread_id = target["thread"]
        if not isinstance(thread_id, int) or isinstance(thread_id, bool) or not 0 < thread_id <= MAX_ID:
            raise Invalid("thread", "thread.type", "thread is a thread id.")
        hidden = db.session.scalar(select(Thread.is_hidden).where(Thread.id == thread_id))
        staff = _is_staff(viewer)
        if hidden is None or (hidden and not staff):
            raise NotFound("thread.not_found", "No such thread.")
        rooms = [thread_room(thread_id)]
        return rooms + [staff_thread_room(thread_id)] if staff else rooms
    room = target.get("room")
    if room == LISTS:
        return [LISTS]
    if room == TRIAGE:
        if not _is_staff(viewer):
            raise Forbidden("staff.required", "Only staff see the triage queue.")
        return [TRIAGE]
    if room == MODERATION:
        permissions.require(viewer, "moderation.read")
        return [MODERATION]
    raise Invalid("room", "room.unknown", "room is lists, triage or moderation.")


def audience(thread: Thread, *items: Any) -> str:
    """PUBLIC when every member may see the thread and each of `items` (posts, comments),
    else STAFF: a hidden thread, post or comment is only ever sent to staff."""
    return PUBLIC if visibility.is_public(thread, *items) else STAFF


def room_for(thread: Thread, *items: Any) -> str:
    """The room a change to `thread` (and `items`) goes to."""
    if audience(thread, *items) == PUBLIC:
        return thread_room(thread.id)
    return staff_thread_room(thread.id)
