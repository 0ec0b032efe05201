"""Index writes in a child process, so they do not hold the server's GIL.

Whoosh is pure Python: analysing documents and writing segments is CPU work, and in the server
process it competes for the one interpreter lock with every request (a quarter of the server's
time in a burst of bridged complaints, while the machine's other core sat half idle). The server
keeps reading the index itself (searches open the latest commit from disk, whoever made it) and
hands each batch of writes to a child it starts on first use: `python -m
community.search.writer_child PATH`, speaking length-prefixed pickles over its stdin and
stdout (a private pipe between the two processes, never a socket). Whoosh's file lock orders the
child's commits with any other writer's (another server process's child, the CLI's rebuild).

The child exits when its stdin closes, which is also what happens if the server dies. A child
that died is started again for the next batch; a batch it was writing when it died is tried
once more in the new one.

This module is the server's side and the framing both sides use; the child's side is
writer_child.py, apart so that this one never imports the index that imports it.
"""

from __future__ import annotations

import pickle
import struct
import subprocess
import sys
import threading
from typing import Any, BinaryIO

_LENGTH = struct.Struct("!I")


class WriterGone(RuntimeError):
    """The child stopped before answering."""


def send_message(stream: BinaryIO, message: Any) -> None:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_LENGTH.pack(len(data)) + data)
    stream.flush()


def receive_message(stream: BinaryIO) -> Any:
    header = stream.read(_LENGTH.size)
    if len(header) < _LENGTH.size:
        raise EOFError
    (length,) = _LENGTH.unpack(header)
    data = stream.read(length)
    if len(data) < length:
        raise EOFError
    return pickle.loads(data)


class WriterProcess:
    """The server's side: `call("index", documents)` or `call("remove", thread_ids)` returns
    once the child has committed them, and raises what the child raised."""

    def __init__(self, path: str) -> None:
        self._path = path
        self._lock = threading.Lock()  # one batch at a time on the pipe
        self._child: subprocess.Popen | None = None

    def call(self, operation: str, payload: list) -> None:
        with self._lock:
            try:
                answer = self._exchange(operation, payload)
            except WriterGone:
                answer = self._exchange(operation, payload)  # in a new child
        status, detail = answer
        if status != "ok":
            raise RuntimeError(f"search index writer failed: {detail}")

    def _exchange(self, operation: str, payload: list) -> tuple[str, str]:
        child = self._running()
        try:
            send_message(child.stdin, (operation, payload))
            return receive_message(child.stdout)
        except (OSError, EOFError):
            self.close()
            raise WriterGone(f"the index writer for {self._path} stopped") from None

    def _running(self) -> subprocess.Popen:
        if self._child is not None and self._child.poll() is not None:
            self.close()  # it died between batches: release its pipes
        if self._child is None:
            self._child = subprocess.Popen(
                [sys.executable, "-m", "community.search.writer_child", self._path],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, close_fds=True)
        return self._child

    def close(self) -> None:
        """Stop the child (it finishes the batch it has, then sees its stdin close)."""
        child, self._child = self._child, None
        if child is None:
            return
        for stream in (child.stdin, child.stdout):
            try:
                stream.close()
            except OSError:
                pass
        try:
            child.wait(timeout=30)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()

    @property
    def pid(self) -> int | None:
        return self._child.pid if self._child is not None else None
