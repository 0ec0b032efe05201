"""Search behind a small interface (interfaces.py): index, remove, search, similar, rebuild, check.

The database is the source of truth; a backend only ever receives documents
(search/documents.py) and answers with thread ids. The backend is chosen by the SEARCH_BACKEND
setting: "whoosh" (files under instance/, the default) or "memory" (Whoosh in RAM, for tests).
"""

from __future__ import annotations

from flask import Flask, current_app

from community.search.interfaces import Drift, Hit, Results, SearchIndex, SearchQuery
from community.search.whoosh_index import WhooshIndex

__all__ = ["Drift", "Hit", "Results", "SearchIndex", "SearchQuery", "get_index", "init_app"]

_EXTENSION = "community.search"


def init_app(app: Flask) -> None:
    backend = app.config["SEARCH_BACKEND"]
    if backend == "whoosh":
        path = app.config["SEARCH_INDEX_PATH"] or f"{app.instance_path}/search-index"
        writer = app.config["SEARCH_INDEX_WRITER"]
        if writer not in ("process", "thread"):
            raise RuntimeError(f"unknown SEARCH_INDEX_WRITER {writer!r}: use 'process' or 'thread'")
        app.extensions[_EXTENSION] = WhooshIndex.on_disk(path, writer_process=writer == "process")
    elif backend == "memory":
        app.extensions[_EXTENSION] = WhooshIndex.in_memory()
    else:
        raise RuntimeError(f"unknown SEARCH_BACKEND {backend!r}: use 'whoosh' or 'memory'")


def get_index() -> SearchIndex:
    return current_app.extensions[_EXTENSION]
