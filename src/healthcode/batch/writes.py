"""Writing a frame of results back in bulk, in the caller's transaction.

PostgreSQL: the frame goes as CSV (written by Polars) through ``COPY`` into a temporary table
shaped like the target (``ON COMMIT DROP``), then one ``INSERT ... ON CONFLICT DO UPDATE``
moves it: one statement per chunk, whatever its size, and no Python object per row. SQLite:
``executemany`` of the same statement, times in the text SQLAlchemy stores (naive UTC).

A stored row is replaced only where it differs (``DO UPDATE ... WHERE`` any column is
distinct): the caller hands every row it computed and learns how many were written, without
reading the stored reasons and badges back to compare them itself. On PostgreSQL ``jsonb``
compares by value; on SQLite JSON is text, written by ``json.dumps`` on both paths.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import polars as pl
from sqlalchemy import Connection, Table

__all__ = ["write_colours"]

_PG_TIME = "%Y-%m-%dT%H:%M:%S%.6fZ"
_SQLITE_TIME = "%Y-%m-%d %H:%M:%S%.6f"  # SQLAlchemy's storage format for DATETIME on SQLite
_COLOUR_COLUMNS = (
    "colour",
    "reasons",
    "badges",
    "until",
    "ruleset_digest",
    "evaluated_at",
    "since",
)


def _quote(conn: Connection, name: str) -> str:
    return str(conn.dialect.identifier_preparer.quote(name))


def _as_text(frame: pl.DataFrame, time_format: str) -> pl.DataFrame:
    return frame.with_columns(
        pl.col(n).dt.to_string(time_format)
        for n, t in frame.schema.items()
        if isinstance(t, pl.Datetime)
    )


def write_colours(
    conn: Connection, table: Table, frame: pl.DataFrame, *, evaluated_at: datetime
) -> int:
    """Insert the colours rows of ``frame`` (``pseudonym``, ``colour``, ``reasons`` and
    ``badges`` as JSON text, ``until``, ``digest``, ``since``), stamped ``evaluated_at``, or
    replace the stored ones that differ in colour, reasons, badges, until or digest; how many
    rows were written."""
    if frame.is_empty():
        return 0
    frame = frame.select(
        "pseudonym",
        "colour",
        "reasons",
        "badges",
        "until",
        pl.col("digest").alias("ruleset_digest"),
        pl.lit(evaluated_at).dt.convert_time_zone("UTC").alias("evaluated_at"),
        "since",
    )
    target = _quote(conn, table.name)
    cols = ", ".join(_quote(conn, n) for n in ("pseudonym", *_COLOUR_COLUMNS))
    sets = ", ".join(f"{c} = excluded.{c}" for c in (_quote(conn, n) for n in _COLOUR_COLUMNS))
    distinct = "IS DISTINCT FROM" if conn.dialect.name == "postgresql" else "IS NOT"
    differs = " OR ".join(
        f"{target}.{c} {distinct} excluded.{c}"
        for c in (_quote(conn, n) for n in _COLOUR_COLUMNS[:5])
    )
    upsert = f"ON CONFLICT (pseudonym) DO UPDATE SET {sets} WHERE {differs}"
    if conn.dialect.name == "postgresql":
        tmp = _copy_in(conn, table, frame, "hc_batch_colours")
        sql = f"INSERT INTO {target} ({cols}) SELECT {cols} FROM {tmp} {upsert}"
        return int(conn.exec_driver_sql(sql).rowcount)
    marks = ", ".join("?" for _ in frame.columns)
    rows = _as_text(frame, _SQLITE_TIME).rows()
    return _executemany(conn, f"INSERT INTO {target} ({cols}) VALUES ({marks}) {upsert}", rows)


def _executemany(conn: Connection, sql: str, rows: Sequence[tuple[object, ...]]) -> int:
    """Runs ``sql`` once per row; how many rows it changed."""
    cursor = conn.connection.cursor()
    try:
        cursor.executemany(sql, rows)
        return int(cursor.rowcount)
    finally:
        cursor.close()


def _copy_in(conn: Connection, table: Table, frame: pl.DataFrame, name: str) -> str:
    """A temporary table like ``table`` (the columns of ``frame``) holding ``frame``."""
    cols = ", ".join(_quote(conn, n) for n in frame.columns)
    tmp = _quote(conn, name)
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS {tmp}")
    conn.exec_driver_sql(
        f"CREATE TEMPORARY TABLE {tmp} ON COMMIT DROP AS "
        f"SELECT {cols} FROM {_quote(conn, table.name)} WITH NO DATA"
    )
    data = _as_text(frame, _PG_TIME).write_csv(include_header=False)
    cursor = conn.connection.cursor()
    try:
        with cursor.copy(f"COPY {tmp} ({cols}) FROM STDIN (FORMAT csv)") as copy:
            copy.write(data)
    finally:
        cursor.close()
    return tmp
