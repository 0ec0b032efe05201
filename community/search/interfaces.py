"""The search interface: the SearchIndex protocol and the dataclasses it takes and returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable, Iterable, Protocol

from community.search.documents import SearchDocument


@dataclass(frozen=True)
class SearchQuery:
    text: str
    status: str | None = None
    tag: str | None = None
    author: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    sort: str = "relevance"          # or "recent"
    offset: int = 0
    limit: int = 20


@dataclass(frozen=True)
class Hit:
    thread_id: int
    score: float
    snippet: str                    # HTML: escaped text with <mark> around matched words


@dataclass(frozen=True)
class Results:
    hits: list[Hit]
    total: int
    suggestion: str | None = None   # "did you mean", when the query as typed found little
    corrected: bool = False         # True when hits are for the suggestion, not the query


@dataclass(frozen=True)
class Drift:
    missing: list[int] = field(default_factory=list)   # in the database, not in the index
    extra: list[int] = field(default_factory=list)     # in the index, not (visible) in the database
    stale: list[int] = field(default_factory=list)     # in both, but the index has an old version

    @property
    def clean(self) -> bool:
        return not (self.missing or self.extra or self.stale)


class SearchIndex(Protocol):
    def index(self, documents: Iterable[SearchDocument]) -> None: ...
    def remove(self, thread_ids: Iterable[int]) -> None: ...
    def search(self, query: SearchQuery) -> Results: ...
    def similar(self, text: str, limit: int = 5, exclude: int | None = None) -> list[Hit]: ...
    def rebuild(self, documents: Iterable[SearchDocument],
                progress: Callable[[int], None] | None = None) -> int: ...
    def check(self, documents: Iterable[SearchDocument]) -> Drift: ...
