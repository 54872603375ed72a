"""Single-statement reads on the event loop: a fixed set of async psycopg connections.

The hub's hottest read (a status query) runs on the server's event loop instead of a worker
thread: no thread hop, no contention with the loop for the interpreter, and no ORM. An
``AsyncReader`` holds ``size`` PostgreSQL connections in autocommit, opened at the first read
on a loop and kept open (no churn: a connection is only replaced after the server dropped it).
Reads take the connections in turn, first come first served (an ``asyncio.Semaphore``: no
newcomer passes a read already waiting; an ``asyncio.Queue`` alone hands a connection put back
to whichever read asks next, and under 32 clients on 4 connections some reads waited 70-300 ms
while others passed them, the status reads' p99). A read takes a free connection at once when
no read waits; else it waits its turn at most ``busy_seconds`` (only then a timer and a task),
then raises ``DatabaseBusy`` (503, ``Retry-After``); a connection the server dropped is closed
and reopened by the next read, and the read that met it raises ``DatabaseBusy`` too (a read is
safe to ask again).
Statements are prepared on the server (``prepare=True``): one parse and plan a connection.

The connections belong to the event loop that opened them; a read from another loop (a test
calling the app through a fresh loop per request) lets the old ones go and opens new ones.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from collections.abc import Mapping, Sequence
from typing import Any

import psycopg
from psycopg.rows import namedtuple_row

from healthcode.store.errors import DatabaseBusy, describe

__all__ = ["AsyncReader"]

log = logging.getLogger("healthcode.store")

_Connection = psycopg.AsyncConnection[Any]


def _finish(conns: list[_Connection]) -> None:
    """Close ``conns`` without their event loop: libpq closes each socket at once."""
    for conn in conns:
        if not conn.closed:
            conn.pgconn.finish()
    conns.clear()


class AsyncReader:
    """``size`` async connections to ``conninfo``; ``fetch(sql, params)`` runs one statement.

    Build with ``AsyncReader(conninfo=..., size=..., busy_seconds=...)``; ``close()`` at the end
    of the server's life (``hub/app.py``'s lifespan).
    """

    def __init__(self, *, conninfo: str, size: int, busy_seconds: float) -> None:
        if size < 1:
            raise ValueError("an AsyncReader needs at least one connection")
        self.conninfo = conninfo
        self.size = size
        self.busy_seconds = busy_seconds
        self._loop: asyncio.AbstractEventLoop | None = None
        self._free: asyncio.Queue[_Connection | None] = asyncio.Queue()
        self._turns = asyncio.Semaphore(size)  # one a connection in ``_free``; waits in order
        self._open: list[_Connection] = []  # one list for the reader's life (the finaliser's)
        # a reader dropped without close() (a test's app that never ran its lifespan) closes
        # its connections when it is collected, not each connection at some later moment
        weakref.finalize(self, _finish, self._open)

    def _bind(self) -> asyncio.Queue[_Connection | None]:
        """The free connections of the running loop: ``size`` slots, each a connection or
        None (to be opened by the read that takes it)."""
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            self._loop = loop
            _finish(self._open)  # a loop that is gone cannot await their close
            self._free = asyncio.Queue()
            self._turns = asyncio.Semaphore(self.size)
            for _ in range(self.size):
                self._free.put_nowait(None)
        return self._free

    async def fetch(self, sql: bytes, params: Mapping[str, Any]) -> Sequence[Any]:
        """Every row (named tuples) of one statement (``sql`` in psycopg's ``%(name)s`` style).

        Raises DatabaseBusy when no connection is free within ``busy_seconds`` or the server
        cannot be reached; the driver's own error for a statement it refuses.
        """
        free = self._bind()
        turns = self._turns
        await self._turn(turns)
        conn = free.get_nowait()  # a turn holds one of the free connections
        try:
            if conn is None or conn.closed:
                conn = await self._connect()
            cursor = await conn.execute(sql, params, prepare=True)
            rows = await cursor.fetchall()
        except psycopg.OperationalError as exc:  # connection lost or refused
            log.warning("database unreachable: %s", describe(exc))
            await self._discard(conn)
            conn = None
            raise DatabaseBusy() from exc
        except asyncio.CancelledError:  # its statement may still run: not reused
            if conn is not None:
                self._forget(conn)
                asyncio.get_running_loop().create_task(conn.close())
            conn = None
            raise
        finally:
            free.put_nowait(conn)
            turns.release()
        return rows

    async def _turn(self, turns: asyncio.Semaphore) -> None:
        """This read's turn at a connection: at once when one is free and no read waits, else
        after the reads waiting before it, within ``busy_seconds`` (else DatabaseBusy)."""
        if not turns.locked():
            await turns.acquire()  # returns without waiting
            return
        try:
            await asyncio.wait_for(turns.acquire(), self.busy_seconds)
        except TimeoutError:
            raise DatabaseBusy() from None  # no connection free in time

    async def _connect(self) -> _Connection:
        conn = await psycopg.AsyncConnection.connect(
            self.conninfo, autocommit=True, row_factory=namedtuple_row
        )
        self._open.append(conn)
        return conn

    def _forget(self, conn: _Connection) -> None:
        with contextlib.suppress(ValueError):
            self._open.remove(conn)

    async def _discard(self, conn: _Connection | None) -> None:
        if conn is None:
            return
        self._forget(conn)
        with contextlib.suppress(psycopg.Error):
            await conn.close()

    @property
    def opened(self) -> int:
        """How many connections are open now (at most ``size``)."""
        return sum(1 for c in self._open if not c.closed)

    async def open_all(self) -> None:
        """Open every connection now (a server's start-up), so load opens none."""
        free, taken = await self.take_all()
        try:
            for i, conn in enumerate(taken):
                if conn is None or conn.closed:
                    taken[i] = await self._connect()
        finally:
            self.give_back(free, taken)

    async def take_all(self) -> tuple[asyncio.Queue[_Connection | None], list[_Connection | None]]:
        """Every turn and connection of the running loop (after the reads before), as
        ``open_all`` needs them and a test holds them; ``give_back`` returns them."""
        free = self._bind()
        for _ in range(self.size):
            await self._turns.acquire()
        return free, [free.get_nowait() for _ in range(self.size)]

    def give_back(
        self, free: asyncio.Queue[_Connection | None], taken: list[_Connection | None]
    ) -> None:
        """The connections of ``take_all`` free again, each with its turn."""
        for conn in taken:
            free.put_nowait(conn)
            self._turns.release()

    async def close(self) -> None:
        """Close every connection of the running loop (the end of the server's life)."""
        for conn in list(self._open):
            await self._discard(conn)
        self._loop = None
