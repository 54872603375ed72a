"""Load shedding: a server process works on at most ``limit`` requests at once.

``InFlightLimit`` is ASGI middleware in front of everything else. A request that arrives while
``limit`` others are in flight is answered at once with 503 ``OVERLOADED`` and ``Retry-After``
(the project's error form), before routing, authentication or a byte of its body is read: it
costs the process a few tens of µs instead of a place in a queue that only grows. An admitted
request runs as it would without the limit. So a saturated server keeps answering what it can
at its full rate and tells the rest to come back, rather than letting every request wait
until clients time out (a checkpoint then verifies offline, docs/capacity.md).

Some requests are not counted (``exempt``): they wait without working (a feed's long poll
holds no thread and no connection while it waits) or must answer under load (the health
check a load balancer asks).

>>> limit = InFlightLimit(None, limit=64)  # type: ignore[arg-type]
>>> limit.in_flight
0
"""

from __future__ import annotations

import json
from collections.abc import Callable

from starlette.types import ASGIApp, Receive, Scope, Send

from healthcode.core.error_codes import ErrorCode

__all__ = ["RETRY_AFTER_SECONDS", "InFlightLimit", "overloaded_body"]

#: What a 503 OVERLOADED asks the client to wait before it asks again.
RETRY_AFTER_SECONDS = 1


def overloaded_body(limit: int) -> bytes:
    """The error answer of a shed request."""
    error = {
        "code": ErrorCode.OVERLOADED.value,
        "message": f"the server is working on {limit} requests already; try again",
        "retry_after": RETRY_AFTER_SECONDS,
    }
    return json.dumps({"error": error}, separators=(",", ":")).encode()


def _never(scope: Scope) -> bool:
    return False


class InFlightLimit:
    """ASGI middleware: at most ``limit`` HTTP requests of ``app`` in flight in this process
    (one event loop, so a plain counter), others answered 503 OVERLOADED; ``exempt(scope)``
    names the requests not counted."""

    def __init__(
        self, app: ASGIApp, *, limit: int, exempt: Callable[[Scope], bool] = _never
    ) -> None:
        if limit < 1:
            raise ValueError("the in-flight limit is at least 1")
        self.app = app
        self.limit = limit
        self.exempt = exempt
        self.in_flight = 0
        self._body = overloaded_body(limit)
        self._headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(self._body)).encode()),
            (b"retry-after", str(RETRY_AFTER_SECONDS).encode()),
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.exempt(scope):
            await self.app(scope, receive, send)
            return
        if self.in_flight >= self.limit:
            await send({"type": "http.response.start", "status": 503, "headers": self._headers})
            await send({"type": "http.response.body", "body": self._body})
            return
        self.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1
