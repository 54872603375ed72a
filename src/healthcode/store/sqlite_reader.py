"""Single-statement reads on SQLite through the driver: the SQLite twin of ``async_reader.py``.

On the embedded default a status query runs inline on the event loop (a read is a few µs of
SQLite; a thread hop costs more). Through SQLAlchemy's ``Connection`` that read cost ~130 µs
of CPU, against ~9 µs for the statement itself and ~60 µs for a whole HTTP request of a raw
app doing the same read (``bench/hub_sqlite_status.py``): the begin and rollback events, the
execution context and the result object, for one statement. A ``SqliteReader`` runs a
statement compiled once for SQLite on a DBAPI connection of the engine's own pool (same file,
same ``PRAGMA``s) in autocommit, so the statement is its own read transaction (WAL: it never
waits for a writer), and turns each row into a named tuple with every column converted by its
SQLAlchemy type's own result processor: the same values ``Connection.execute`` gives.

Only for a database in a file: one in memory is a single connection shared with the writers
(``StaticPool``), where a read must go through the reference path.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import Engine, Select
from sqlalchemy.dialects import sqlite

__all__ = ["SqliteReader", "SqliteStatement", "sqlite_reader"]

#: SQLite's dialect with ``:name`` parameters, for statements compiled once to text.
_DIALECT = sqlite.dialect(paramstyle="named")

_Processor = Callable[[Any], Any] | None


class SqliteStatement:
    """``statement`` compiled once for SQLite: its text, its own constant parameters
    (``literal``, ``LIMIT``), its row type and one result processor a column."""

    def __init__(self, statement: Select[Any], *, asked: Sequence[str]) -> None:
        compiled = statement.compile(dialect=_DIALECT)
        self.sql = str(compiled)
        self.constants = {k: v for k, v in compiled.params.items() if k not in asked}
        columns = list(statement.selected_columns)
        self.row = namedtuple("Row", [c.key for c in columns])  # type: ignore[misc]
        self.processors: list[_Processor] = [
            c.type.dialect_impl(_DIALECT).result_processor(_DIALECT, None) for c in columns
        ]

    def rows(self, raw: Sequence[Sequence[Any]]) -> list[Any]:
        """Driver rows as named tuples of the columns' Python values."""
        processors = self.processors
        return [
            self.row(
                *(v if p is None or v is None else p(v) for p, v in zip(processors, r, strict=True))
            )
            for r in raw
        ]


class SqliteReader:
    """Reads on DBAPI connections of ``engine``'s pool (a SQLite file)."""

    def __init__(self, engine: Engine) -> None:
        if engine.dialect.name != "sqlite" or engine.url.database in (None, "", ":memory:"):
            raise ValueError("a SqliteReader reads a SQLite database in a file")
        self.engine = engine

    def fetch(self, statement: SqliteStatement, params: Mapping[str, Any]) -> list[Any]:
        """Every row of ``statement`` with ``params`` (its asked values)."""
        conn = self.engine.raw_connection()
        try:
            cursor = conn.cursor()
            try:
                raw = cursor.execute(statement.sql, {**statement.constants, **params}).fetchall()
            finally:
                cursor.close()
        finally:
            conn.close()  # back to the pool
        return statement.rows(raw)


def sqlite_reader(engine: Engine | None) -> SqliteReader | None:
    """A reader of ``engine`` when it is a SQLite file; None otherwise (PostgreSQL, a database
    in memory, a test's connection)."""
    if engine is None or engine.dialect.name != "sqlite":
        return None
    if engine.url.database in (None, "", ":memory:"):
        return None
    return SqliteReader(engine)
