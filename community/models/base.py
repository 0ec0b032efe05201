"""Declarative base with a naming convention, a UTC datetime type, the timestamps mixin and `db`."""

from __future__ import annotations

from datetime import datetime, timezone

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import DateTime, MetaData, TypeDecorator
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
