"""Engines and sessions for SQLite (the embedded default) and PostgreSQL (production).

``Database.write()`` is a transaction that takes the write lock up front on SQLite
(``BEGIN IMMEDIATE``), so concurrent writers wait instead of failing half-way; on PostgreSQL
it is an ordinary READ COMMITTED transaction. SQLite has one writer at a time: the writers of
one process queue on a process-wide lock (a thread waits without polling the file), and each
waits at most ``busy_seconds`` for it and again at most ``busy_seconds`` for the writers of
other processes (SQLite's busy timeout); then it raises ``DatabaseBusy`` (503, ``Retry-After``)
and has written nothing. Retrying a transaction that met another writer is
``store/retry.py``.

A transaction that returns has committed: what the hub acknowledges after it is durable
(SQLite runs with ``synchronous=FULL``). The engine never shows a statement's parameters in
its log or in an error's text (``hide_parameters``): they are pseudonyms and health facts.

On PostgreSQL the pool holds one connection per thread of the server process
(``HEALTHCODE_WORKER_THREADS``, the threads its blocking work runs in) plus ``POOL_MARGIN``,
with no overflow: a connection, once opened, stays open, so load never closes and reopens
backends (each a new PostgreSQL process). A request that finds none free within
``busy_seconds`` answers 503 DATABASE_BUSY. ``check_capacity`` refuses a configuration whose
pools do not fit the server's ``max_connections``. Connections name themselves
``application_name=healthcode`` unless the URL names another.

``Database.reader()`` is a bare Core connection for a single-statement read on a hot path (no
ORM session); on PostgreSQL it runs in autocommit, so the read is one round trip instead of
three (``BEGIN``, the ``SELECT``, ``ROLLBACK``).

>>> db = Database.from_url("sqlite://")
>>> db.dialect
'sqlite'
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

from healthcode.config import ENVIRONMENT
from healthcode.core.errors import ConfigError
from healthcode.store.errors import DRIVER_ERRORS, DatabaseBusy, is_busy

__all__ = [
    "BUSY_SECONDS",
    "DEFAULT_THREADS",
    "POOL_MARGIN",
    "POOL_RECYCLE_SECONDS",
    "Database",
    "create_private",
    "normalise_url",
    "pool_size_for",
]

#: A PostgreSQL connection older than this is closed and replaced at its next checkout.
POOL_RECYCLE_SECONDS = 600
#: How long a SQLite writer waits for the write lock, in its process and then across processes.
BUSY_SECONDS: float = ENVIRONMENT["database_busy_seconds"][2]
#: Threads a process is taken to use when nobody says (``HEALTHCODE_WORKER_THREADS``' default).
DEFAULT_THREADS: int = ENVIRONMENT["worker_threads"][2]
#: Pooled connections beyond one per thread: for the work that runs outside the thread pool
#: (start-up's migration, a route on the event loop, the hub's group-commit thread).
POOL_MARGIN = 2
#: The setting a pool too large for the server is blamed on.
_THREADS_VARIABLE = ENVIRONMENT["worker_threads"][0]
#: The name a connection gives PostgreSQL (``pg_stat_activity``) unless the URL names one.
APPLICATION_NAME = "healthcode"


def pool_size_for(threads: int) -> int:
    """The PostgreSQL connections a process with ``threads`` worker threads keeps open.

    >>> pool_size_for(8)
    10
    """
    return threads + POOL_MARGIN


#: One write lock per SQLite file in this process (every ``Database`` on the file shares it).
_FILE_LOCKS: dict[str, threading.Lock] = {}
_FILE_LOCKS_GUARD = threading.Lock()


def _writer_lock(engine: Engine) -> threading.Lock | None:
    """The lock this process's SQLite writers queue on (None on PostgreSQL): one per file,
    whichever ``Database`` opened it; a database in memory has its own."""
    if engine.dialect.name != "sqlite":
        return None
    path = engine.url.database
    if path in (None, "", ":memory:"):
        return threading.Lock()
    with _FILE_LOCKS_GUARD:
        return _FILE_LOCKS.setdefault(os.path.realpath(str(path)), threading.Lock())


def normalise_url(url: str) -> str:
    """``postgresql://`` means psycopg 3 here; everything else is taken as given.

    >>> normalise_url("postgresql://postgres@127.0.0.1/test")
    'postgresql+psycopg://postgres@127.0.0.1/test'
    """
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def create_private(path: str) -> None:
    """Create the SQLite file at ``path`` readable by its owner only (0600) unless it exists:
    it holds encrypted identities and tokens' digests. SQLite gives its ``-wal`` and ``-shm``
    files the mode of the database file."""
    if path.startswith("file:"):
        return
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError:  # there already, or no folder: SQLite opens it (or says why it cannot)
        return
    os.close(fd)


def _sqlite_setup(engine: Engine, busy_seconds: float) -> None:
    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, say when transactions begin (savepoints need it).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_seconds * 1000)}")
        cursor.execute("PRAGMA synchronous=FULL")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get("healthcode_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


class Database:
    """An engine and two ways in: ``read()`` and ``write()`` sessions.

    Build with ``Database.from_url(url)``, or ``Database.on_connection(conn)`` in tests, where
    every session becomes a savepoint of the test's own transaction.
    """

    def __init__(
        self,
        *,
        engine: Engine | None = None,
        connection: Connection | None = None,
        busy_seconds: float = BUSY_SECONDS,
    ):
        if (engine is None) == (connection is None):
            raise ValueError("give exactly one of engine or connection")
        self.engine = engine
        self.connection = connection
        self.busy_seconds = busy_seconds
        self._write_lock = _writer_lock(engine) if engine is not None else None
        bind: Engine | Connection
        if engine is not None:
            bind = engine
            self._read = sessionmaker(bind=engine, expire_on_commit=False)
            self._write = sessionmaker(
                bind=engine.execution_options(healthcode_write=True), expire_on_commit=False
            )
            # The same pool; PostgreSQL connections are switched to autocommit while checked
            # out for reader() (a client-side flag in psycopg: no extra round trip).
            self._reader: Engine = (
                engine.execution_options(isolation_level="AUTOCOMMIT")
                if engine.dialect.name == "postgresql"
                else engine
            )
        else:
            assert connection is not None
            bind = connection
            self._read = self._write = sessionmaker(
                bind=connection, expire_on_commit=False, join_transaction_mode="create_savepoint"
            )
        self.dialect = bind.dialect.name

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        busy_seconds: float = BUSY_SECONDS,
        threads: int = DEFAULT_THREADS,
        **engine_args: Any,
    ) -> Database:
        """A database at ``url``; on PostgreSQL with a pool for ``threads`` worker threads."""
        url = normalise_url(url)
        parsed = make_url(url)
        engine_args.setdefault("hide_parameters", True)
        if parsed.get_backend_name() == "sqlite":
            # Connections move between threads (the web server's pool); SQLite allows it.
            engine_args.setdefault("connect_args", {"check_same_thread": False})
            if parsed.database in (None, "", ":memory:"):
                engine_args.setdefault("poolclass", StaticPool)
            else:
                create_private(parsed.database)
            engine = create_engine(url, **engine_args)
            _sqlite_setup(engine, busy_seconds)
        else:
            # A fixed pool: an overflow connection is closed when it comes back, and the next
            # burst opens a new backend (a process fork and authentication on the server).
            engine_args.setdefault("pool_size", pool_size_for(threads))
            engine_args.setdefault("max_overflow", 0)
            engine_args.setdefault("pool_timeout", busy_seconds)
            if "application_name" not in parsed.query:
                connect_args = engine_args.setdefault("connect_args", {})
                connect_args.setdefault("application_name", APPLICATION_NAME)
            # No pre-ping (a round trip on every checkout, two checkouts a request). Instead,
            # connections are replaced after POOL_RECYCLE_SECONDS, and when the server drops one
            # (restart, failover) SQLAlchemy sees the disconnect error, invalidates the pool and
            # reconnects: a write that met the dead connection runs again (store/retry.py),
            # other requests answer 503 DATABASE_BUSY; a retry is safe (natural keys,
            # Idempotency-Key), even if the cut came during COMMIT.
            engine_args.setdefault("pool_pre_ping", False)
            engine_args.setdefault("pool_recycle", POOL_RECYCLE_SECONDS)
            engine = create_engine(url, **engine_args)
        return cls(engine=engine, busy_seconds=busy_seconds)

    def check_capacity(self, processes: int, *, read_connections: int = 0) -> None:
        """Refuse (ConfigError) when ``processes`` pools like this one, each with
        ``read_connections`` more (``store/async_reader.py``), cannot all be open at once
        within PostgreSQL's ``max_connections`` less its superuser reserve; nothing to check
        on SQLite or on a test's connection."""
        if self.engine is None or self.dialect != "postgresql":
            return
        pool_size = self.engine.pool.size() + read_connections  # type: ignore[attr-defined]
        with self.engine.connect() as conn:
            limit = int(conn.execute(text("SHOW max_connections")).scalar_one())
            reserved = int(conn.execute(text("SHOW superuser_reserved_connections")).scalar_one())
        needed = processes * pool_size
        if needed > limit - reserved:
            raise ConfigError(
                _THREADS_VARIABLE,
                f"is too large for the server: {processes} process(es) x {pool_size} "
                f"connections = {needed}, more than its max_connections {limit} less {reserved} "
                "reserved; lower the threads or the workers, or raise max_connections",
            )

    @classmethod
    def on_connection(cls, connection: Connection) -> Database:
        return cls(connection=connection)

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A write transaction: commits when the block ends, rolls back if it raises.

        Raises DatabaseBusy when a SQLite file stays locked by this process's other writers
        for ``busy_seconds`` (other processes' writers: SQLite's own busy timeout).
        """
        lock = self._write_lock
        if lock is not None and not lock.acquire(timeout=self.busy_seconds):
            raise DatabaseBusy()
        try:
            with self._write() as session, session.begin():
                yield session
        except DRIVER_ERRORS as exc:
            if is_busy(exc):  # SQLite's busy timeout ran out: nothing was written
                raise DatabaseBusy() from exc
            raise
        finally:
            if lock is not None:
                lock.release()

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only transaction: ended (rolled back) when the session closes; the objects
        read stay usable, detached, after the block."""
        with self._read() as session:
            yield session

    @contextmanager
    def reader(self) -> Iterator[Connection]:
        """A connection for one read statement, without an ORM session (Core ``select``).

        On PostgreSQL it is in autocommit: give it a single statement (each statement sees
        its own snapshot). On SQLite it is a deferred read transaction, ended when the block
        ends. On a test's connection (``on_connection``) it is that connection itself.
        """
        if self.engine is None:
            assert self.connection is not None
            yield self.connection
            return
        with self._reader.connect() as conn:
            yield conn

    def dispose(self) -> None:
        if self.engine is not None:
            self.engine.dispose()
