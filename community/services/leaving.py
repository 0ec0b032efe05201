"""Leaving: download my data (a JSON-ready archive) and delete my account (posts stay, shown as
by "a former member"; personal data erased; bridged identities unlinked)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from werkzeug.security import check_password_hash

from community.extensions import db
from community.models import (Avatar, Comment, ExternalIdentity, LinkCode, Notification, Post,
                              Subscription, User, Vote)
from community.models.base import utcnow
from community.services import account_recovery, permissions
from community.services.errors import Invalid
from community.services.text import is_encodable

FORMER_MEMBER = "a former member"


def _time(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def export(actor: User) -> dict[str, Any]:
    """Everything the actor put in or that is kept about them: profile, posts, comments, votes,
    notifications, linked social identities. Plain data, ready for JSON."""
    permissions.require(actor, "account.edit")
    posts = db.session.scalars(select(Post).where(Post.author_id == actor.id).order_by(Post.id))
    comments = db.session.scalars(select(Comment).where(Comment.author_id == actor.id)
                                  .order_by(Comment.id))
    votes = db.session.scalars(select(Vote).where(Vote.user_id == actor.id).order_by(Vote.id))
    notes = db.session.scalars(select(Notification).where(Notification.user_id == actor.id)
                               .order_by(Notification.id))
    identities = db.session.scalars(select(ExternalIdentity).where(
        ExternalIdentity.linked_user_id == actor.id).order_by(ExternalIdentity.id))
    return {
        "profile": {"id": actor.id, "username": actor.username, "email": actor.email,
                    "email_verified_at": _time(actor.email_verified_at),
                    "display_name": actor.display_name, "bio": actor.bio,
                    "location": actor.location, "website": actor.website, "role": actor.role,
                    "locale": actor.locale, "email_notifications": actor.email_notifications,
                    "reputation": actor.reputation, "created_at": _time(actor.created_at)},
        "posts": [{"id": p.id, "thread_id": p.thread_id, "kind": p.kind,
                   "title": p.thread.title if p.kind == "question" else None,
                   "body": p.body_source, "created_at": _time(p.created_at)} for p in posts],
        "comments": [{"id": c.id, "post_id": c.post_id, "body": c.body_source,
                      "created_at": _time(c.created_at)} for c in comments],
        "votes": [{"post_id": v.post_id, "value": v.value, "created_at": _time(v.created_at)}
                  for v in votes],
        "notifications": [{"id": n.id, "kind": n.kind, "thread_id": n.thread_id,
                           "read": n.read_at is not None, "created_at": _time(n.created_at)}
                          for n in notes],
        "linked_identities": [{"channel": i.channel.slug, "handle": i.handle,
                               "display_name": i.display_name, "linked_at": _time(i.linked_at)}
                              for i in identities],
    }


def delete_account(actor: User, password: Any) -> None:
    """The actor deletes their account, confirming with their password (Invalid
    `password.wrong` otherwise, changing nothing). Their posts and comments stay, by "a former
    member"; name, email, profile, picture, sessions, tokens, notifications, follows and link
    codes go; linked social identities are unlinked (their next messages start a shadow user's
    threads again)."""
    permissions.require(actor, "account.edit")
    if not isinstance(password, str) or not is_encodable(password) \
            or actor.password_hash is None or not check_password_hash(actor.password_hash,
                                                                       password):
        raise Invalid("password", "password.wrong", "That is not your password.")
    account_recovery.end_all_access(actor)
    for model in (Notification, Subscription, LinkCode):
        db.session.execute(delete(model).where(model.user_id == actor.id))
    db.session.execute(delete(Avatar).where(Avatar.user_id == actor.id))
    db.session.execute(update(ExternalIdentity).where(ExternalIdentity.linked_user_id == actor.id)
                       .values(linked_user_id=None, linked_at=None))
    # The username key cannot collide with a real one (a colon is never in a username).
    actor.username, actor.username_key = FORMER_MEMBER, f"deleted:{actor.id}"
    actor.email = f"deleted-{actor.id}@deleted.invalid"
    actor.password_hash = actor.locale = actor.email_verified_at = None
    actor.display_name = actor.bio = actor.bio_html = actor.location = actor.website = ""
    actor.email_notifications, actor.deleted_at = "never", utcnow()
    actor.avatar_version = (actor.avatar_version or 0) + 1
    db.session.commit()
