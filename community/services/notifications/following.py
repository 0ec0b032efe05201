"""Following threads: members follow to hear of new activity; askers and answerers follow the
threads they take part in."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from community.extensions import db
from community.models import Subscription, Thread, User
from community.services import permissions


def add_follower(user_id: int, thread_id: int) -> bool:
    """Add a subscription unless there is one; True if added. Flushes, never commits.

    Accounts nobody can log in to (a social customer's shadow account, a channel's team account)
    follow nothing: they would never read what it brings.
    """
    user = db.session.get(User, user_id)
    if user is None or user.password_hash is None:
        return False
    if db.session.scalar(select(Subscription.id).where(Subscription.user_id == user_id,
                                                       Subscription.thread_id == thread_id)):
        return False
    try:
        with db.session.begin_nested():  # two requests following at once: the loser finds it
            db.session.add(Subscription(user_id=user_id, thread_id=thread_id))
    except IntegrityError:
        return False
    return True


def follow(actor: User, thread: Thread) -> bool:
    """Follow a thread (any active member who can see it). True if now following; idempotent."""
    permissions.require(actor, "thread.follow", thread)
    add_follower(actor.id, thread.id)
    db.session.commit()
    return True


def unfollow(actor: User, thread: Thread) -> bool:
    """Stop following a thread. Returns False (not following); idempotent."""
    permissions.require(actor, "thread.follow", thread)
    db.session.execute(Subscription.__table__.delete().where(
        Subscription.user_id == actor.id, Subscription.thread_id == thread.id))
    db.session.commit()
    return False


def is_following(user: User | None, thread: Thread) -> bool:
    if user is None or not user.is_authenticated:
        return False
    return db.session.scalar(select(Subscription.id).where(
        Subscription.user_id == user.id, Subscription.thread_id == thread.id)) is not None


def followers(thread_id: int) -> list[int]:
    """The ids of the users following a thread."""
    return list(db.session.scalars(select(Subscription.user_id)
                                   .where(Subscription.thread_id == thread_id)))
