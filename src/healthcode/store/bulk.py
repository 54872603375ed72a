"""Bulk writes on PostgreSQL: one ``INSERT ... SELECT ... FROM unnest(...)`` for many rows.

SQLAlchemy's executemany (or "insertmanyvalues") sends one statement, or one ``VALUES`` tuple,
per row, with every value a separate parameter. Here each column travels as one array
parameter, and the server unpacks them: one statement, one round trip and one parse for a whole
batch, whatever its size. Only PostgreSQL has ``unnest`` of several arrays; callers keep their
portable path for SQLite.

Each array is sent as the text of a PostgreSQL array literal (``{"a","b",NULL}``), written here
with ``str.join``: psycopg's own list adaptation dumps element by element in Python and cost
more than the insert itself. Values go through the columns' own bind processing where a column
type has it (``UTCDateTime`` refuses naive datetimes and stores UTC); JSON values are written
with ``json.dumps`` (``None`` becomes SQL NULL).

>>> array_literal(["a", None, 7])
'{"a",NULL,"7"}'
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import FromClause
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session
from sqlalchemy.types import TypeDecorator

__all__ = ["array_literal", "insert_unnest", "is_postgresql"]

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
    params: dict[str, Any] = {}
    arrays: list[str] = []
    selects: list[str] = []
    for i, name in enumerate(names):
        column = table.c[name]
        values = [row[name] for row in rows]
        if isinstance(column.type, TypeDecorator):
            process = column.type.process_bind_param
            values = [process(v, dialect) for v in values]
        sql_type = column.type.compile(dialect=_PG)
        if sql_type in ("JSON", "JSONB"):
            values = [None if v is None else json.dumps(v, ensure_ascii=False) for v in values]
        arrays.append(f"CAST(%(c{i})s AS {sql_type}[])")
        selects.append(f"u.c{i}")
        params[f"c{i}"] = array_literal(values)
    aliases = ", ".join(f"c{i}" for i in range(len(names)))
    sql = (
        f"INSERT INTO {_quote(name_of(table))} ({', '.join(_quote(n) for n in names)}) "
        f"SELECT {', '.join(selects)} FROM unnest({', '.join(arrays)}) AS u({aliases}) "
        f"{on_conflict}"
    )
    if returning:
        sql += " RETURNING " + ", ".join(_quote(n) for n in returning)
    result = session.connection().exec_driver_sql(sql, params)
    return [tuple(row) for row in result] if returning else []


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
    quoted (backslash and double quote escaped) but integers, ``None`` as NULL, bytes as bytea
    hex."""
    types = set(map(type, values))
    if types == {str}:
        # The common case, at C speed: text with nothing to escape.
        joined = '","'.join(values)
        if "\\" not in joined and '"' not in joined:
            return '{"' + joined + '"}'
        # Text with quotes (JSON): escaped in one pass over the whole, the elements held
        # apart by NUL, which PostgreSQL text cannot contain (such a value takes the slow path
        # and is refused by the server as before).
        joined = "\0".join(values)
        if joined.count("\0") == len(values) - 1:
            escaped = joined.replace("\\", "\\\\").replace('"', '\\"')
            return '{"' + escaped.replace("\0", '","') + '"}'
    elif types == {int}:  # integers need no quotes (bool is another type: not here)
        return "{" + ",".join(map(str, values)) + "}"
    elif types == {datetime}:
        if any(v.tzinfo is None for v in values):
            raise ValueError("naive datetime in a bulk insert")
        return '{"' + '","'.join([v.isoformat() for v in values]) + '"}'
    elif types <= {bytes, type(None)}:  # bytea as hex ('\\x...' inside the literal)
        return "{" + ",".join([_NULL if v is None else _hex(v) for v in values]) + "}"
    return "{" + ",".join(map(_element, values)) + "}"


_NULL = "NULL"


def _hex(value: bytes) -> str:
    return '"\\\\x' + value.hex() + '"'
