"""The search indexer: committed changes reach the search index, a burst at a time.

Commits only queue thread ids: after-commit subscribers must not use the committing session,
and a second connection per request would starve the pool under load. One thread reads each
burst back and writes it to the index (Whoosh's lock keeps several processes' indexers in
turn); the pause lets a burst become one write, which has a fixed cost.

The queue lives in memory, so a process killed mid-burst leaves threads stale in the index.
With SEARCH_RECONCILE_AT_START, a server process's first request queues a reconciliation on
the same thread (services/search.py `reconcile`): requests do not wait for it, and CLI
commands, which serve none, do not run it.
"""

from __future__ import annotations

import logging
import threading

from flask import Flask

from community.services import events
from community.services import search as search_service
from community.workers.worker import Worker, running

NAME = "search-indexer"
RECONCILE = "reconcile"  # queued instead of a thread id: compare the whole index with the database

log = logging.getLogger(__name__)


def subscriber(app: Flask, workers: dict[str, Worker]) -> events.Subscriber:
    indexer = workers[NAME] = Worker(
        app, NAME, index,
        gather_seconds=app.config["SEARCH_INDEX_GATHER_SECONDS"],
        gather_max_seconds=app.config["SEARCH_INDEX_GATHER_MAX_SECONDS"])
    if app.config["SEARCH_RECONCILE_AT_START"]:
        first = threading.Lock()  # taken by the first request, never released

        def reconcile_once() -> None:
            if first.acquire(blocking=False):
                indexer.submit(RECONCILE)

        app.before_request(reconcile_once)

    def on_commit(event: events.Event) -> None:
        thread_id = event.data.get("thread_id")
        if thread_id is not None:
            indexer.submit(thread_id)

    return on_commit


def index(items: list[int | str]) -> None:
    """Re-index a batch of threads; reconcile the whole index when asked to."""
    thread_ids = {item for item in items if item != RECONCILE}
    if thread_ids:
        search_service.reindex(thread_ids)
    if RECONCILE in items:
        changed = search_service.reconcile()
        log.log(logging.WARNING if changed else logging.INFO,
                "search index reconciled with the database: %s thread(s) re-indexed", changed)


def flush(timeout: float = 30.0) -> bool:
    """Wait for this process's pending index updates (tests, the CLI, benchmarks)."""
    return running(NAME).flush(timeout)
