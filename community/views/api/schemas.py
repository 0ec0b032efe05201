"""How users, threads, posts and comments look in JSON."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from community.services import answers, bridge, reputation
from community.services.reputation import rank_for
from community.services.links import thread_url, user_url


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
            "url": user_url(user, external=True)}


def own_profile(user) -> dict[str, Any]:
    """What a user sees of themselves: their profile plus their email."""
    return {**profile(user), "email": user.email}


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
        "author": author(item.author),
        "created_at": timestamp(item.created_at),
        "last_activity_at": timestamp(item.last_activity_at),
        "source": None if item.source_kind in ("web", "api") else {
            "channel": item.source_kind, "external_url": item.source_url},
    }


def thread_detail(item) -> dict[str, Any]:
    best = answers.best_answer(item)
    return {**thread(item), "best_answer_id": best.id if best else None,
            "question": post(item.question),
            "answers": [post(p) for p in answers.in_order(item) if not p.is_hidden]}


def post(item) -> dict[str, Any]:
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
        "comments": [comment(c) for c in item.comments if not c.is_hidden],
    }


def comment(item) -> dict[str, Any]:
    return {"id": item.id, "post_id": item.post_id, "author": author(item.author),
            "body": item.body_source, "body_html": item.body_html,
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
