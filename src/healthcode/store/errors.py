"""Database errors translated at one boundary: what they mean for a caller, told without values.

A driver's error (psycopg, sqlite3, or SQLAlchemy's wrapper of either) is one of:

- **transient**: another writer was in the way: a deadlock (SQLSTATE ``40P01``), a
  serialisation failure (``40001``), a lock not available (``55P03``), SQLite's ``database is
  locked``/``busy``; or a unique key that a concurrent writer inserted between a check and an
  insert (``23505``, SQLite's unique and primary-key constraints: every insert of the hub
  checks first, so only a race gets there); a connection the server dropped (restart,
  failover; SQLAlchemy replaces it). A new attempt of the whole transaction resolves it;
  when attempts run out the caller gets ``DatabaseBusy`` (503 with ``Retry-After``).
- **a fault**: anything else (a bug of the hub): ``DatabaseFault`` (500).

A request that waited ``HEALTHCODE_DATABASE_BUSY_SECONDS`` for a free pooled connection
(SQLAlchemy's pool timeout) gets ``DatabaseBusy`` too, without a new attempt: it reached no
database, and another wait would only hold its thread longer.

Neither the answer nor the log ever holds the error's message: PostgreSQL's details repeat the
row's values (``Key (pseudonym)=(...)``, ``Failing row contains (...)``) and SQLAlchemy's text
repeats the statement's parameters. ``describe`` names only the class, the SQLSTATE and the
schema object (table, constraint).

>>> describe(DatabaseBusy())
'DatabaseBusy'
"""

from __future__ import annotations

import logging
import sqlite3

import psycopg
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from healthcode.core.error_codes import ErrorCode
from healthcode.core.errors import HealthcodeError

__all__ = [
    "DRIVER_ERRORS",
    "RETRY_AFTER_SECONDS",
    "DatabaseBusy",
    "DatabaseFault",
    "describe",
    "is_busy",
    "is_transient",
    "is_unique_violation",
    "sqlstate",
    "translated",
]

log = logging.getLogger("healthcode.store")

#: What a 503 for a busy database asks the client to wait before it tries again.
RETRY_AFTER_SECONDS = 1
#: The errors a driver raises, raw (the PostgreSQL bulk writes use the driver's cursor) or
#: wrapped by SQLAlchemy, and the pool's timeout (no connection free in time).
DRIVER_ERRORS: tuple[type[Exception], ...] = (
    DBAPIError,
    psycopg.Error,
    sqlite3.Error,
    PoolTimeout,
)

#: Deadlock, serialisation failure, lock not available (``NOWAIT``/``lock_timeout``).
_TRANSIENT_SQLSTATES = frozenset({"40P01", "40001", "55P03"})
_UNIQUE_SQLSTATE = "23505"
_SQLITE_BUSY = frozenset({sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED})
_SQLITE_UNIQUE = frozenset({2067, 1555})  # SQLITE_CONSTRAINT_UNIQUE, _PRIMARYKEY


class DatabaseBusy(HealthcodeError):
    """Other writers held the database past the time a request may wait, or kept changing what
    it writes: nothing of the request was stored; ask again after ``retry_after`` seconds."""

    def __init__(self, message: str = "", *, retry_after: int = RETRY_AFTER_SECONDS) -> None:
        super().__init__(
            ErrorCode.DATABASE_BUSY,
            message or "the database is busy with other writers; nothing was stored, try again",
            retry_after=retry_after,
        )
        self.retry_after = retry_after


class DatabaseFault(HealthcodeError):
    """The database refused a statement for a reason no retry changes (a fault of the hub)."""

    def __init__(self) -> None:
        super().__init__(
            ErrorCode.DATABASE_ERROR, "the database refused the request; nothing was stored"
        )


def _driver_error(exc: BaseException) -> BaseException:
    """The driver's own exception inside SQLAlchemy's wrapper (or ``exc`` itself)."""
    orig = getattr(exc, "orig", None) if isinstance(exc, DBAPIError) else None
    return orig if isinstance(orig, BaseException) else exc


def sqlstate(exc: BaseException) -> str | None:
    """The PostgreSQL SQLSTATE of ``exc`` (None for other errors)."""
    err = _driver_error(exc)
    return err.sqlstate if isinstance(err, psycopg.Error) else None


def _sqlite_code(exc: BaseException) -> int | None:
    err = _driver_error(exc)
    if not isinstance(err, sqlite3.Error):
        return None
    code = getattr(err, "sqlite_errorcode", None)
    if isinstance(code, int):
        return code
    text = str(err)  # drivers without the attribute: SQLite's fixed messages
    return sqlite3.SQLITE_BUSY if "locked" in text or "busy" in text else None


def is_busy(exc: BaseException) -> bool:
    """Whether SQLite refused because another connection holds the write lock."""
    code = _sqlite_code(exc)
    return code is not None and code & 0xFF in _SQLITE_BUSY


def is_unique_violation(exc: BaseException) -> bool:
    """Whether a unique key (or primary key) refused an insert."""
    return sqlstate(exc) == _UNIQUE_SQLSTATE or _sqlite_code(exc) in _SQLITE_UNIQUE


def is_transient(exc: BaseException) -> bool:
    """Whether a new attempt of the whole transaction may succeed (see the module's list)."""
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True  # the server dropped the connection; the pool has replaced it
    return sqlstate(exc) in _TRANSIENT_SQLSTATES or is_busy(exc) or is_unique_violation(exc)


def describe(exc: BaseException) -> str:
    """``exc`` named without its message or parameters: the driver's class, the SQLSTATE and
    the table and constraint PostgreSQL names (never a value)."""
    err = _driver_error(exc)
    parts = [type(err).__name__]
    state = sqlstate(err)
    if state is not None:
        parts.append(f"SQLSTATE {state}")
        diag = err.diag if isinstance(err, psycopg.Error) else None
        for name in ("table_name", "constraint_name"):
            value = getattr(diag, name, None)
            if value:
                parts.append(f"{name.split('_')[0]} {value}")
    code = _sqlite_code(err)
    if code is not None:
        parts.append(f"SQLite code {code}")
    return ", ".join(parts)


def translated(exc: BaseException) -> HealthcodeError:
    """The project's error for a driver error that reached a request's boundary, logged once
    without values: ``DatabaseBusy`` for a transient one, else ``DatabaseFault``."""
    if is_transient(exc) or isinstance(exc, PoolTimeout):
        log.warning("database busy: %s", describe(exc))
        return DatabaseBusy()
    log.error("database error: %s", describe(exc))
    return DatabaseFault()
