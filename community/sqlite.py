"""SQLite as the embedded database: its pragmas, and one writer at a time per process.

SQLite lets one transaction write at a time. A connection that finds the write lock taken
waits in SQLite's busy handler, which polls with sleeps growing to 100 ms. Under a burst
(webhooks storing while the bridge intake, the outbox and the notifier write), writers then
sleep while the lock sits free, and the write rate collapses. So within one process writers
queue on a Python lock instead: taken just before a connection's first write statement,
released when its transaction ends, and the next writer wakes at once. Other processes (the CLI,
a separate bridge worker) still meet the busy handler, as before.
"""

from __future__ import annotations

import logging
import re
import threading

from sqlalchemy import Engine, event

log = logging.getLogger(__name__)

BUSY_TIMEOUT_SECONDS = 10
_WRITE = re.compile(r"\s*(INSERT|UPDATE|DELETE|REPLACE|CREATE|DROP|ALTER)\b", re.IGNORECASE)
_HOLDS = "community.holds_writer_lock"


def init_engine(engine: Engine) -> None:
    event.listen(engine, "connect", _pragmas)
    WriterQueue(engine)


def _pragmas(dbapi_connection, connection_record) -> None:
    """WAL lets readers work while one writer commits; foreign keys are off by default in SQLite."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_SECONDS * 1000}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


class WriterQueue:
    """The per-process writer lock described above, hooked into one engine."""

    def __init__(self, engine: Engine) -> None:
        self._lock = threading.Lock()
        self._owner: int | None = None
        event.listen(engine, "before_cursor_execute", self._before_execute)
        event.listen(engine, "commit", self._transaction_ended)
        event.listen(engine, "rollback", self._transaction_ended)
        event.listen(engine, "checkin", self._checked_in)

    def _before_execute(self, conn, cursor, statement, parameters, context, executemany) -> None:
        info = conn.info
        if info.get(_HOLDS) or not _WRITE.match(statement):
            return
        if self._owner == threading.get_ident():
            return  # this thread writes on another connection already: SQLite itself decides
        if not self._lock.acquire(timeout=BUSY_TIMEOUT_SECONDS):
            log.warning("waited %s s for the SQLite writer lock; writing anyway",
                        BUSY_TIMEOUT_SECONDS)
            return
        self._owner = threading.get_ident()
        info[_HOLDS] = True

    def _transaction_ended(self, conn) -> None:
        self._release(conn.info)

    def _checked_in(self, dbapi_connection, connection_record) -> None:
        self._release(connection_record.info)  # a connection returned mid-transaction

    def _release(self, info: dict) -> None:
        if info.pop(_HOLDS, False):
            self._owner = None
            self._lock.release()
