"""Declarative base with a naming convention, a UTC datetime type, the timestamps mixin and `db`."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import datetime, timezone

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import (
    Connection,
    DateTime,
    MetaData,
    Table,
    TypeDecorator,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, registry

# Stable constraint names so Alembic autogenerate gives the same migration on every database.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


# Ids are INTEGER columns (32-bit on PostgreSQL): a larger number names no row, and sending it to
# the database would be an overflow error rather than "not found".
MAX_ID = 2**31 - 1


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores naive UTC and always hands back an aware UTC datetime, on SQLite and PostgreSQL alike."""

    impl = DateTime
    cache_ok = True

    @property
    def python_type(self) -> type:
        return datetime

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are ambiguous; pass an aware UTC datetime")
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=timezone.utc)


class Base(DeclarativeBase):
    # One registry carrying both settings: Flask-SQLAlchemy copies the class body into its own
    # base, and SQLAlchemy refuses a copied registry beside a separate type_annotation_map.
    registry = registry(metadata=MetaData(naming_convention=NAMING_CONVENTION),
                        type_annotation_map={datetime: UTCDateTime()})


# Flask-SQLAlchemy's handle (unbound until create_app); re-exported by community.extensions.
db = SQLAlchemy(model_class=Base, disable_autonaming=True)


class Timestamped:
    created_at: Mapped[datetime] = mapped_column(default=utcnow, nullable=False)


def insert_rows(connection: Connection, table: Table, rows: Sequence[dict]) -> list[int]:
    """INSERT `rows` into `table` on the caller's transaction; their new ids, in order.

    Core, not the ORM: a burst (the social bridge's intake) creates hundreds of users, threads
    and posts at once, and the ORM's per-object bookkeeping cost more than the rows. PostgreSQL
    returns generated ids in parameter order from batched INSERTs. SQLite cannot (SQLAlchemy
    would insert row by row), so several rows are numbered after the table's largest id and
    inserted with one executemany; those numbers stay free because a write that changes nothing
    first takes SQLite's single write lock, which this transaction then keeps until it ends.
    """
    if not rows:
        return []
    if connection.dialect.name != "sqlite" or len(rows) == 1:
        statement = insert(table).returning(table.c.id, sort_by_parameter_order=True)
        return list(connection.scalars(statement, list(rows)))
    connection.execute(update(table).where(table.c.id == -1).values(id=table.c.id))
    last = connection.scalar(select(func.coalesce(func.max(table.c.id), 0)))
    ids = list(range(last + 1, last + 1 + len(rows)))
    connection.execute(insert(table), [{**row, "id": row_id} for row, row_id in zip(rows, ids)])
    return ids


def insert_new(connection: Connection, table: Table, unique: Sequence[str],
               rows: Sequence[dict]) -> list[int]:
    """INSERT ... ON CONFLICT (unique) DO NOTHING for each row: the new rows' ids, in order.

    A repeated delivery, or the same row asked for twice, stores nothing new without a read
    first. Core (the ORM costs more than the row), the rows as parameters of one cached
    statement (SQLAlchemy batches them into multi-row INSERTs).
    """
    if not rows:
        return []
    statement = _insert_new_statement(table, tuple(unique), connection.dialect.name)
    return sorted(connection.scalars(statement, list(rows)))


@functools.cache
def _insert_new_statement(table: Table, unique: tuple[str, ...], dialect: str):
    """Built once: SQLAlchemy caches a statement's compiled form by its structure, which it
    would otherwise work out again for every delivery."""
    insert_for = postgresql_insert if dialect == "postgresql" else sqlite_insert
    return insert_for(table).on_conflict_do_nothing(index_elements=list(unique)) \
        .returning(table.c.id)
