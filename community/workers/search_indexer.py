"""The search indexer: committed changes reach the search index, a burst at a time.

Commits only queue thread ids: after-commit subscribers must not use the committing session,
and a second connection per request would starve the pool under load. One thread reads each
burst back and writes it to the index (Whoosh's lock keeps several processes' indexers in
turn); the pause lets a burst become one write, which has a fixed cost.
"""

from __future__ import annotations

from flask import Flask

from community.services import events
from community.services import search as search_service
from community.workers.worker import Worker, running

NAME = "search-indexer"


def subscriber(app: Flask, workers: dict[str, Worker]) -> events.Subscriber:
    indexer = workers[NAME] = Worker(
        app, NAME, lambda thread_ids: search_service.reindex(set(thread_ids)),
        gather_seconds=app.config["SEARCH_INDEX_GATHER_SECONDS"],
        gather_max_seconds=app.config["SEARCH_INDEX_GATHER_MAX_SECONDS"])

    def on_commit(event: events.Event) -> None:
        thread_id = event.data.get("thread_id")
        if thread_id is not None:
            indexer.submit(thread_id)

    return on_commit


def flush(timeout: float = 30.0) -> bool:
    """Wait for this process's pending index updates (tests, the CLI, benchmarks)."""
    return running(NAME).flush(timeout)
