"""The triage queue: open threads that wait for staff, highest score first, for staff.

SQL picks the candidates (open rows whose time has come, by the `ix_triage_items_open_waiting`
index), at most TRIAGE_CANDIDATES of the longest-waiting; only those are scored in Python,
sorted and cut into pages. The cursor holds the last item's score (in hundredths) and thread
id; since waiting raises scores as time passes, a later page is as of its own request.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import exists, func, select
from sqlalchemy.orm import joinedload

from community.extensions import db
from community.models import Comment, Post, Tag, Thread, TriageClaim, TriageItem, User
from community.models import thread_tags
from community.models.base import utcnow
from community.services import answers, permissions
from community.services import search as search_service
from community.services.errors import Invalid
from community.services.pagination import Page, decode_cursor, encode_cursor
from community.services.triage import scoring, state

SORT = "triage"
CLAIMED = {"yes": "yes", "true": "yes", "1": "yes", "no": "no", "false": "no", "0": "no",
           "mine": "mine", "any": None, "": None}
TEXT_MAX = 4000


@dataclass
class Suggestion:
    thread: Thread
    post: Post

    @property
    def excerpt(self) -> str:
        text = " ".join(self.post.body_source.split())
        return text if len(text) <= 200 else text[:199].rsplit(" ", 1)[0] + "…"


@dataclass
class Entry:
    """One thread in the queue, with its score explained."""

    thread: Thread
    kind: str
    waiting_since: datetime
    score: float = 0.0
    reasons: list[scoring.Reason] = field(default_factory=list)
    claim: TriageClaim | None = None
    suggestions: list[Suggestion] = field(default_factory=list)

    @property
    def claimed_by(self) -> User | None:
        return self.claim.user if self.claim else None


def claim_cutoff(now: datetime) -> datetime:
    return now - timedelta(minutes=current_app.config["TRIAGE_CLAIM_MINUTES"])


def _filters(viewer: User, now: datetime, channel: str | None, tag: str | None,
             claimed: str | None) -> list[Any]:
    where: list[Any] = [TriageItem.is_open.is_(True), TriageItem.due_at <= now]
    if channel:
        if channel not in current_app.config["TRIAGE_EXPECTATIONS"]:
            raise Invalid("channel", "channel.invalid", "channel is a source such as web or x.")
        where.append(TriageItem.source == channel)
    if tag:
        where.append(TriageItem.thread_id.in_(
            select(thread_tags.c.thread_id).join(Tag, Tag.id == thread_tags.c.tag_id)
            .where(Tag.name == tag.strip().lower()[:35])))
    claimed = (claimed or "").lower()
    if claimed not in CLAIMED:
        raise Invalid("claimed", "claimed.invalid", "claimed is yes, no, mine or any.")
    held = exists().where(TriageClaim.thread_id == TriageItem.thread_id,
                          TriageClaim.claimed_at >= claim_cutoff(now))
    wanted = CLAIMED[claimed]
    if wanted == "yes":
        where.append(held)
    elif wanted == "no":
        where.append(~held)
    elif wanted == "mine":
        where.append(held.where(TriageClaim.user_id == viewer.id))
    return where


def _texts(ids: list[int]) -> dict[int, str]:
    """Title, question and the asker's latest comments per thread (what the score reads)."""
    texts: dict[int, list[str]] = defaultdict(list)
    for thread_id, title, body in db.session.execute(
            select(Thread.id, Thread.title, Post.body_source).join(Post, Post.thread_id == Thread.id)
            .where(Thread.id.in_(ids), Post.kind == "question")):
        texts[thread_id] += [title, body]
    for thread_id, body in db.session.execute(
            select(Post.thread_id, Comment.body_source).join(Post, Post.id == Comment.post_id)
            .join(Thread, Thread.id == Post.thread_id)
            .where(Post.thread_id.in_(ids), Comment.author_id == Thread.author_id,
                   Comment.is_hidden.is_(False)).order_by(Comment.id.desc())):
        if len(texts[thread_id]) < 5:
            texts[thread_id].append(body)
    return {thread_id: "\n".join(parts)[:TEXT_MAX] for thread_id, parts in texts.items()}


def _recent(threads: list[Thread], now: datetime) -> dict[int, int]:
    """Messages per thread from its asker within TRIAGE_REPEAT_HOURS: their questions anywhere
    (ix_posts_author_created) plus their comments on this thread."""
    since = now - timedelta(hours=current_app.config["TRIAGE_REPEAT_HOURS"])
    authors = {t.author_id for t in threads}
    asked = dict(db.session.execute(
        select(Post.author_id, func.count(Post.id))
        .where(Post.author_id.in_(authors), Post.kind == "question", Post.created_at >= since)
        .group_by(Post.author_id)).all())
    commented = dict(db.session.execute(
        select(Post.thread_id, func.count(Comment.id)).join(Post, Post.id == Comment.post_id)
        .join(Thread, Thread.id == Post.thread_id)
        .where(Post.thread_id.in_([t.id for t in threads]), Comment.author_id == Thread.author_id,
               Comment.created_at >= since).group_by(Post.thread_id)).all())
    return {t.id: max(1, asked.get(t.author_id, 0) + commented.get(t.id, 0)) for t in threads}


def score_candidates(rows: list[TriageItem], now: datetime) -> list[Entry]:
    """Score open rows (threads loaded), highest first."""
    if not rows:
        return []
    ids = [row.thread_id for row in rows]
    texts, flagged = _texts(ids), state.needs_staff_since(ids)
    recent = _recent([row.thread for row in rows], now)
    claims = {c.thread_id: c for c in db.session.scalars(
        select(TriageClaim).where(TriageClaim.thread_id.in_(ids),
                                  TriageClaim.claimed_at >= claim_cutoff(now))
        .options(joinedload(TriageClaim.user)))}
    entries = []
    for row in rows:
        signals = scoring.Signals(row.source, row.kind, texts.get(row.thread_id, ""),
                                  row.waiting_since, row.thread_id in flagged,
                                  recent[row.thread_id])
        points, reasons = scoring.score(signals, now, current_app.config)
        entries.append(Entry(row.thread, row.kind, row.waiting_since, points, reasons,
                             claims.get(row.thread_id)))
    entries.sort(key=lambda e: (-e.score, e.thread.id))
    return entries


def suggestions(entry: Entry, limit: int = 3) -> list[Suggestion]:
    """The best answers of the most similar solved threads (the search's similar-questions on
    the complaint's title and text)."""
    question = entry.thread.posts[0].body_source if entry.thread.posts else ""
    found = []
    for other in search_service.similar(f"{entry.thread.title} {question}", limit=limit * 3):
        if other.id == entry.thread.id or other.status != "solved":
            continue
        best = answers.best_answer(other)
        if best is not None and not best.is_pending:
            found.append(Suggestion(other, best))
        if len(found) == limit:
            break
    return found


def queue(viewer: User | None, *, limit: int = 30, cursor: str | None = None,
          channel: str | None = None, tag: str | None = None, claimed: str | None = None,
          with_suggestions: bool = True) -> Page[Entry]:
    """Threads waiting for staff, highest score first. Staff, moderators and admins. Raises
    Unauthorized, Forbidden, Invalid (channel, claimed), BadRequest (cursor)."""
    permissions.require(viewer, "triage.read")
    after = decode_cursor(cursor, SORT, int) if cursor else None
    now = utcnow()
    rows = list(db.session.scalars(
        select(TriageItem).where(*_filters(viewer, now, channel, tag, claimed))
        .order_by(TriageItem.waiting_since, TriageItem.thread_id)
        .limit(current_app.config["TRIAGE_CANDIDATES"])
        .options(joinedload(TriageItem.thread).joinedload(Thread.author),
                 joinedload(TriageItem.thread).selectinload(Thread.tags))))
    entries = score_candidates(rows, now)
    if after is not None:
        key, last_id = after
        entries = [e for e in entries if (-_key(e), e.thread.id) > (-key, last_id)]
    page, more = entries[:limit], len(entries) > limit
    if with_suggestions:
        for entry in page:
            entry.suggestions = suggestions(entry)
    next_cursor = encode_cursor(SORT, _key(page[-1]), page[-1].thread.id) if more else None
    return Page(page, next_cursor)


def _key(entry: Entry) -> int:
    return int(round(entry.score * 100))
