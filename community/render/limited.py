"""Rendering long sources in a child process under a time limit.

Python-Markdown and the cleaner are pure Python and linear at best: a long source dense with
markup takes a second or more, and a thread cannot be stopped. So long sources go to a child
(`python -m community.render.child`, started on first use, speaking pickles through
multiprocessing's framing over its stdin and stdout); one that overruns the limit is killed and
its caller gets None, and the next long source starts a new child.
"""

from __future__ import annotations

import atexit
import os
import subprocess
import sys
import threading
import time
from multiprocessing.connection import Connection

START_SECONDS = 30.0  # to import the parser in a new child; not counted against the limit


class _Child:
    def __init__(self) -> None:
        self._lock = threading.Lock()  # one source at a time through the pipe
        self._process: subprocess.Popen | None = None
        self._requests: Connection | None = None
        self._answers: Connection | None = None

    def render(self, source: str, image_hosts: frozenset[str], limit: float) -> str | None:
        """The child's HTML for `source`, or None when it took longer than `limit` seconds
        (waiting behind another long source counts)."""
        started = time.monotonic()
        if not self._lock.acquire(timeout=limit):
            return None
        try:
            if self._process is None and not self._start():
                return None
            remaining = limit - (time.monotonic() - started)
            try:
                self._requests.send((source, image_hosts))
                if remaining > 0 and self._answers.poll(remaining):
                    return self._answers.recv()
            except (OSError, EOFError):
                pass
            self.stop()
            return None
        finally:
            self._lock.release()

    def _start(self) -> bool:
        process = subprocess.Popen([sys.executable, "-m", "community.render.child"],
                                   stdin=subprocess.PIPE, stdout=subprocess.PIPE, close_fds=True)
        self._process = process
        self._requests = Connection(os.dup(process.stdin.fileno()), readable=False)
        self._answers = Connection(os.dup(process.stdout.fileno()), writable=False)
        process.stdin.close()
        process.stdout.close()
        try:
            if self._answers.poll(START_SECONDS) and self._answers.recv() == "ready":
                return True
        except (OSError, EOFError):
            pass
        self.stop()
        return False

    def stop(self) -> None:
        process, self._process = self._process, None
        for connection in (self._requests, self._answers):
            if connection is not None:
                connection.close()
        self._requests = self._answers = None
        if process is not None:
            process.kill()
            process.wait()


_CHILD = _Child()
atexit.register(_CHILD.stop)


def render_limited(source: str, image_hosts: frozenset[str], limit: float) -> str | None:
    """Sanitized HTML for `source` made within `limit` seconds, else None."""
    return _CHILD.render(source, image_hosts, limit)
