"""The one declarative base, with named constraints, and the column types every model shares.

Constraint names follow one convention (``pk_``, ``uq_``, ``ix_``, ``fk_``, ``ck_``), so that
Alembic migrations can name what they change on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, Integer, MetaData
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

__all__ = ["NAMING_CONVENTION", "Base", "BigId", "Json", "JsonAsWritten", "UTCDateTime"]

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

#: A 64-bit surrogate key; on SQLite an INTEGER PRIMARY KEY (the rowid) so it autoincrements.
BigId = BigInteger().with_variant(Integer(), "sqlite")

#: JSON documents; JSONB on PostgreSQL.
Json = JSON().with_variant(JSONB(), "postgresql")
#: JSON kept as written, key order included (``json`` on PostgreSQL): an answer given again.
JsonAsWritten = JSON()


class UTCDateTime(TypeDecorator[datetime]):
    """An aware instant, stored as UTC (``timestamptz`` on PostgreSQL, naive UTC on SQLite).

    Naive datetimes are refused: every instant in the project carries its offset.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    """Every table of the project hangs off this metadata."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
