"""Bulk writes on PostgreSQL: one ``INSERT ... SELECT ... FROM unnest(...)`` for many rows.

SQLAlchemy's executemany (or "insertmanyvalues") sends one statement, or one ``VALUES`` tuple,
per row, with every value a separate parameter. Here each column travels as one array
parameter, and the server unpacks them: one statement, one round trip and one parse for a whole
batch, whatever its size. Only PostgreSQL has ``unnest`` of several arrays; callers keep their
portable path for SQLite.

Each array is sent as the text of a PostgreSQL array literal (``{"a","b",NULL}``): psycopg's
own list adaptation dumps element by element in Python and cost more than the insert itself.
Values go through the columns' own bind processing where a column type has it (``UTCDateTime``
refuses naive datetimes and stores UTC); JSON values are written with ``json.dumps`` (``None``
becomes SQL NULL). A column with the same value in every row (a batch's time, kind or
organisation) travels as one parameter, not an array of copies.

>>> array_literal(["a", None, 7])
'{"a",NULL,"7"}'
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import FromClause
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session
from sqlalchemy.types import TypeDecorator

__all__ = ["array_literal", "execute_fetch", "insert_unnest", "is_postgresql"]

_PG = postgresql.dialect()  # type: ignore[no-untyped-call]


def is_postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def name_of(table: FromClause) -> str:
    name = getattr(table, "name", None)
    if not isinstance(name, str):
        raise TypeError("a bulk insert goes into a table")
    return name


def _quote(name: str) -> str:
    return str(_PG.identifier_preparer.quote(name))


def insert_unnest(
    session: Session,
    table: FromClause,
    rows: Sequence[Mapping[str, Any]],
    *,
    on_conflict: str = "",
    returning: Sequence[str] = (),
) -> list[tuple[Any, ...]]:
    """Insert ``rows`` (dicts with the same keys, column names of ``table``) in one statement,
    in the caller's transaction; the ``returning`` columns of the inserted rows (in no promised
    order: map them by a key). ``on_conflict`` is appended as written (``ON CONFLICT ...``;
    ``excluded`` and the table's name may be used in it)."""
    if not rows:
        return []
    dialect = session.get_bind().dialect
    names = list(rows[0])
    columns = [[row[name] for row in rows] for name in names]
    # One row: every value a plain parameter (a SELECT without FROM gives one row).
    same = [len(v) == 1 or v.count(v[0]) == len(v) for v in columns]
    if all(same) and len(rows) > 1:  # at least one array, for the number of rows
        same[0] = False
    params: dict[str, Any] = {}
    arrays: list[str] = []
    aliases: list[str] = []
    selects: list[str] = []
    for i, name in enumerate(names):
        column = table.c[name]
        sql_type = _sql_type(column)
        if same[i]:
            # The same value in every row (the batch's time, kind, organisation): one
            # parameter instead of an array of copies.
            params[f"c{i}"] = _bound(column, columns[i][:1], dialect, sql_type)[0]
            selects.append(f"CAST(%(c{i})s AS {sql_type})")
        else:
            params[f"c{i}"] = array_literal(_bound(column, columns[i], dialect, sql_type))
            arrays.append(f"CAST(%(c{i})s AS {sql_type}[])")
            aliases.append(f"c{i}")
            selects.append(f"u.c{i}")
    source = f" FROM unnest({', '.join(arrays)}) AS u({', '.join(aliases)})" if arrays else ""
    sql = (
        f"INSERT INTO {_quote(name_of(table))} ({', '.join(_quote(n) for n in names)}) "
        f"SELECT {', '.join(selects)}{source} {on_conflict}"
    )
    if returning:
        sql += " RETURNING " + ", ".join(_quote(n) for n in returning)
    return execute_fetch(session, sql, params) if returning else _execute(session, sql, params)


def _bound(column: Any, values: list[Any], dialect: Any, sql_type: str) -> list[Any]:
    """``values`` as the column's own bind processing makes them (``UTCDateTime``...), JSON
    values as text."""
    if isinstance(column.type, TypeDecorator):
        process = column.type.process_bind_param
        values = [process(v, dialect) for v in values]
    if sql_type in ("JSON", "JSONB"):
        values = [_json(v) for v in values]
    return values


@functools.cache
def _sql_type(column: Any) -> str:
    """The PostgreSQL type of ``column`` (compiled once per column)."""
    return str(column.type.compile(dialect=_PG))


def execute_fetch(session: Session, sql: str, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
    """Run ``sql`` (psycopg ``%(name)s`` parameters) on the session's connection, in its
    transaction, and fetch every row at once through the driver (SQLAlchemy's result makes a
    Python call per row; a batch's RETURNING has thousands)."""
    cursor = session.connection().connection.cursor()
    try:
        cursor.execute(sql, params)
        return [tuple(row) for row in cursor.fetchall()]
    finally:
        cursor.close()


def _execute(session: Session, sql: str, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
    session.connection().exec_driver_sql(sql, dict(params))
    return []


#: ``json.dumps(value, ensure_ascii=False)`` without building an encoder for every value.
_JSON_ENCODER = json.JSONEncoder(ensure_ascii=False)


def _json(value: Any) -> str | None:
    return None if value is None else _JSON_ENCODER.encode(value)


def _element(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, str):
        text = value
    elif isinstance(value, bytes | bytearray | memoryview):
        text = "\\x" + bytes(value).hex()
    elif isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("naive datetime in a bulk insert")
        text = value.isoformat()
    elif isinstance(value, bool):
        text = "t" if value else "f"
    elif isinstance(value, int | float):
        text = repr(value)
    else:
        raise TypeError(f"no array literal for {type(value).__name__}")
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def array_literal(values: Sequence[Any]) -> str:
    """The text of a one-dimensional PostgreSQL array literal of ``values``: every element
    quoted (backslash and double quote escaped), ``None`` as NULL, bytes as bytea hex."""
    return "{" + ",".join(map(_element, values)) + "}"
