"""Status queries: a code's reported status by serial, a person's by pseudonym.

The hub's hottest read, one statement either way, built once here as a Core ``select``:

- ``query`` runs it on ``Database.reader()`` (a pooled connection, no ORM session; autocommit
  and one round trip on PostgreSQL), in the caller's thread;
- ``query_async`` runs it on the event loop: on PostgreSQL through the ``AsyncReader``
  (``store/async_reader.py``: async psycopg, the statement compiled once from the same
  ``select`` and prepared on the server), no thread hop; on SQLite (or a test's connection)
  the same ``query`` inline, as the read is a few µs of SQLite and a thread hop costs more
  than it (WAL readers do not wait for writers), through the driver (``store/sqlite_reader.py``:
  the statement compiled once for SQLite, no SQLAlchemy ``Connection``) when the database is
  a file.

Both give the same answer from the same rows (``answer``; a test keeps the two paths equal).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Select, and_, bindparam, literal, select, union_all
from sqlalchemy.dialects.postgresql import psycopg as pg_dialect

from healthcode.core.clock import Clock
from healthcode.core.error_codes import ErrorCode
from healthcode.core.errors import InvalidInput
from healthcode.hub.access import require
from healthcode.hub.orgs import Principal
from healthcode.store.async_reader import AsyncReader
from healthcode.store.db import Database
from healthcode.store.models import CodeStatus, Registration
from healthcode.store.sqlite_reader import SqliteReader, SqliteStatement

__all__ = ["COLOURS", "StatusQuery"]

#: From the least to the most strict.
COLOURS = ("green", "yellow", "red")

_CODES = CodeStatus.__table__.c
_REGS = Registration.__table__.c
_ANSWER_COLUMNS = (
    _CODES.serial,
    _CODES.province,
    _CODES.pseudonym,
    _CODES.colour,
    _CODES.since,
    _CODES.until,
    _CODES.ruleset_version,
    _CODES.reported_at,
)
#: A row of ``_ANSWER_COLUMNS`` (attributes by column name).
CodeRow = Any
#: Built once: SQLAlchemy computes their cache keys once, psycopg prepares them on the server
#: after a few uses on a connection.
_HOLDERS_JOIN = and_(_REGS.pseudonym == _CODES.pseudonym, _REGS.province == _CODES.province)
_LATEST_FIRST = (_CODES.province, _CODES.since.desc(), _CODES.reported_at.desc())
#: The codes of a person reported by the provinces holding them now; each province's latest
#: first.
_BY_HOLDERS = (
    select(*_ANSWER_COLUMNS)
    .join_from(CodeStatus.__table__, Registration.__table__, _HOLDERS_JOIN)
    .where(_CODES.pseudonym == bindparam("pseudonym"), _REGS.ended_at.is_(None))
    .order_by(*_LATEST_FIRST)
)
_ASKED = CodeStatus.__table__.alias("asked")
_ASKED_PERSON = (
    select(_ASKED.c.pseudonym)
    .where(_ASKED.c.serial == bindparam("serial"))
    .limit(1)
    .scalar_subquery()
)
#: The code asked for by serial (``asked`` 0), then the codes of its person by the provinces
#: holding them now (``asked`` 1, each province's latest first): one round trip.
_SERIAL_AND_HOLDERS = union_all(
    select(*_ANSWER_COLUMNS, literal(0).label("asked")).where(_CODES.serial == bindparam("serial")),
    select(*_ANSWER_COLUMNS, literal(1).label("asked"))
    .join_from(CodeStatus.__table__, Registration.__table__, _HOLDERS_JOIN)
    .where(_CODES.pseudonym == _ASKED_PERSON, _REGS.ended_at.is_(None)),
).subquery()
_BY_SERIAL = select(_SERIAL_AND_HOLDERS).order_by(
    _SERIAL_AND_HOLDERS.c.asked,
    _SERIAL_AND_HOLDERS.c.province,
    _SERIAL_AND_HOLDERS.c.since.desc(),
    _SERIAL_AND_HOLDERS.c.reported_at.desc(),
)


def _compiled(statement: Select[Any]) -> tuple[bytes, dict[str, Any]]:
    """``statement`` as PostgreSQL text for psycopg (``%(name)s``), with its own constant
    parameters (``literal``, ``LIMIT``); the caller adds the asked value."""
    compiled = statement.compile(dialect=pg_dialect.dialect())  # type: ignore[no-untyped-call]
    constants = {k: v for k, v in compiled.params.items() if k not in ("serial", "pseudonym")}
    return str(compiled).encode(), constants


_PG_BY_SERIAL = _compiled(_BY_SERIAL)
_PG_BY_HOLDERS = _compiled(_BY_HOLDERS)
_LITE_BY_SERIAL = SqliteStatement(_BY_SERIAL, asked=("serial",))
_LITE_BY_HOLDERS = SqliteStatement(_BY_HOLDERS, asked=("pseudonym",))


class StatusQuery:
    """Answers status queries from ``db`` (and on the event loop: ``reader`` on PostgreSQL,
    ``lite`` on a SQLite file)."""

    def __init__(
        self,
        *,
        db: Database,
        clock: Clock,
        reader: AsyncReader | None = None,
        lite: SqliteReader | None = None,
    ) -> None:
        self.db = db
        self.clock = clock
        self.reader = reader
        self.lite = lite

    def query(
        self, principal: Principal, *, serial: str | None = None, pseudonym: str | None = None
    ) -> dict[str, Any]:
        """The reported status of a code (by serial), or a person's answer (by pseudonym): the
        latest code of each province holding them in ``codes``, and at the top level the code
        a checkpoint goes by (``_checkpoint_code``).

        Raises AccessDenied KIND_NOT_ALLOWED; InvalidInput QUERY_INVALID; STATUS_UNKNOWN.
        """
        _check(principal, serial, pseudonym)
        with self.db.reader() as conn:
            if serial is not None:
                rows = conn.execute(_BY_SERIAL, {"serial": serial}).all()
            else:
                rows = conn.execute(_BY_HOLDERS, {"pseudonym": pseudonym}).all()
        return answer(rows, by_serial=serial is not None, now=self.clock.now())

    async def query_async(
        self, principal: Principal, *, serial: str | None = None, pseudonym: str | None = None
    ) -> dict[str, Any]:
        """``query`` on the event loop (see the module docstring); the same answers and errors,
        and DatabaseBusy when no connection is free in time."""
        if self.reader is None:
            return self._query_inline(principal, serial=serial, pseudonym=pseudonym)
        _check(principal, serial, pseudonym)
        if serial is not None:
            sql, constants = _PG_BY_SERIAL
            rows = await self.reader.fetch(sql, {**constants, "serial": serial})
        else:
            sql, constants = _PG_BY_HOLDERS
            rows = await self.reader.fetch(sql, {**constants, "pseudonym": pseudonym})
        return answer(rows, by_serial=serial is not None, now=self.clock.now())

    def _query_inline(
        self, principal: Principal, *, serial: str | None, pseudonym: str | None
    ) -> dict[str, Any]:
        """``query`` without a thread: through the driver on a SQLite file, else ``query``."""
        if self.lite is None:
            return self.query(principal, serial=serial, pseudonym=pseudonym)
        _check(principal, serial, pseudonym)
        if serial is not None:
            rows = self.lite.fetch(_LITE_BY_SERIAL, {"serial": serial})
        else:
            rows = self.lite.fetch(_LITE_BY_HOLDERS, {"pseudonym": pseudonym})
        return answer(rows, by_serial=serial is not None, now=self.clock.now())


def _check(principal: Principal, serial: str | None, pseudonym: str | None) -> None:
    """Raises AccessDenied KIND_NOT_ALLOWED; InvalidInput QUERY_INVALID."""
    require(principal, "status:query")
    if (serial is None) == (pseudonym is None):
        raise InvalidInput(ErrorCode.QUERY_INVALID, "ask by serial or by pseudonym", field="serial")


def answer(rows: Sequence[CodeRow], *, by_serial: bool, now: datetime) -> dict[str, Any]:
    """The answer of a query's rows. Raises InvalidInput STATUS_UNKNOWN."""
    if not rows or (by_serial and rows[0].asked != 0):
        raise InvalidInput(ErrorCode.STATUS_UNKNOWN, "no status was reported for this code")
    if by_serial:
        return _superseded(rows[0], rows[1:], now)
    codes = _latest_of_each(rows)
    chosen = _answer(_checkpoint_code(codes, now), now)
    return {**chosen, "codes": [_answer(r, now) for r in codes]}


def _latest_of_each(rows: Sequence[CodeRow]) -> list[CodeRow]:
    """Each province's latest code of rows ordered by province, latest first."""
    latest: dict[str, CodeRow] = {}
    for row in rows:
        latest.setdefault(row.province, row)
    return list(latest.values())


def _superseded(asked: CodeRow, holders: Sequence[CodeRow], now: datetime) -> dict[str, Any]:
    """The code asked for by serial, and whether the answer to go by for its person now (of
    the provinces holding them) has another colour: then ``superseded`` and that answer as
    ``now`` (an older green code of a person now red: superseded, now red)."""
    answered = _answer(asked, now)
    if holders:
        chosen = _checkpoint_code(_latest_of_each(holders), now)
        if chosen.serial != asked.serial and chosen.colour != asked.colour:
            return {**answered, "superseded": True, "now": _answer(chosen, now)}
    return {**answered, "superseded": False}


def _current(row: CodeRow, now: datetime) -> bool:
    return row.until is None or row.until > now


def _checkpoint_code(codes: Sequence[CodeRow], now: datetime) -> CodeRow:
    """The code a checkpoint goes by, of one per holding province: the strictest colour of
    those not expired (the latest of equals); if all have expired, the latest."""
    current = [r for r in codes if _current(r, now)]
    if current:
        return max(current, key=lambda r: (COLOURS.index(r.colour), r.since, r.reported_at))
    return max(codes, key=lambda r: (r.since, r.reported_at))


def _utc(at: datetime) -> str:
    """An instant in UTC, ISO 8601 (the driver gives the session's time zone on PostgreSQL)."""
    return at.astimezone(UTC).isoformat()


def _answer(row: CodeRow, now: datetime) -> dict[str, Any]:
    return {
        "serial": row.serial,
        "province": row.province,
        "pseudonym": row.pseudonym,
        "colour": row.colour,
        "since": _utc(row.since),
        "until": _utc(row.until) if row.until else None,
        "ruleset_version": row.ruleset_version,
        "reported_at": _utc(row.reported_at),
        "current": _current(row, now),
    }
