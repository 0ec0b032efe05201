"""Who is told what after a change: the notification rows committed domain events call for.

Domain events reach `write()` after their commit, on the notifications worker (through the rows
`owed.py` keeps): it writes one notification per person concerned, makes askers and answerers
follow their thread and publishes `notification.created` for each row, in the transaction that
settles the owed rows, so the bell and email follow only what was saved. Nobody is told about
their own action, and a hidden thread, post or comment is told to staff only.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from community.extensions import db
from community.models import Comment, Flag, Notification, Post, Thread, User
from community.services import accounts, events, live
from community.services.notifications.following import add_follower, followers
from community.services.retry import retry_on_conflict

MENTION_RE = re.compile(r"(?<![\w@.])@([\w.-]{3,32})")
MENTIONS_MAX = 10

# When one change concerns a person in several ways, they get one notification, of the first
# kind in this order.
PRIORITY = ("accepted", "endorsed", "mention", "answer", "comment", "activity", "flag_agreed",
            "flag_dismissed")


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
    add_follower(thread.author_id, thread.id)
    recipients = _Recipients(thread.author_id)
    recipients.add((u.id for u in mentions.users(thread.question.body_source)), "mention")
    return recipients, {"thread": thread, "post": thread.question}


def _answer_created(data: dict[str, Any],
                    mentions: _Mentions) -> tuple[_Recipients, dict[str, Any]] | None:
    post = db.session.get(Post, data["post_id"])
    if post is None:
        return None
    thread = post.thread
    add_follower(post.author_id, thread.id)
    recipients = _Recipients(post.author_id)
    recipients.add((u.id for u in mentions.users(post.body_source)), "mention")
    recipients.add([thread.author_id], "answer")
    recipients.add(followers(thread.id), "activity")
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
    recipients.add(followers(thread.id), "activity")
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


def _flag_resolved(data: dict[str, Any],
                   mentions: _Mentions) -> tuple[_Recipients, dict[str, Any]] | None:
    """The flaggers hear the outcome (even of content now hidden: words.py names none of it)."""
    thread = db.session.get(Thread, data["thread_id"])
    if thread is None:
        return None
    flaggers = db.session.scalars(select(Flag.flagger_id).where(Flag.id.in_(data["flag_ids"])))
    recipients = _Recipients(data.get("actor_id"))
    recipients.add(flaggers, f"flag_{data['outcome']}")
    return recipients, {"thread": thread, "outcome": True}


TRIGGERS: dict[str, Callable[[dict[str, Any], _Mentions],
                             tuple[_Recipients, dict[str, Any]] | None]] = {
    "thread.created": _thread_created,
    "answer.created": _answer_created,
    "comment.created": _comment_created,
    "answer.accepted": _answer_accepted,
    "answer.endorsed": _answer_endorsed,
    "flag.resolved": _flag_resolved,
}


# Retried like a request's use-case: on SQLite a write that races a request's commit is refused
# ("database is locked") rather than waited for.
@retry_on_conflict
def record(happened: list[tuple[str, dict[str, Any]]]) -> None:
    """Write the notifications committed domain events call for, and auto-follows, in one
    transaction, and commit."""
    write(happened)
    db.session.commit()


def write(happened: list[tuple[str, dict[str, Any]]]) -> None:
    """The events' notifications, with one read of their threads and one of the users their
    posts mention (the social bridge starts hundreds of threads a second); publishes
    `notification.created` per row and flushes, but leaves the commit to the caller."""
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
    staff_only = (not target.get("outcome")
                  and live.audience(thread, *(x for x in (post, comment) if x)) == live.STAFF)
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
