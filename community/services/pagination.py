"""Keyset (cursor) pagination: page 1,000 costs what page 1 costs.

A cursor is an opaque, URL-safe token holding the sort name and the last row's sort key and id;
the next page asks for rows strictly after that key in the list's order, which an index ending in
`id` answers directly, whatever the depth.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, Sequence, TypeVar

from sqlalchemy import Select, literal, tuple_
from sqlalchemy.orm import InstrumentedAttribute

from community.services.errors import BadRequest

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    items: Sequence[T]
    next_cursor: str | None


def encode_cursor(sort: str, key: Any, row_id: int) -> str:
    if isinstance(key, datetime):
        key = {"t": key.isoformat()}
    raw = json.dumps([sort, key, row_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


# Cursors are client input: ids and scores must fit a 32-bit column, times must carry a zone.
_INT_LIMIT = 2**31
CURSOR_MAX = 512  # ours are under 120 characters


def _valid_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and -_INT_LIMIT < value < _INT_LIMIT


def decode_cursor(cursor: str, sort: str, key_type: type) -> tuple[Any, int]:
    """Return (key, id) from a cursor made for `sort`; BadRequest `cursor.invalid` otherwise."""
    try:
        if len(cursor) > CURSOR_MAX:
            raise ValueError("too long")
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        cursor_sort, key, row_id = json.loads(raw)
        if key_type is datetime:
            key = datetime.fromisoformat(key["t"])
            if key.tzinfo is None:
                raise ValueError("naive time")
        elif not _valid_int(key):
            raise ValueError(key)
        if cursor_sort != sort or not _valid_int(row_id):
            raise ValueError(cursor_sort)
    except (ValueError, TypeError, KeyError, IndexError, UnicodeDecodeError, OverflowError,
            RecursionError):  # "[[[[..." nested deeper than the JSON decoder goes
        raise BadRequest("cursor.invalid", "The cursor is not valid for this list.") from None
    return key, row_id


def keyset_page(query: Select, sort: str, key_column: InstrumentedAttribute,
                id_column: InstrumentedAttribute, cursor: str | None, limit: int,
                session) -> Page:
    """Run `query` in descending (key, id) order from after `cursor`, `limit` rows at a time."""
    if cursor:
        key, row_id = decode_cursor(cursor, sort, key_column.type.python_type)
        query = query.where(tuple_(key_column, id_column) < tuple_(
            literal(key, type_=key_column.type), literal(row_id, type_=id_column.type)))
    query = query.order_by(key_column.desc(), id_column.desc()).limit(limit + 1)
    rows = list(session.scalars(query).unique())
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        next_cursor = encode_cursor(sort, getattr(last, key_column.key), getattr(last, id_column.key))
    return Page(rows, next_cursor)
