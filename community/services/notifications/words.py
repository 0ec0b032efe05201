"""How a notification reads, and where it leads: the same words on the page, in the bell and
in email."""

from __future__ import annotations

from community.models import Notification
from community.services.links import link, thread_url

PHRASES = {
    "answer": "{actor} answered your question",
    "comment": "{actor} commented on your post in",
    "accepted": "{actor} accepted your answer to",
    "endorsed": "{actor} (staff) endorsed your answer to",
    "mention": "{actor} mentioned you in",
    "activity": "{actor} added to a thread you follow:",
    "flag_agreed": "Moderators agreed with your flag in",
    "flag_dismissed": "Moderators looked at your flag and left the content as it was in",
}
# A flag's outcome on content hidden since: no title, and a link to the notifications page.
HIDDEN_PHRASES = {
    "flag_agreed": "Moderators agreed with your flag; the content is no longer shown.",
    "flag_dismissed": "Moderators looked at your flag and left the content as it was.",
}


def describe(item: Notification) -> str:
    if item.kind in HIDDEN_PHRASES and item.thread.is_hidden:
        return HIDDEN_PHRASES[item.kind]
    actor = item.actor.username if item.actor is not None else "Someone"
    return f"{PHRASES[item.kind].format(actor=actor)} “{item.thread.title}”"


def target_url(item: Notification, *, external: bool = False) -> str:
    if item.kind in HIDDEN_PHRASES and item.thread.is_hidden:
        return link("notifications.index", external=external)
    anchor = (f"comment-{item.comment_id}" if item.comment_id
              else f"post-{item.post_id}" if item.post_id else None)
    return thread_url(item.thread, anchor=anchor, external=external)
