"""How users, threads, posts and comments look in JSON."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from community.services import answers, bridge, reputation, visibility
from community.services.reputation import rank_for
from community.services.links import link, thread_url, user_url


def timestamp(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def author(user) -> dict[str, Any]:
    return {"id": user.id, "username": user.username, "reputation": user.reputation,
            "rank": rank_for(user.reputation)}


def profile(user) -> dict[str, Any]:
    return {"id": user.id, "username": user.username, "role": user.role,
            "reputation": user.reputation, "rank": rank_for(user.reputation),
            "badges": [{"name": badge.name, "description": badge.description,
                        "awarded_at": timestamp(at)} for badge, at in reputation.badges_of(user)],
            "bio": user.bio, "created_at": timestamp(user.created_at),
            "url": user_url(user, external=True),
            "display_name": user.display_name, "bio_html": user.bio_html,
            "location": user.location, "website": user.website,
            "avatar_url": link("users.avatar", user_id=user.id, v=user.avatar_version or 0,
                               external=True)}


def own_profile(user) -> dict[str, Any]:
    """What a user sees of themselves: their profile plus their email and its state."""
    return {**profile(user), "email": user.email,
            "email_verified": user.email_verified_at is not None,
            "email_notifications": user.email_notifications}


def thread(item) -> dict[str, Any]:
    return {
        "id": item.id,
        "title": item.title,
        "url": thread_url(item, external=True),
        "tags": item.tag_names,
        "status": item.status,
        "score": item.score,
        "answer_count": item.answer_count,
        "accepted_answer_id": item.accepted_answer_id,
        "is_locked": item.is_locked,
        "locked_reason": item.locked_reason or None,
        "duplicate_of_id": item.duplicate_of_id,
        "merged_into_id": item.merged_into_id,
        "hidden": hidden(item),
        "author": author(item.author),
        "created_at": timestamp(item.created_at),
        "last_activity_at": timestamp(item.last_activity_at),
        "source": None if item.source_kind in ("web", "api") else {
            "channel": item.source_kind, "external_url": item.source_url},
    }


def hidden(item) -> dict[str, str] | None:
    """Why a moderator hid it; only staff and its author are ever sent hidden content."""
    return {"reason": item.hidden_reason} if item.is_hidden else None


def thread_detail(item, viewer=None) -> dict[str, Any]:
    """The thread with what `viewer` may see of it (no viewer: what every visitor sees)."""
    best = answers.best_answer(item)
    return {**thread(item), "best_answer_id": best.id if best else None,
            "question": post(item.question, viewer),
            "answers": [post(p, viewer) for p in answers.in_order(item)
                        if visibility.shows(viewer, p)]}


def post(item, viewer=None) -> dict[str, Any]:
    return {
        "id": item.id,
        "thread_id": item.thread_id,
        "kind": item.kind,
        "author": author(item.author),
        "body": item.body_source,
        "body_html": item.body_html,
        "score": item.score,
        "accepted": item.is_accepted,
        "endorsed": None if item.endorsed_by is None else {
            "by": author(item.endorsed_by), "at": timestamp(item.endorsed_at)},
        "created_at": timestamp(item.created_at),
        "edited_at": timestamp(item.edited_at),
        "hidden": hidden(item),
        "comments": [comment(c) for c in item.comments if visibility.shows(viewer, c)],
    }


def comment(item) -> dict[str, Any]:
    return {"id": item.id, "post_id": item.post_id, "author": author(item.author),
            "body": item.body_source, "body_html": item.body_html, "hidden": hidden(item),
            "created_at": timestamp(item.created_at)}


def revision(item) -> dict[str, Any]:
    return {"number": item.number, "editor": author(item.editor), "title": item.title,
            "tags": item.tags.split() if item.tags is not None else None,
            "body": item.body_source, "summary": item.summary,
            "created_at": timestamp(item.created_at)}


def vote(result, post) -> dict[str, Any]:
    return {"post_id": result.post_id, "thread_id": result.thread_id, "value": result.value,
            "score": result.score, "author": author(post.author)}


# ---- the social bridge, for staff ---------------------------------------------------------------

def channel(item) -> dict[str, Any]:
    return {"id": item.id, "kind": item.kind, "slug": item.slug, "name": item.name,
            "enabled": item.is_enabled, "settings": bridge.masked_settings(item),
            "webhook_url": bridge.webhook_link(item)}


def inbound(item) -> dict[str, Any]:
    identity = item.identity
    return {"id": item.id, "channel": item.channel.slug, "external_id": item.external_id,
            "kind": item.kind, "text": item.text, "media": item.media,
            "conversation": item.conversation, "reply_to": item.reply_to,
            "author": None if identity is None else {
                "identity_id": identity.id, "blocked": identity.is_blocked,
                "external_id": identity.external_id, "handle": identity.handle,
                "display_name": identity.display_name, "user": author(identity.author)},
            "outcome": item.outcome, "error": item.error or None, "thread_id": item.thread_id,
            "post_id": item.post_id, "comment_id": item.comment_id,
            "sent_at": timestamp(item.sent_at), "received_at": timestamp(item.received_at)}


def reply(item) -> dict[str, Any]:
    return {"id": item.id, "channel": item.channel.slug, "kind": item.kind,
            "idempotency_key": item.idempotency_key, "inbound_id": item.inbound_id,
            "thread_id": item.thread_id, "post_id": item.post_id, "text": item.text,
            "state": item.state, "attempts": item.attempts,
            "next_attempt_at": timestamp(item.next_attempt_at),
            "sent_at": timestamp(item.sent_at) if item.sent_at else None,
            "external_id": item.external_id, "last_error": item.last_error or None}


# ---- moderation: suspensions and blocked identities ----------------------------------------------

def suspension(user) -> dict[str, Any]:
    """A user's suspension as moderators see it; `until` null with `suspended` true: no end date."""
    indefinite = user.suspended_until is not None and user.suspended_until.year == 9999
    return {"user": author(user), "suspended": user.is_suspended,
            "until": None if indefinite or not user.is_suspended else timestamp(user.suspended_until),
            "indefinite": bool(indefinite and user.is_suspended),
            "reason": user.suspension_reason if user.is_suspended else ""}


def identity(item) -> dict[str, Any]:
    return {"id": item.id, "channel": item.channel.slug, "external_id": item.external_id,
            "handle": item.handle, "display_name": item.display_name,
            "blocked": item.is_blocked, "user": author(item.author)}


def audit_entry(item) -> dict[str, Any]:
    return {"id": item.id, "action": item.action,
            "actor": author(item.actor) if item.actor is not None else None,
            "target": {"kind": item.target_kind, "id": item.target_id}, "reason": item.reason,
            "before": item.before, "after": item.after, "created_at": timestamp(item.created_at)}


# ---- moderation: flags, the queue, hiding ---------------------------------------------------------

def _target(kind: str, item) -> dict[str, Any]:
    thread_item = item.thread if kind == "post" else item.post.thread if kind == "comment" else item
    return {"kind": kind, "id": item.id, "thread_id": thread_item.id}


def flag(item) -> dict[str, Any]:
    target = item.post if item.post_id is not None else item.comment
    return {"id": item.id, "target": _target(item.target_kind, target), "reason": item.reason,
            "detail": item.detail, "duplicate_of": item.duplicate_of_id,
            "flagger": author(item.flagger), "status": item.status, "outcome": item.outcome,
            "note": item.resolution_note, "created_at": timestamp(item.created_at),
            "resolved_at": timestamp(item.resolved_at)}


def queue_item(item) -> dict[str, Any]:
    """One flagged post or comment in the moderation queue (staff only)."""
    target, thread_item = item.target, item.thread
    return {"id": item.id, "status": item.status, "outcome": item.outcome,
            "target": {**_target(item.kind, target), "thread_title": thread_item.title,
                       "url": thread_url(thread_item, external=True,
                                         anchor=f"{item.kind}-{target.id}"),
                       "body": target.body_source, "body_html": target.body_html,
                       "author": author(target.author), "hidden": hidden(target)},
            "reasons": item.reasons, "flag_count": len(item.flags),
            "flags": [{"id": f.id, "reason": f.reason, "detail": f.detail,
                       "duplicate_of": f.duplicate_of_id, "flagger": author(f.flagger),
                       "created_at": timestamp(f.created_at)} for f in item.flags],
            "author_history": {"agreed_flags": item.history.agreed_flags,
                               "suspensions": item.history.suspensions,
                               "suspended_until": timestamp(item.history.suspended_until)}}


def moderated(item) -> dict[str, Any]:
    """A post, comment or thread after a moderator hid or restored it."""
    kind = {"Post": "post", "Comment": "comment", "Thread": "thread"}[type(item).__name__]
    return {"target": _target(kind, item), "hidden": hidden(item)}


def held_post(item, reasons=()) -> dict[str, Any]:
    """A post the spam checker held, as moderators review it (and after their decision)."""
    return {"post": post(item), "thread": {"id": item.thread_id, "title": item.thread.title},
            "held": bool(item.is_pending and item.is_hidden), "hidden": item.is_hidden,
            "hidden_reason": item.hidden_reason, "reasons": list(reasons)}
