"""How a notification reads, and where it leads: the same words on the page, in the bell and
in email."""

from __future__ import annotations

from community.models import Notification
from community.services.links import thread_url

PHRASES = {
    "answer": "{actor} answered your question",
    "comment": "{actor} commented on your post in",
    "accepted": "{actor} accepted your answer to",
    "endorsed": "{actor} (staff) endorsed your answer to",
    "mention": "{actor} mentioned you in",
    "activity": "{actor} added to a thread you follow:",
}


def describe(item: Notification) -> str:
    actor = item.actor.username if item.actor is not None else "Someone"
    return f"{PHRASES[item.kind].format(actor=actor)} “{item.thread.title}”"


def target_url(item: Notification, *, external: bool = False) -> str:
    anchor = (f"comment-{item.comment_id}" if item.comment_id
              else f"post-{item.post_id}" if item.post_id else None)
    return thread_url(item.thread, anchor=anchor, external=external)
