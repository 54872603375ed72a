"""Load shedding: a server process works on at most ``limit`` requests at once, and no client
on more than its ``share`` of them.

``InFlightLimit`` is ASGI middleware in front of everything else. Two checks, before routing,
authentication or a byte of the body is read:

1. **A client's share.** ``client_of(scope)`` names the caller (the hub: the organisation of a
   bearer token this process has checked, else the peer address). A request of
   a client that already has ``share`` requests in flight is refused with 429
   ``CLIENT_OVER_SHARE`` and ``Retry-After``, so one client, however many connections it opens,
   never takes more than its share of the process and the others keep being served. The
   refusal is answered after ``pause`` seconds (at most ``MAX_PAUSED`` refusals held at once,
   the rest at once): a client that ignores ``Retry-After`` and asks again at once on each of
   its connections is slowed to one refusal a connection per ``pause`` instead of drowning
   the process in refusals, each of which costs HTTP parsing and an answer.
2. **The process's limit.** A request that arrives while ``limit`` others are in flight is
   answered at once with 503 ``OVERLOADED`` and ``Retry-After``: it costs the process a few
   tens of µs instead of a place in a queue that only grows. So a saturated server keeps
   answering what it can at its full rate and tells the rest to come back, rather than letting
   every request wait until clients time out (a checkpoint then verifies offline,
   docs/capacity.md).

An admitted request runs as it would without the limit. Some requests are not counted
(``exempt``): they wait without working (a feed's long poll holds no thread and no connection
while it waits) or must answer under load (the health check a load balancer asks).

>>> limit = InFlightLimit(None, limit=64, share=32)  # type: ignore[arg-type]
>>> limit.in_flight, limit.held("some client")
(0, 0)
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Hashable

from starlette.types import ASGIApp, Receive, Scope, Send

from healthcode.core.error_codes import ErrorCode

__all__ = ["MAX_PAUSED", "RETRY_AFTER_SECONDS", "InFlightLimit", "refusal_body"]

#: What a 503 OVERLOADED or a 429 CLIENT_OVER_SHARE asks the client to wait before it asks again.
RETRY_AFTER_SECONDS = 1
#: Refusals held back at once (each holds its connection and a small task): a flood of new
#: connections beyond it is refused at once rather than held in memory without bound.
MAX_PAUSED = 1024


def refusal_body(code: ErrorCode, message: str) -> bytes:
    """The error answer of a refused request."""
    error = {"code": code.value, "message": message, "retry_after": RETRY_AFTER_SECONDS}
    return json.dumps({"error": error}, separators=(",", ":")).encode()


def _never(scope: Scope) -> bool:
    return False


def _nobody(scope: Scope) -> Hashable | None:
    return None


class _Refusal:
    """A prepared error answer: its status, headers and body."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        self.status = code.http_status
        self.body = refusal_body(code, message)
        self.headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(self.body)).encode()),
            (b"retry-after", str(RETRY_AFTER_SECONDS).encode()),
        ]

    async def send(self, send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status, "headers": self.headers})
        await send({"type": "http.response.body", "body": self.body})


class InFlightLimit:
    """ASGI middleware: at most ``limit`` HTTP requests of ``app`` in flight in this process
    (one event loop, so plain counters), at most ``share`` of them of one client
    (``client_of(scope)``; None: not counted per client); see the module docstring.
    ``exempt(scope)`` names the requests not counted at all."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        limit: int,
        exempt: Callable[[Scope], bool] = _never,
        share: int | None = None,
        client_of: Callable[[Scope], Hashable | None] = _nobody,
        pause: float = RETRY_AFTER_SECONDS,
    ) -> None:
        if limit < 1 or (share is not None and share < 1):
            raise ValueError("the in-flight limit and a client's share are at least 1")
        self.app = app
        self.limit = limit
        self.share = share
        self.exempt = exempt
        self.client_of = client_of
        self.pause = pause
        self.in_flight = 0
        self.paused = 0
        self._clients: dict[Hashable, int] = {}
        self._overloaded = _Refusal(
            ErrorCode.OVERLOADED, f"the server is working on {limit} requests already; try again"
        )
        self._over_share = _Refusal(
            ErrorCode.CLIENT_OVER_SHARE,
            f"this caller has {share} requests in flight on this server already; try again",
        )

    def held(self, client: Hashable) -> int:
        """How many requests of ``client`` are in flight."""
        return self._clients.get(client, 0)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.exempt(scope):
            await self.app(scope, receive, send)
            return
        client = self.client_of(scope) if self.share is not None else None
        held = self._clients.get(client, 0) if client is not None else 0
        if self.share is not None and held >= self.share:
            await self._refuse_over_share(send)
            return
        if self.in_flight >= self.limit:
            await self._overloaded.send(send)
            return
        self.in_flight += 1
        if client is not None:
            self._clients[client] = held + 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1
            if client is not None:
                self._release(client)

    def _release(self, client: Hashable) -> None:
        left = self._clients[client] - 1
        if left:
            self._clients[client] = left
        else:
            del self._clients[client]

    async def _refuse_over_share(self, send: Send) -> None:
        """429 CLIENT_OVER_SHARE after ``pause`` seconds (at once when ``MAX_PAUSED`` are
        held already)."""
        if self.pause > 0 and self.paused < MAX_PAUSED:
            self.paused += 1
            try:
                await asyncio.sleep(self.pause)
            finally:
                self.paused -= 1
        await self._over_share.send(send)
