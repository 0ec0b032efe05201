"""The one background worker: a thread per queue that handles items in order, off the request.

After-commit subscribers must not use the committing session (it can emit no more SQL), and
work such as rendering a live update, writing notification rows or calling a channel's API
should not hold up the request that committed. A subscriber hands its item to a `Worker`; the
worker's one thread handles items in the order they came, each inside an app context with its
own database session. `flush()` waits until everything queued has been handled (tests, CLI).
"""

from __future__ import annotations

import atexit
import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

from flask import Flask, current_app

from community.extensions import db

log = logging.getLogger(__name__)

_WORKERS = "community.workers"  # name -> Worker, made by community.workers.init_app


def workers_of(app: Flask) -> dict[str, Worker]:
    """The app's workers by name (community.workers.init_app makes them)."""
    return app.extensions.setdefault(_WORKERS, {})


def running(name: str) -> Worker:
    """This app's worker called `name`."""
    return workers_of(current_app)[name]


class Worker:
    """With `gather_seconds`, the worker waits that long after an item arrives and hands `handle`
    the list of everything queued by then (the search indexer writes a burst at once, and each
    write has a fixed cost). After a batch of `BURST` items or more it waits
    `gather_max_seconds` instead: a burst is under way, and larger batches cost less per item,
    while a lone item still waits only `gather_seconds`.

    With `every`, the worker runs a round when nothing arrived for that many seconds, handing
    `handle` an empty batch: a periodic round (the bridge's sends) that `wake()` brings forward.
    """

    BURST = 10

    def __init__(self, app: Flask, name: str, handle: Callable[[Any], None], *,
                 gather_seconds: float | None = None,
                 gather_max_seconds: float | None = None,
                 every: float | None = None) -> None:
        self._app = app
        self.name = name
        self._handle = handle
        self._gather = 0.0 if every is not None and gather_seconds is None else gather_seconds
        self._gather_max = max(gather_max_seconds or 0.0, self._gather or 0.0)
        self._every = every
        self._last_batch = 0
        self._queue: queue.Queue[Any] = queue.Queue()
        self._start = threading.Lock()
        self._thread: threading.Thread | None = None
        self._running = False
        # What went wrong, newest last (tests assert it stays empty; production only logs).
        self.failures: list[str] = []
        atexit.register(self.flush, 10.0)

    @property
    def in_burst(self) -> bool:
        """Items are waiting, and the last batch was a burst's."""
        return self._queue.unfinished_tasks > 0 and self._after_burst

    @property
    def _after_burst(self) -> bool:
        return self._last_batch >= self.BURST

    def start(self) -> None:
        """Start the worker's thread unless it runs (a periodic worker must run unasked)."""
        with self._start:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self.run_forever, name=self.name,
                                                daemon=True)
                self._thread.start()

    def submit(self, item: Any) -> None:
        self.start()
        self._queue.put(item)

    def wake(self) -> None:
        """Run a periodic worker's round now, if it runs (in tests and the CLI it may not)."""
        if self._running:
            self._queue.put(None)

    def flush(self, timeout: float = 30.0) -> bool:
        """Wait until every queued item has been handled; False if that took too long."""
        deadline = time.monotonic() + timeout
        with self._queue.all_tasks_done:
            while self._queue.unfinished_tasks:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._queue.all_tasks_done.wait(left)
        return True

    def run_forever(self, stop: threading.Event | None = None) -> None:
        """Handle items as they come: on the worker's thread, or in the foreground (a worker
        process of its own, such as `community bridge worker`). Returns once `stop` is set."""
        self._running = True
        if self._every is not None:
            self._queue.put(None)  # a periodic worker's first round is at once
        try:
            while stop is None or not stop.is_set():
                self._run_one()
        finally:
            self._running = False

    def _run_one(self) -> None:
        try:
            item = self._next()
        except queue.Empty:  # a periodic worker's quiet interval ran out
            item, queued = [], False
        else:
            queued = True
        try:
            with self._app.app_context():
                try:
                    self._handle(item)
                finally:
                    db.session.remove()
        except Exception as exc:  # one bad item must not stop the worker
            log.exception("%s failed on %r", self.name, item)
            self.failures = [*self.failures[-99:], f"{item!r}: {exc!r}"]
        finally:
            if queued:
                self._queue.task_done()

    def _next(self) -> Any:
        item = self._queue.get(timeout=self._every)
        if self._gather is None:
            return item
        time.sleep(self._gather_max if self._after_burst else self._gather)
        batch = [item]
        while True:
            try:
                batch.append(self._queue.get_nowait())
            except queue.Empty:
                break
            self._queue.task_done()  # the batch's own task_done() stands for the first item
        self._last_batch = len(batch)
        return batch
