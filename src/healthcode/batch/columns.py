"""Reading rows of the database into a typed Polars frame, a column at a time.

:func:`read_frame` runs one ``SELECT`` (SQLAlchemy Core) on the caller's connection, in its
transaction, and gives a frame typed by ``schema`` (the statement's columns, in order, named
as its keys):

- on PostgreSQL the statement runs as ``COPY (SELECT ...) TO STDOUT (FORMAT csv)`` through
  psycopg, and Polars' CSV reader builds the columns: no Python object per row, and the rows
  can be locked (``FOR UPDATE``) by the same transaction that writes the results back. Times
  travel as UTC text (``timezone('UTC', t)``) and are parsed by Polars;
- on SQLite the driver's rows (tuples of str/int/None) are handed to Polars whole and times
  are parsed by Polars from the text SQLAlchemy stores.

:func:`read_frame_reference` is the plain reference: the rows through SQLAlchemy (its type
processing included), one Python object per value. ``tests/batch`` keeps the two equal.
In CSV, PostgreSQL and Polars agree that an unquoted empty field is NULL and a quoted one
(``""``) an empty string. ``bench/reevaluate.py`` compares this reader with the driver's rows
and with ADBC's Arrow (``adbc-driver-postgresql``): ADBC reads faster still (about 1.4x,
docs/benchmarks.md) but only on a connection of its own, outside the transaction that locks
the rows and writes the results back.

Times are read at microsecond precision as ``Datetime("us", "UTC")``, or cut to the
schema's unit (the facts documents' ``ms``) when the schema asks for it.
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping, Sequence
from typing import Any

import polars as pl
from sqlalchemy import (
    ColumnElement,
    Connection,
    FromClause,
    Select,
    String,
    cast,
    func,
    literal,
    select,
)
from sqlalchemy.dialects import postgresql

from healthcode.store.bulk import array_literal

__all__ = ["in_set", "joined_with_keys", "read_frame", "read_frame_reference"]

#: How SQLAlchemy stores a datetime in SQLite, and how PostgreSQL prints a UTC ``timestamp``.
_TIME_FORMAT = "%Y-%m-%d %H:%M:%S%.f"


def in_set(column: Any, values: Sequence[str], dialect: str) -> ColumnElement[bool]:
    """``column`` is one of ``values``, as one parameter whatever their number: a text array
    on PostgreSQL (``IN unnest``), a JSON array on SQLite (``IN json_each``)."""
    if dialect == "postgresql":
        array = cast(literal(array_literal(list(values)), String()), postgresql.ARRAY(String()))
        # IN (SELECT unnest(...)): a hash join for many values, where "= ANY" probes the
        # index once per value
        return column.in_(select(func.unnest(array)))  # type: ignore[no-any-return]
    items = select(func.json_each(json.dumps(list(values))).table_valued("value").c.value)
    return column.in_(items)  # type: ignore[no-any-return]


def joined_with_keys(
    source: FromClause, column: Any, values: Sequence[str], dialect: str
) -> FromClause:
    """``source`` (inner) joined with the distinct ``values`` on ``column``: its rows whose
    ``column`` is one of them, as :func:`in_set` selects, for many values at once.

    The values travel as one parameter (a text array, ``unnest``, on PostgreSQL; a JSON array,
    ``json_each``, on SQLite) and are joined as a table, not tested by ``IN (SELECT ...)``:
    PostgreSQL then knows their number (``IN`` de-duplicates them first and guesses 200) and
    picks a hash or merge join over a range of ``source`` for a chunk of 100,000 people
    instead of one index probe per value (docs/benchmarks.md).
    """
    distinct = list(dict.fromkeys(values))
    if dialect == "postgresql":
        array = cast(literal(array_literal(distinct), String()), postgresql.ARRAY(String()))
        keys = func.unnest(array).table_valued("key").render_derived(name="hc_keys")
        return source.join(keys, column == keys.c.key)
    each = func.json_each(json.dumps(distinct)).table_valued("value").alias("hc_keys")
    return source.join(each, column == each.c.value)


def _is_time(dtype: pl.DataType) -> bool:
    return isinstance(dtype, pl.Datetime)


def _typed(frame: pl.DataFrame, schema: Mapping[str, pl.DataType]) -> pl.DataFrame:
    """Text times parsed (UTC), every column cast to its type in ``schema``."""
    exprs = []
    for name, dtype in schema.items():
        col = pl.col(name)
        if _is_time(dtype):
            parsed = col.str.to_datetime(_TIME_FORMAT, time_unit="us", time_zone="UTC")
            exprs.append(parsed.dt.cast_time_unit(dtype.time_unit).alias(name))  # type: ignore[attr-defined]
        else:
            exprs.append(col.cast(dtype))
    return frame.select(exprs)


def read_frame(
    conn: Connection, statement: Select[Any], schema: Mapping[str, pl.DataType]
) -> pl.DataFrame:
    """The rows of ``statement`` (its columns named and ordered as ``schema``) as a frame.

    Raises what the driver raises (the statement runs on ``conn``, in its transaction).
    """
    if conn.dialect.name == "postgresql":
        return _typed(_read_postgresql(conn, statement, schema), schema)
    # The driver's own rows (SQLAlchemy's per-value result processing skipped): text times.
    rows = conn.execute(statement).cursor.fetchall()
    text = {n: pl.String() if _is_time(t) else t for n, t in schema.items()}
    frame = pl.DataFrame(rows, schema=text, orient="row") if rows else pl.DataFrame(schema=text)
    return _typed(frame, schema)


def _read_postgresql(
    conn: Connection, statement: Select[Any], schema: Mapping[str, pl.DataType]
) -> pl.DataFrame:
    inner = statement.subquery()
    columns = [
        func.timezone("UTC", c).label(name) if _is_time(dtype) else c.label(name)
        for c, (name, dtype) in zip(inner.c, schema.items(), strict=True)
    ]
    compiled = select(*columns).compile(
        dialect=conn.dialect, compile_kwargs={"render_postcompile": True}
    )
    sql, params = str(compiled), compiled.construct_params()  # psycopg adapts the values
    out = io.BytesIO()
    cursor = conn.connection.cursor()
    try:
        query = f"COPY ({sql}) TO STDOUT (FORMAT csv)"
        with cursor.copy(query, params) as copy:
            for block in copy:
                out.write(block)
    finally:
        cursor.close()
    text = {n: pl.String() if _is_time(t) else t for n, t in schema.items()}
    return pl.read_csv(
        out.getvalue(),
        has_header=False,
        new_columns=list(schema),
        schema=text,
        raise_if_empty=False,
    )


def read_frame_reference(
    conn: Connection, statement: Select[Any], schema: Mapping[str, pl.DataType]
) -> pl.DataFrame:
    """The same frame as :func:`read_frame`, from rows read through SQLAlchemy."""
    rows = conn.execute(statement).all()
    columns: dict[str, list[Any]] = {name: [] for name in schema}
    for row in rows:
        for name, value in zip(schema, row, strict=True):
            columns[name].append(value)
    typed = {n: pl.Datetime("us", "UTC") if _is_time(t) else t for n, t in schema.items()}
    frame = pl.DataFrame(columns, schema=typed)
    return frame.with_columns(
        pl.col(n).dt.cast_time_unit(t.time_unit)  # type: ignore[attr-defined]
        for n, t in schema.items()
        if _is_time(t)
    )
