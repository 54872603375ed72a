"""The baseline of the hub's status queries on SQLite: a raw ASGI app, no framework, sqlite3.

    BENCH_RAW_SQLITE=/path/hub.db uvicorn bench.status_raw_sqlite:app

The SQLite twin of ``bench/status_raw.py``: the same two statements (their text, with SQLite's
``:name`` parameters), run by the standard library's ``sqlite3`` on one connection opened at
start-up (the event loop's own thread: a read is a few µs, as the hub's is), and a JSON answer
of the first row. What it leaves out against the hub is what ``status_raw.py`` leaves out.
``bench/hub_sqlite_status.py`` serves it beside the hub.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
from typing import Any

from bench.status_raw import _NAMES, BY_PSEUDONYM, BY_SERIAL, asked

__all__ = ["SQLITE_BY_PSEUDONYM", "SQLITE_BY_SERIAL", "app"]


def _sqlite(sql: bytes) -> str:
    """psycopg's ``%(name)s`` parameters as sqlite3's ``:name``."""
    return re.sub(r"%\((\w+)\)s", r":\1", sql.decode())


SQLITE_BY_SERIAL = _sqlite(BY_SERIAL)
SQLITE_BY_PSEUDONYM = _sqlite(BY_PSEUDONYM)
_JSON = [(b"content-type", b"application/json")]


class RawSqliteStatus:
    """The ASGI app (lifespan opens and closes the connection)."""

    def __init__(self) -> None:
        self.conn: sqlite3.Connection | None = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        status, body = self._answer(scope["path"], scope["query_string"])
        headers = [*_JSON, (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    def _answer(self, path: str, query: bytes) -> tuple[int, bytes]:
        if path == "/v1/health":
            return 200, b"{}"
        if (params := asked(path, query)) is None:
            return 404, b"{}"
        sql = SQLITE_BY_SERIAL if "serial" in params else SQLITE_BY_PSEUDONYM
        assert self.conn is not None
        row = self.conn.execute(sql, params).fetchone()
        if row is None:
            return 404, b"{}"
        return 200, json.dumps(dict(zip(_NAMES, row, strict=False)), separators=(",", ":")).encode()

    async def _lifespan(self, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self.conn = sqlite3.connect(os.environ["BENCH_RAW_SQLITE"])
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self.conn is not None:
                    self.conn.close()
                await send({"type": "lifespan.shutdown.complete"})
                return


app = RawSqliteStatus()
