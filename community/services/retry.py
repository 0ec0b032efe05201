"""Retrying a unit of work that lost a race with a concurrent writer.

Counters and single-winner changes (votes, accepts, endorsements, answer counts) are written as
compare-and-set statements. When two requests race, the loser sees one of: a unique-constraint
violation (both inserted the same vote), zero rows updated (the value it read has changed), a
serialization failure or deadlock (PostgreSQL), or "database is locked" (SQLite, whose snapshot
went stale while another writer committed). In every case the right move is the same: roll
back, re-read, and run the use-case again from the start. Compare warehouse's `db.py`, which
retries on IntegrityError for the same reason.
"""

from __future__ import annotations

import functools
import random
import time
from typing import Callable, ParamSpec, TypeVar

from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from community.extensions import db

P = ParamSpec("P")
R = TypeVar("R")
ATTEMPTS = 12


class LostRace(Exception):
    """Raised inside a use-case when a compare-and-set matched no row."""


def is_conflict(exc: Exception) -> bool:
    """True for the errors of a lost race, which running the use-case again resolves."""
    if isinstance(exc, (LostRace, IntegrityError)):
        return True
    if isinstance(exc, OperationalError) and "locked" in str(exc.orig).lower():
        return True
    # psycopg: 40001 serialization_failure, 40P01 deadlock_detected.
    sqlstate = getattr(getattr(exc, "orig", None), "sqlstate", None)
    return isinstance(exc, DBAPIError) and sqlstate in ("40001", "40P01")


def retry_on_conflict(func: Callable[P, R]) -> Callable[P, R]:
    """Run `func` again (after a rollback and a short random pause) when it loses a race."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        for attempt in range(ATTEMPTS):
            try:
                return func(*args, **kwargs)
            except Exception as exc:
                if not is_conflict(exc) or attempt == ATTEMPTS - 1:
                    raise
                db.session.rollback()
                time.sleep(random.uniform(0, 0.005 * 2 ** min(attempt, 6)))
        raise AssertionError("unreachable")

    return wrapper
