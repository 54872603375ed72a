"""Bulk writes on PostgreSQL: one ``INSERT ... SELECT`` for many rows.

SQLAlchemy's executemany (or "insertmanyvalues") sends one statement, or one ``VALUES`` tuple,
per row, with every value a separate parameter. Here the rows travel as one parameter, the
text of a JSON array of rows (each row an array of its varying columns), written by the C JSON
encoder in one call, and the server unpacks it (``jsonb_array_elements``): one statement, one
round trip and one parse for a whole batch, whatever its size. A JSON column's value (a
record's payload) is nested in the row as it is, so it is written once, in the form stored.
Only PostgreSQL has the JSON functions used; callers keep their portable path for SQLite.

Values go through the columns' own bind processing where a column type has it (``UTCDateTime``
refuses naive datetimes and stores UTC); instants travel as ISO 8601 text with their offset,
bytes as bytea hex text, JSON values as they are (``None`` becomes SQL NULL). A column with the
same value in every row (a batch's time, kind or organisation) travels as one parameter, not a
copy in every row.

Before, each column travelled as the text of a PostgreSQL array literal (``{"a","b",NULL}``),
unpacked with ``unnest``; building those literals took a Python call per value, and every
payload a JSON encoding of its own. ``array_literal`` stays for callers that bind one array.

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

__all__ = ["array_literal", "execute_fetch", "insert_rows", "is_postgresql"]

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


def insert_rows(
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
    if all(same) and len(rows) > 1:  # at least one varying column, for the number of rows
        same[0] = False
    params: dict[str, Any] = {}
    varying: list[list[Any]] = []
    selects: list[str] = []
    for i, name in enumerate(names):
        column = table.c[name]
        sql_type = _sql_type(column)
        if same[i]:
            # The same value in every row (the batch's time, kind, organisation): one
            # parameter instead of a copy in every row.
            params[f"c{i}"] = _bound(column, columns[i][0], dialect, sql_type)
            selects.append(f"CAST(%(c{i})s AS {sql_type})")
        else:
            selects.append(_element_of(len(varying), sql_type))
            varying.append(_json_ready(column, columns[i], dialect, sql_type))
    source = ""
    if varying:
        params["rows"] = _JSON_ENCODER.encode(list(zip(*varying, strict=True)))
        source = " FROM jsonb_array_elements(CAST(%(rows)s AS jsonb)) AS u(r)"
    sql = (
        f"INSERT INTO {_quote(name_of(table))} ({', '.join(_quote(n) for n in names)}) "
        f"SELECT {', '.join(selects)}{source} {on_conflict}"
    )
    if returning:
        sql += " RETURNING " + ", ".join(_quote(n) for n in returning)
    return execute_fetch(session, sql, params) if returning else _execute(session, sql, params)


def _element_of(k: int, sql_type: str) -> str:
    """The SQL of the ``k``-th value of a row ``u.r`` (a JSON array): JSONB values as they are
    (a JSON ``null`` as SQL NULL, as ``_json`` gives it), any other type cast from the text
    (``json`` too: its value travels as its text, so its key order stays as written)."""
    if sql_type == "JSONB":
        return f"NULLIF(u.r->{k}, 'null'::jsonb)"
    return f"CAST(u.r->>{k} AS {sql_type})"


def _bound(column: Any, value: Any, dialect: Any, sql_type: str) -> Any:
    """One ``value`` as the column's own bind processing makes it (``UTCDateTime``...), a JSON
    value as its text."""
    if isinstance(column.type, TypeDecorator):
        value = column.type.process_bind_param(value, dialect)
    return _json(value) if sql_type in ("JSON", "JSONB") else value


def _json_ready(column: Any, values: list[Any], dialect: Any, sql_type: str) -> list[Any]:
    """``values`` of one column as JSON gives them to ``_element_of``: through the column's
    own bind processing (``UTCDateTime``...), instants and bytes as the text PostgreSQL reads
    (ISO 8601 with an offset, bytea hex), JSONB values as they are, JSON values as their text,
    the rest as JSON writes it (text, numbers, booleans, null)."""
    if isinstance(column.type, TypeDecorator):
        process = column.type.process_bind_param
        values = [process(v, dialect) for v in values]
    if sql_type == "JSONB":
        return values
    if sql_type == "JSON":
        return [_json(v) for v in values]
    kinds = set(map(type, values)) - {type(None)}
    if kinds <= {str, int}:
        return values
    return [None if v is None else _element_text(v) for v in values]


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
    text = _element_text(value)
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _element_text(value: Any) -> str:
    """The text PostgreSQL reads for ``value`` (not None) of a non-JSON column."""
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
    return text


def array_literal(values: Sequence[Any]) -> str:
    """The text of a one-dimensional PostgreSQL array literal of ``values``: every element
    quoted (backslash and double quote escaped), ``None`` as NULL, bytes as bytea hex."""
    return "{" + ",".join(map(_element, values)) + "}"
