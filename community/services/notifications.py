"""Notifications: who is told what after a change, following threads, reading, email preferences.

Domain events reach `record()` after their commit, on a background worker
(views/notifications.py wires it): it writes one notification per person concerned, makes
askers and answerers follow their thread, publishes `notification.created` for each row and
commits, so the bell (realtime.py) and email (views/notifications.py) follow only what was
saved. Nobody is told about their own action, and a hidden thread, post or comment is told to
staff only.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload, selectinload

from community.extensions import db
from community.models import Comment, Notification, Post, Subscription, Thread, User
from community.models.base import MAX_ID, utcnow
from community.models.notifications import EMAIL_MODES
from community.services import accounts, events, live, permissions
from community.services.errors import Invalid, NotFound
from community.services.pagination import Page, keyset_page
from community.services.retry import retry_on_conflict

MENTION_RE = re.compile(r"(?<![\w@.])@([\w.-]{3,32})")
MENTIONS_MAX = 10
UNSUBSCRIBE_SALT = "notifications.unsubscribe"

# When one change concerns a person in several ways, they get one notification, of the first
# kind in this order.
PRIORITY = ("accepted", "endorsed", "mention", "answer", "comment", "activity")


# ---- following ------------------------------------------------------------------------------

def _follow(user_id: int, thread_id: int) -> bool:
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
    _follow(actor.id, thread.id)
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


# ---- who is told what -----------------------------------------------------------------------

def _mention_keys(text: str) -> list[str]:
    """The login keys of the @usernames in `text`, in order, at most MENTIONS_MAX."""
    keys: list[str] = []
    for match in MENTION_RE.finditer(text):
        key = accounts.username_key(match.group(1).rstrip(".-"))
        if key not in keys:
            keys.append(key)
        if len(keys) == MENTIONS_MAX:
            break
    return keys


class _Mentions:
    """The users named as @username in texts, matched as logins are, for one batch of events.

    The names in the texts given up front are looked up in one query (a burst of social
    complaints names a brand in nearly every one); any other text's names when it is asked
    about. Either way a name is looked up once per batch.
    """

    def __init__(self, texts: Iterable[str] = ()) -> None:
        self._users: dict[str, User | None] = {}
        self._look_up({key for text in texts for key in _mention_keys(text)})

    def users(self, text: str) -> list[User]:
        keys = _mention_keys(text)
        self._look_up([key for key in keys if key not in self._users])
        return [user for user in map(self._users.get, keys) if user is not None]

    def _look_up(self, keys: Iterable[str]) -> None:
        keys = list(keys)
        for start in range(0, len(keys), 500):
            chunk = keys[start:start + 500]
            found = {user.username_key: user for user in db.session.scalars(
                select(User).where(User.username_key.in_(chunk)))}
            self._users.update((key, found.get(key)) for key in chunk)


def _followers(thread_id: int) -> list[int]:
    return list(db.session.scalars(select(Subscription.user_id)
                                   .where(Subscription.thread_id == thread_id)))


class _Recipients:
    """user id → kind, first claim (in PRIORITY order by the caller) wins; the actor is skipped."""

    def __init__(self, actor_id: int | None) -> None:
        self.actor_id = actor_id
        self.kinds: dict[int, str] = {}

    def add(self, user_ids: Iterable[int | None], kind: str) -> None:
        for user_id in user_ids:
            if user_id is not None and user_id != self.actor_id:
                self.kinds.setdefault(user_id, kind)


def _thread_created(data: dict[str, Any],
                    mentions: _Mentions) -> tuple[_Recipients, dict[str, Any]] | None:
    thread = db.session.get(Thread, data["thread_id"])  # read by _load_threads, usually
    if thread is None:
        return None
    _follow(thread.author_id, thread.id)
    recipients = _Recipients(thread.author_id)
    recipients.add((u.id for u in mentions.users(thread.question.body_source)), "mention")
    return recipients, {"thread": thread, "post": thread.question}


def _answer_created(data: dict[str, Any],
                    mentions: _Mentions) -> tuple[_Recipients, dict[str, Any]] | None:
    post = db.session.get(Post, data["post_id"])
    if post is None:
        return None
    thread = post.thread
    _follow(post.author_id, thread.id)
    recipients = _Recipients(post.author_id)
    recipients.add((u.id for u in mentions.users(post.body_source)), "mention")
    recipients.add([thread.author_id], "answer")
    recipients.add(_followers(thread.id), "activity")
    return recipients, {"thread": thread, "post": post}


def _comment_created(data: dict[str, Any],
                     mentions: _Mentions) -> tuple[_Recipients, dict[str, Any]] | None:
    item = db.session.get(Comment, data["comment_id"])
    if item is None:
        return None
    post = item.post
    thread = post.thread
    recipients = _Recipients(item.author_id)
    recipients.add((u.id for u in mentions.users(item.body_source)), "mention")
    recipients.add([post.author_id, thread.author_id], "comment")
    recipients.add(_followers(thread.id), "activity")
    return recipients, {"thread": thread, "post": post, "comment": item}


def _answer_accepted(data: dict[str, Any],
                     mentions: _Mentions) -> tuple[_Recipients, dict[str, Any]] | None:
    post = db.session.get(Post, data["post_id"])
    if post is None or post.thread.accepted_answer_id != post.id:
        return None  # unaccepted again before we got here: nothing to tell
    recipients = _Recipients(data.get("actor_id"))
    recipients.add([post.author_id], "accepted")
    return recipients, {"thread": post.thread, "post": post}


def _answer_endorsed(data: dict[str, Any],
                     mentions: _Mentions) -> tuple[_Recipients, dict[str, Any]] | None:
    post = db.session.get(Post, data["post_id"])
    if post is None or post.endorsed_by_id is None:
        return None
    recipients = _Recipients(post.endorsed_by_id)
    recipients.add([post.author_id], "endorsed")
    return recipients, {"thread": post.thread, "post": post}


TRIGGERS: dict[str, Callable[[dict[str, Any], _Mentions],
                             tuple[_Recipients, dict[str, Any]] | None]] = {
    "thread.created": _thread_created,
    "answer.created": _answer_created,
    "comment.created": _comment_created,
    "answer.accepted": _answer_accepted,
    "answer.endorsed": _answer_endorsed,
}


def record(happened: list[tuple[str, dict[str, Any]]]) -> None:
    """Write the notifications committed domain events call for, and auto-follows.

    Called after the events' commit, by the notifications worker (not by a request), with the
    events that arrived close together (the social bridge starts hundreds of threads a second):
    one transaction for them all. If that fails, each event is written alone, so one bad event
    costs only its own notifications; the first failure is then raised for the worker to log.
    """
    try:
        _record_together(happened)
        return
    except Exception:
        if len(happened) == 1:
            raise
        db.session.rollback()
    failure = None
    for event in happened:
        try:
            _record_together([event])
        except Exception as exc:
            db.session.rollback()
            failure = failure or exc
    if failure is not None:
        raise failure


# Retried like a request's use-case: on SQLite a write that races a request's commit is refused
# ("database is locked") rather than waited for.
@retry_on_conflict
def _record_together(happened: list[tuple[str, dict[str, Any]]]) -> None:
    """The events' notifications in one transaction, with one read of their threads and one of
    the users their posts mention; publishes `notification.created` per row and commits."""
    # Held to the end: the session keeps loaded objects only while something refers to them.
    loaded = _load_threads({data["thread_id"] for _, data in happened if data.get("thread_id")})
    mentions = _Mentions(_texts_made(happened, loaded))
    created = []
    for name, data in happened:
        trigger = TRIGGERS.get(name)
        found = trigger(data, mentions) if trigger else None
        if found is not None:
            created += _notify(*found)
    db.session.flush()
    for item in created:
        events.publish("notification.created", notification_id=item.id, user_id=item.user_id)
    db.session.commit()
    del loaded


def _texts_made(happened: list[tuple[str, dict[str, Any]]], loaded: list[Thread]) -> list[str]:
    """The texts of the questions and answers the events made, as loaded with their threads."""
    posts = {post.id: post for thread in loaded for post in thread.posts}
    questions = {thread.id: thread.question for thread in loaded if thread.posts}
    texts = []
    for name, data in happened:
        post = (questions.get(data.get("thread_id")) if name == "thread.created" else
                posts.get(data.get("post_id")) if name == "answer.created" else None)
        if post is not None:
            texts.append(post.body_source)
    return texts


def _load_threads(thread_ids: set[int]) -> list[Thread]:
    """Read the events' threads, with their authors and posts, into the session at once: the
    triggers then find them there rather than each asking the database."""
    if not thread_ids:
        return []
    return list(db.session.scalars(select(Thread).where(Thread.id.in_(thread_ids)).options(
        joinedload(Thread.author), selectinload(Thread.posts))))


def _notify(recipients: _Recipients, target: dict[str, Any]) -> list[Notification]:
    """The notification rows (added to the session) for the people an event concerns."""
    thread, post, comment = target["thread"], target.get("post"), target.get("comment")
    kinds = recipients.kinds
    if not kinds:
        return []
    # Only people who can log in read notifications (not shadow or team accounts).
    readers = set(db.session.scalars(select(User.id).where(
        User.id.in_(list(kinds)), User.password_hash.is_not(None))))
    kinds = {uid: kind for uid, kind in kinds.items() if uid in readers}
    staff_only = live.audience(thread, *(x for x in (post, comment) if x)) == live.STAFF
    if staff_only and kinds:
        staff = set(db.session.scalars(select(User.id).where(
            User.id.in_(list(kinds)), User.role.in_(("staff", "moderator", "admin")))))
        kinds = {uid: kind for uid, kind in kinds.items() if uid in staff}
    ordered = sorted(kinds.items(), key=lambda item: (PRIORITY.index(item[1]), item[0]))
    created = [Notification(user_id=user_id, kind=kind, thread_id=thread.id,
                            post_id=post.id if post is not None else None,
                            comment_id=comment.id if comment is not None else None,
                            actor_id=recipients.actor_id)
               for user_id, kind in ordered]
    db.session.add_all(created)
    return created


# ---- reading ----------------------------------------------------------------------------------

def get(notification_id: int) -> Notification | None:
    if not 0 < notification_id <= MAX_ID:
        return None
    return db.session.get(Notification, notification_id, options=[
        joinedload(Notification.user), joinedload(Notification.actor),
        joinedload(Notification.thread)])


def get_own(actor: User, notification_id: int) -> Notification:
    """The actor's own notification; NotFound for anyone else's (no hint that it exists)."""
    permissions.require(actor, "notifications.read")
    item = get(notification_id) if isinstance(notification_id, int) else None
    if item is None or item.user_id != actor.id:
        raise NotFound("notification.not_found", "No such notification.")
    return item


def list_for(actor: User, *, unread_only: bool = False, cursor: str | None = None,
             limit: int = 30) -> Page[Notification]:
    """The actor's notifications, newest first. Raises Unauthorized for visitors."""
    permissions.require(actor, "notifications.read")
    query = (select(Notification).where(Notification.user_id == actor.id)
             .options(joinedload(Notification.actor), joinedload(Notification.thread)))
    if unread_only:
        query = query.where(Notification.read_at.is_(None))
    return keyset_page(query, "notifications", Notification.id, Notification.id, cursor, limit,
                       db.session)


def unread_count(user: User) -> int:
    return db.session.scalar(select(func.count()).select_from(Notification).where(
        Notification.user_id == user.id, Notification.read_at.is_(None))) or 0


def mark_read(actor: User, notification_id: int) -> Notification:
    """Mark one of the actor's notifications read. Raises NotFound for anyone else's."""
    item = get_own(actor, notification_id)
    if item.read_at is None:
        item.read_at = utcnow()
        db.session.commit()
    return item


def mark_all_read(actor: User) -> int:
    """Mark every unread notification of the actor read; returns how many were unread."""
    permissions.require(actor, "notifications.read")
    result = db.session.execute(
        update(Notification).where(Notification.user_id == actor.id,
                                   Notification.read_at.is_(None))
        .values(read_at=utcnow()).execution_options(synchronize_session=False))
    db.session.commit()
    return result.rowcount


# ---- email ------------------------------------------------------------------------------------

def set_email_mode(actor: User, mode: Any) -> User:
    """How the actor gets notification email: immediately, daily or never. Raises Invalid."""
    permissions.require(actor, "notifications.read")
    if mode not in EMAIL_MODES:
        raise Invalid("email", "email_mode.invalid", f"email is one of {', '.join(EMAIL_MODES)}.")
    actor.email_notifications = mode
    db.session.commit()
    return actor


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=UNSUBSCRIBE_SALT)


def unsubscribe_token(user: User) -> str:
    """A signed token that turns off this user's notification email, for one-click links."""
    return _serializer().dumps({"u": user.id, "e": user.email})


def unsubscribe(token: str) -> User:
    """Turn notification email off for the user a token names. NotFound for a bad token (or
    one issued for an address the account no longer has)."""
    try:
        data = _serializer().loads(token)
        user = db.session.get(User, int(data["u"])) if isinstance(data, dict) else None
    except (BadSignature, KeyError, TypeError, ValueError):
        user = None
    if user is None or user.email != data.get("e"):
        raise NotFound("unsubscribe.invalid", "This unsubscribe link is not valid.")
    user.email_notifications = "never"
    db.session.commit()
    return user


def claim_for_email(notification_id: int) -> Notification | None:
    """Take an unread, un-emailed notification of a user who wants email immediately, marking
    it emailed (compare-and-set, so two processes never both send it); None if there is none."""
    item = get(notification_id)
    if (item is None or item.read_at is not None or item.emailed_at is not None
            or item.user.email_notifications != "immediately"):
        return None
    claimed = db.session.execute(
        update(Notification).where(Notification.id == item.id, Notification.emailed_at.is_(None))
        .values(emailed_at=utcnow()).execution_options(synchronize_session=False)).rowcount
    db.session.commit()
    return get(notification_id) if claimed == 1 else None


def release_email(notification_ids: list[int]) -> None:
    """Sending failed: let the next attempt (or digest) take these notifications again."""
    db.session.execute(update(Notification).where(Notification.id.in_(notification_ids))
                       .values(emailed_at=None).execution_options(synchronize_session=False))
    db.session.commit()


def claim_digests(now: datetime | None = None) -> list[tuple[User, list[Notification]]]:
    """For every user on the daily digest: their unread notifications not emailed yet, marked
    emailed (so running the digest twice sends nothing twice). Users with none are left out."""
    now = now or utcnow()
    user_ids = list(db.session.scalars(
        select(Notification.user_id).join(User, User.id == Notification.user_id)
        .where(User.email_notifications == "daily", Notification.read_at.is_(None),
               Notification.emailed_at.is_(None)).distinct()))
    batches = []
    for user_id in sorted(user_ids):
        ids = list(db.session.scalars(select(Notification.id).where(
            Notification.user_id == user_id, Notification.read_at.is_(None),
            Notification.emailed_at.is_(None)).order_by(Notification.id)))
        claimed = db.session.execute(
            update(Notification).where(Notification.id.in_(ids), Notification.emailed_at.is_(None))
            .values(emailed_at=now).execution_options(synchronize_session=False)).rowcount
        db.session.commit()
        if claimed:
            items = list(db.session.scalars(
                select(Notification).where(Notification.id.in_(ids),
                                           Notification.emailed_at == now)
                .options(joinedload(Notification.actor), joinedload(Notification.thread))
                .order_by(Notification.id)))
            batches.append((db.session.get(User, user_id), items))
    return batches
