"""Search use-cases: finding threads, similar questions while asking, related threads, and
keeping the index in step with the database (`reindex`, which the search-indexer worker runs
after commits, and rebuild/check)."""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict, defaultdict
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable, Iterable, Iterator

from flask import Flask, current_app
from sqlalchemy import ColumnElement, Connection, func, select
from sqlalchemy.orm import joinedload, selectinload

from community.extensions import db
from community.models import Post, Tag, Thread, User, thread_tags
from community.models.threads import THREAD_STATUSES
from community.search import Drift, Hit, SearchQuery, get_index
from community.search.documents import SearchDocument, thread_document
from community.services.errors import Invalid
from community.services.pagination import decode_cursor, encode_cursor
from community.services.threads import normalize_tags

log = logging.getLogger(__name__)

SORTS = ("relevance", "recent")
QUERY_MAX = 200
RELATED_SECONDS = 300.0   # how long a thread page reuses its related threads
RELATED_KEPT = 5000       # threads whose related threads a process keeps
_RELATED = "community.related_threads"


@dataclass(frozen=True)
class Found:
    thread: Thread
    hit: Hit


@dataclass(frozen=True)
class SearchPage:
    items: list[Found]
    next_cursor: str | None
    total: int
    suggestion: str | None
    corrected: bool


def _threads_by_id(ids: list[int], session=None) -> dict[int, Thread]:
    session = session or db.session
    rows = session.scalars(select(Thread).where(Thread.id.in_(ids), Thread.is_hidden.is_(False))
                           .options(joinedload(Thread.author), selectinload(Thread.tags)))
    return {thread.id: thread for thread in rows}


def parse_day(raw: str | None, field: str, *, end: bool = False) -> datetime | None:
    """A YYYY-MM-DD filter as an aware UTC moment (the end of that day for `end`)."""
    if not raw:
        return None
    try:
        day = datetime.strptime(raw, "%Y-%m-%d").replace(tzinfo=timezone.utc)
    except ValueError:
        raise Invalid(field, f"{field}.invalid", f"{field} is a date like 2026-11-23.") from None
    if not end:
        return day
    # 9999-12-31 ends at the last moment a datetime holds (one day later does not exist).
    return day.replace(hour=23, minute=59, second=59, microsecond=999999)


def search(viewer, text: str, *, status: str | None = None, tag: str | None = None,
           author: str | None = None, since: datetime | None = None,
           until: datetime | None = None, sort: str = "relevance", cursor: str | None = None,
           limit: int = 20) -> SearchPage:
    """Threads matching `text`, best first (or newest first), with highlighted snippets.

    Anyone may search; only visible threads are ever indexed. Raises Invalid for a bad filter
    and BadRequest for a bad cursor.
    """
    text = text.strip()
    if not text:
        raise Invalid("q", "q.required", "Type something to search for.")
    if len(text) > QUERY_MAX:
        raise Invalid("q", "q.too_long", f"Searches are at most {QUERY_MAX} characters.")
    if status is not None and status not in THREAD_STATUSES:
        raise Invalid("status", "status.invalid", f"status is one of {', '.join(THREAD_STATUSES)}.")
    if sort not in SORTS:
        raise Invalid("sort", "sort.invalid", f"sort is one of {', '.join(SORTS)}.")
    if tag is not None:
        tag = normalize_tags([tag])[0]
    offset = decode_cursor(cursor, f"search-{sort}", int)[0] if cursor else 0
    _ensure_ready()
    results = get_index().search(SearchQuery(text=text, status=status, tag=tag, author=author,
                                             since=since, until=until, sort=sort, offset=offset,
                                             limit=limit))
    threads = _threads_by_id([hit.thread_id for hit in results.hits])
    items = [Found(threads[hit.thread_id], hit) for hit in results.hits if hit.thread_id in threads]
    more = offset + limit < results.total
    return SearchPage(items, encode_cursor(f"search-{sort}", offset + limit, 0) if more else None,
                      results.total, results.suggestion, results.corrected)


def similar(title: str, limit: int = 5) -> list[Thread]:
    """Up to `limit` threads like a question still being typed, solved ones first."""
    title = title.strip()[:QUERY_MAX]
    if len(title) < 3:
        return []
    _ensure_ready()
    hits = get_index().similar(title, limit=limit)
    threads = _threads_by_id([hit.thread_id for hit in hits])
    return [threads[hit.thread_id] for hit in hits if hit.thread_id in threads]


def related(thread: Thread, limit: int = 5) -> list[Thread]:
    """Threads like this one (by title and tags), for the thread page.

    Every rendered thread page asks (members never get the cached page), so the ids found are
    kept per thread for RELATED_SECONDS in this process, keyed by what the query is made of (a
    new title or tags asks again). Threads written since then join the list when the entry
    expires; hidden and deleted ones leave it at once, since the threads are read from the
    database on every call.
    """
    text = f"{thread.title} {' '.join(thread.tag_names)}"
    ids = current_app.extensions[_RELATED].get((thread.id, text, limit))
    if ids is None:
        _ensure_ready()
        ids = [hit.thread_id for hit in get_index().similar(text, limit=limit, exclude=thread.id)]
        current_app.extensions[_RELATED].put((thread.id, text, limit), ids)
    threads = _threads_by_id(ids) if ids else {}
    return [threads[thread_id] for thread_id in ids if thread_id in threads]


class _Recent:
    """A small in-process LRU whose entries expire after `seconds`."""

    def __init__(self, size: int, seconds: float) -> None:
        self._entries: OrderedDict = OrderedDict()
        self._size = size
        self._seconds = seconds
        self._lock = threading.Lock()

    def get(self, key):
        with self._lock:
            found = self._entries.get(key)
            if found is None:
                return None
            if found[0] < time.monotonic():
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return found[1]

    def put(self, key, value) -> None:
        with self._lock:
            self._entries[key] = (time.monotonic() + self._seconds, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


# ---- keeping the index in step --------------------------------------------------------------

_THREADS, _POSTS, _USERS, _TAGS = (Thread.__table__, Post.__table__, User.__table__,
                                   Tag.__table__)


def _documents(connection: Connection, batch: int = 500) -> Iterator[SearchDocument]:
    """Every visible thread's document, loaded in batches (the database is the truth)."""
    last_id = 0
    while documents := _load_documents(connection, _THREADS.c.id > last_id, limit=batch):
        yield from documents
        last_id = documents[-1].id


def _load_documents(connection: Connection, which: ColumnElement[bool],
                    limit: int | None = None) -> list[SearchDocument]:
    """The documents of the visible threads `which` picks, in id order: three Core reads (the
    threads with their authors' names, their posts, their tags). The indexer reads back every
    thread of a burst, and the ORM's per-object bookkeeping was most of its time."""
    query = (select(_THREADS.c.id, _THREADS.c.title, _THREADS.c.status,
                    _THREADS.c.accepted_answer_id, _THREADS.c.score, _THREADS.c.created_at,
                    _THREADS.c.last_activity_at, _USERS.c.username)
             .join(_USERS, _USERS.c.id == _THREADS.c.author_id)
             .where(_searchable(), which).order_by(_THREADS.c.id).limit(limit))
    threads = connection.execute(query).all()
    ids = [thread.id for thread in threads]
    posts: dict[int, list] = defaultdict(list)
    for post in connection.execute(
            select(_POSTS.c.thread_id, _POSTS.c.id, _POSTS.c.kind, _POSTS.c.body_html,
                   _POSTS.c.is_hidden, _POSTS.c.endorsed_by_id)
            .where(_POSTS.c.thread_id.in_(ids)).order_by(_POSTS.c.id)):
        posts[post.thread_id].append(post)
    tags: dict[int, list[str]] = defaultdict(list)
    for tag in connection.execute(
            select(thread_tags.c.thread_id, _TAGS.c.name)
            .join(_TAGS, _TAGS.c.id == thread_tags.c.tag_id)
            .where(thread_tags.c.thread_id.in_(ids)).order_by(_TAGS.c.name)):
        tags[tag.thread_id].append(tag.name)
    return [thread_document(thread, posts[thread.id], tags[thread.id]) for thread in threads]


def _searchable() -> ColumnElement[bool]:
    """Threads in the index: visible ones, except those closed as a duplicate or merged (search
    shows the original instead)."""
    return (_THREADS.c.is_hidden.is_(False) & _THREADS.c.duplicate_of_id.is_(None)
            & _THREADS.c.merged_into_id.is_(None))


def count_documents() -> int:
    return db.session.scalar(select(func.count()).select_from(_THREADS).where(_searchable()))


def rebuild(progress: Callable[[int], None] | None = None) -> int:
    """Rebuild the whole index from the database; returns the number of threads indexed."""
    with db.engine.connect() as connection:
        count = get_index().rebuild(_documents(connection), progress)
    current_app.extensions[_RELATED].clear()
    return count


def check() -> Drift:
    """Compare the index with the database."""
    with db.engine.connect() as connection:
        return get_index().check(_documents(connection))


def _whole_index():
    """A context yielding True to the one server process that may work on the whole index now
    (several would rebuild it over each other), False to the others."""
    maintenance = getattr(get_index(), "maintenance", None)
    return maintenance() if maintenance else nullcontext(True)


def _ensure_ready() -> None:
    """A missing or corrupt index was recreated empty at start: fill it before first use
    (unless another process is filling it: searches then see what it has written so far)."""
    if getattr(get_index(), "needs_rebuild", False):
        with _whole_index() as ours:
            if ours:
                rebuild()


def reindex(thread_ids: Iterable[int]) -> None:
    """Put threads' current state into the index (taking out hidden and deleted ones)."""
    thread_ids = set(thread_ids)
    with db.engine.connect() as connection:
        documents = _load_documents(connection, _THREADS.c.id.in_(thread_ids))
    get_index().index(documents)
    get_index().remove(thread_ids - {document.id for document in documents})


def reconcile(batch: int = 500) -> int:
    """Bring the index in step with the database after a crash lost queued updates: re-index the
    threads missing or stale there and take out those that should not be (an empty or unreadable
    index is rebuilt); returns how many threads that touched. Each is read again as it is
    written, so a change committed meanwhile is not undone."""
    with _whole_index() as ours:
        if not ours:  # another server process is at it, for every process
            return 0
        if getattr(get_index(), "needs_rebuild", False):
            return rebuild()
        drift = check()
        changed = sorted({*drift.missing, *drift.stale, *drift.extra})
        for start in range(0, len(changed), batch):
            reindex(changed[start:start + batch])
        return len(changed)


def init_app(app: Flask) -> None:
    app.extensions[_RELATED] = _Recent(RELATED_KEPT, RELATED_SECONDS)
