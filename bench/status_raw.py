"""The baseline of the hub's status queries: a raw ASGI app, no framework, async psycopg.

    BENCH_RAW_DATABASE_URL=postgresql://... uvicorn bench.status_raw:app --workers 2

It answers ``GET /v1/status/{serial}`` and ``GET /v1/status?pseudonym=`` from the hub's tables
with the same statements (the code asked for and its person's codes held now, in one round
trip; a person's codes held now), each prepared on the server, over a fixed set of
``BENCH_RAW_CONNECTIONS`` (default 4, the hub's ``HEALTHCODE_READ_CONNECTIONS``) autocommit
connections opened at start-up, and a JSON answer of the first row. What it leaves out
against the hub: the bearer token (a dict lookup when cached), routing, parameter checks,
the choice of the strictest colour, error answers. ``GET /v1/health`` answers ``{}``.
``bench/hub_load.py --raw`` serves it beside the hub.
"""

from __future__ import annotations

import asyncio
import json
import os
from typing import Any
from urllib.parse import parse_qs, unquote

import psycopg

_COLUMNS = "serial, province, pseudonym, colour, since, until, ruleset_version, reported_at"
BY_SERIAL = f"""
SELECT * FROM (
  SELECT {_COLUMNS}, 0 AS asked FROM code_status WHERE serial = %(serial)s
  UNION ALL
  SELECT c.serial, c.province, c.pseudonym, c.colour, c.since, c.until, c.ruleset_version,
         c.reported_at, 1 AS asked
  FROM code_status c JOIN registrations r
    ON r.pseudonym = c.pseudonym AND r.province = c.province
  WHERE c.pseudonym = (SELECT a.pseudonym FROM code_status a WHERE a.serial = %(serial)s LIMIT 1)
    AND r.ended_at IS NULL
) q ORDER BY asked, province, since DESC, reported_at DESC
""".encode()
BY_PSEUDONYM = b"""
SELECT c.serial, c.province, c.pseudonym, c.colour, c.since, c.until, c.ruleset_version,
       c.reported_at
FROM code_status c JOIN registrations r ON r.pseudonym = c.pseudonym AND r.province = c.province
WHERE c.pseudonym = %(pseudonym)s AND r.ended_at IS NULL
ORDER BY c.province, c.since DESC, c.reported_at DESC
"""
_NAMES = _COLUMNS.split(", ")
_JSON = [(b"content-type", b"application/json")]


def asked(path: str, query: bytes) -> dict[str, str] | None:
    """``{"serial": ...}`` or ``{"pseudonym": ...}`` of a status read; None for another path."""
    if path.startswith("/v1/status/"):
        return {"serial": unquote(path[len("/v1/status/") :])}
    if path == "/v1/status":
        return {"pseudonym": parse_qs(query.decode()).get("pseudonym", [""])[0]}
    return None


def _row(row: tuple[Any, ...]) -> bytes:
    answer = {
        name: value.isoformat() if hasattr(value, "isoformat") else value
        for name, value in zip(_NAMES, row, strict=False)
    }
    return json.dumps(answer, separators=(",", ":")).encode()


class RawStatus:
    """The ASGI app (lifespan opens and closes the connections)."""

    def __init__(self) -> None:
        self.free: asyncio.Queue[psycopg.AsyncConnection[Any]] = asyncio.Queue()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        status, body = await self._answer(scope["path"], scope["query_string"])
        headers = [*_JSON, (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def _answer(self, path: str, query: bytes) -> tuple[int, bytes]:
        if path == "/v1/health":
            return 200, b"{}"
        if (params := asked(path, query)) is None:
            return 404, b"{}"
        sql = BY_SERIAL if "serial" in params else BY_PSEUDONYM
        conn = await self.free.get()
        try:
            cursor = await conn.execute(sql, params, prepare=True)
            row = await cursor.fetchone()
        finally:
            self.free.put_nowait(conn)
        return (200, _row(row)) if row is not None else (404, b"{}")

    async def _lifespan(self, receive: Any, send: Any) -> None:
        url = os.environ["BENCH_RAW_DATABASE_URL"]
        size = int(os.environ.get("BENCH_RAW_CONNECTIONS", "4"))
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                for _ in range(size):
                    self.free.put_nowait(
                        await psycopg.AsyncConnection.connect(url, autocommit=True)
                    )
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                while not self.free.empty():
                    await self.free.get_nowait().close()
                await send({"type": "lifespan.shutdown.complete"})
                return


app = RawStatus()
