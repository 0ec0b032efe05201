"""Which threads wait for staff: the triage row of each thread, kept in step with its posts.

An in-transaction subscriber (community/workers/__init__.py) hands every transaction's thread
events here; `refresh` reads those threads' answers, the asker's follow-ups and open
`needs_staff` flags in a few grouped statements and writes each thread's `TriageItem`. The
queue then selects open rows by index instead of looking at every thread.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import delete, func, select

from community.extensions import db
from community.models import Comment, Flag, Post, Thread, TriageClaim, TriageItem, User
from community.models.triage import TRIAGE_KINDS
from community.models.users import STAFF_ROLES
from community.models.base import utcnow
from community.services import events

WEB_SOURCES = ("web", "api")
# The events after which a thread's place in the queue may have changed.
EVENTS = frozenset({
    "thread.created", "thread.updated", "answer.created", "comment.created", "answer.accepted",
    "answer.unaccepted", "answer.endorsed", "answer.unendorsed", "inbound.received",
    "post.hidden", "post.restored", "comment.hidden", "comment.restored", "thread.hidden",
    "thread.restored", "thread.locked", "thread.unlocked", "thread.closed", "thread.reopened",
    "thread.merged", "post.approved", "post.rejected", "post.flagged", "flag.resolved",
})


@dataclass(frozen=True)
class Waiting:
    kind: str
    since: datetime
    due: datetime


def expectation(source: str) -> timedelta:
    minutes = current_app.config["TRIAGE_EXPECTATIONS"]
    return timedelta(minutes=minutes.get(source, minutes.get("generic", 240)))


def _answers(ids: list[int]) -> dict[int, list[tuple[datetime, bool, datetime | None]]]:
    """Visible answers per thread: (posted, by staff, endorsed at)."""
    found: dict[int, list] = defaultdict(list)
    rows = db.session.execute(
        select(Post.thread_id, Post.created_at, User.role, Post.endorsed_at)
        .join(User, User.id == Post.author_id)
        .where(Post.thread_id.in_(ids), Post.kind == "answer", Post.is_hidden.is_(False),
               Post.is_pending.is_(False)))
    for thread_id, created, role, endorsed in rows:
        found[thread_id].append((created, role in STAFF_ROLES, endorsed))
    return found


def _asker_writes(ids: list[int]) -> dict[int, list[datetime]]:
    """When the asker wrote again on their thread: visible comments and answers of theirs."""
    found: dict[int, list[datetime]] = defaultdict(list)
    comments = (select(Post.thread_id, Comment.created_at)
                .join(Post, Post.id == Comment.post_id).join(Thread, Thread.id == Post.thread_id)
                .where(Post.thread_id.in_(ids), Comment.author_id == Thread.author_id,
                       Comment.is_hidden.is_(False)))
    answers = (select(Post.thread_id, Post.created_at).join(Thread, Thread.id == Post.thread_id)
               .where(Post.thread_id.in_(ids), Post.kind == "answer",
                      Post.author_id == Thread.author_id, Post.is_hidden.is_(False)))
    for query in (comments, answers):
        for thread_id, created in db.session.execute(query):
            found[thread_id].append(created)
    return found


def needs_staff_since(ids: list[int]) -> dict[int, datetime]:
    """The first open `needs_staff` flag on each thread's posts or comments."""
    found: dict[int, datetime] = {}
    on_posts = (select(Post.thread_id, func.min(Flag.created_at)).join(Post, Post.id == Flag.post_id)
                .where(Post.thread_id.in_(ids), Flag.reason == "needs_staff", Flag.status == "open")
                .group_by(Post.thread_id))
    on_comments = (select(Post.thread_id, func.min(Flag.created_at))
                   .join(Comment, Comment.id == Flag.comment_id).join(Post, Post.id == Comment.post_id)
                   .where(Post.thread_id.in_(ids), Flag.reason == "needs_staff",
                          Flag.status == "open").group_by(Post.thread_id))
    for query in (on_posts, on_comments):
        for thread_id, since in db.session.execute(query):
            found[thread_id] = min(since, found.get(thread_id, since))
    return found


def waiting(thread: Thread, answers: list, asker: list[datetime], flagged: datetime | None,
            reopened: datetime | None) -> Waiting | None:
    """Why `thread` waits for staff, since when, and from when the queue lists it; None when
    it does not (closed, solved, or answered with nothing new from the asker)."""
    if (thread.is_hidden or thread.is_locked or thread.duplicate_of_id is not None
            or thread.merged_into_id is not None or thread.accepted_answer_id is not None):
        return None
    staff = [at for at, by_staff, _ in answers if by_staff] + [e for _, _, e in answers if e]
    last_staff = max(staff, default=None)
    last_answer = max((at for at, _, _ in answers), default=None)
    bridged = thread.source_kind not in WEB_SOURCES
    handled = last_staff if bridged else last_answer  # the community answers web questions
    found: list[Waiting] = []
    if handled is None:
        start = thread.created_at
        found.append(Waiting("complaint", start, start) if bridged
                     else Waiting("question", start, start + expectation(thread.source_kind)))
    elif later := [at for at in asker if at > handled]:
        found.append(Waiting("follow_up", min(later), min(later)))
    if reopened is not None and (handled is None or handled < reopened):
        found.append(Waiting("reopened", reopened, reopened))
    if flagged is not None and (last_staff is None or last_staff < flagged):
        found.append(Waiting("needs_staff", flagged, flagged))
    if not found:
        return None
    kind = min(found, key=lambda w: TRIAGE_KINDS.index(w.kind)).kind
    return Waiting(kind, min(w.since for w in found), min(w.due for w in found))


def refresh(thread_ids: set[int], reopened: set[int] = frozenset()) -> None:
    """Write the triage rows of `thread_ids` from their current state; publish
    `triage.changed` for threads that entered or left the queue. Flushes, never commits."""
    ids = sorted(thread_ids)
    if not ids:
        return
    now = utcnow()
    threads = {t.id: t for t in db.session.scalars(select(Thread).where(Thread.id.in_(ids)))}
    items = {i.thread_id: i for i in db.session.scalars(
        select(TriageItem).where(TriageItem.thread_id.in_(ids)))}
    answers, asker, flagged = _answers(ids), _asker_writes(ids), needs_staff_since(ids)
    left: list[int] = []
    for thread_id, thread in threads.items():
        item = items.get(thread_id)
        if item is None:
            item = TriageItem(thread_id=thread_id, is_open=False)
            db.session.add(item)
        if thread_id in reopened and thread.accepted_answer_id is None:
            item.reopened_at = now
        state = waiting(thread, answers[thread_id], asker[thread_id], flagged.get(thread_id),
                        item.reopened_at)
        was_listed = bool(item.is_open) and item.due_at is not None and item.due_at <= now
        item.source = thread.source_kind
        if state is None:
            item.is_open = False
            if was_listed:
                left.append(thread_id)
            continue
        item.is_open, item.kind = True, state.kind
        item.waiting_since, item.due_at = state.since, state.due
        if not was_listed and state.due <= now:
            events.publish("triage.changed", thread_id=thread_id, change="entered")
    if left:
        db.session.execute(delete(TriageClaim).where(TriageClaim.thread_id.in_(left)))
        for thread_id in left:
            events.publish("triage.changed", thread_id=thread_id, change="left")
    db.session.flush()


def on_events(items: list[events.Event]) -> None:
    """The in-transaction subscriber: refresh every thread the transaction touched."""
    ids: set[int] = set()
    reopened: set[int] = set()
    for item in items:
        data: dict[str, Any] = item.data
        thread_id = data.get("thread_id")
        if isinstance(thread_id, int):
            ids.add(thread_id)
            if item.name == "answer.unaccepted":
                reopened.add(thread_id)
        if item.name == "thread.merged" and isinstance(data.get("into"), int):
            ids.add(data["into"])
    refresh(ids, reopened)


def rebuild(everything: bool = False, batch: int = 500) -> int:
    """Write the triage rows of threads that have none (with `everything`, of every thread),
    a batch per transaction: for threads from before the queue existed, or bulk-loaded ones.
    Returns how many threads were looked at."""
    done, last_id = 0, 0
    while True:
        query = select(Thread.id).where(Thread.id > last_id).order_by(Thread.id).limit(batch)
        if not everything:
            query = query.where(~select(TriageItem.thread_id).where(
                TriageItem.thread_id == Thread.id).exists())
        ids = list(db.session.scalars(query))
        if not ids:
            return done
        refresh(set(ids))
        db.session.commit()
        done, last_id = done + len(ids), ids[-1]

