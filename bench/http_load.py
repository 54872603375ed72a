"""A cheap closed-loop HTTP/1.1 load generator: keep-alive connections, pre-built requests.

Each of ``clients`` connections sends one request, waits for its answer, then sends the next
(closed loop), until the requests run out or the time is up. Requests are bytes built before
the phase starts (``request_bytes``); an answer is read by ``ResponseReader``, which looks only
at the status line and ``Content-Length``. An asyncio ``Protocol`` per connection (on uvloop
when it is installed) keeps the generator's own CPU per request small, so a benchmark on the
same machine measures the server rather than the client.

>>> r = ResponseReader()
>>> r.feed(b"HTTP/1.1 200 OK\\r\\ncontent-length: 2\\r\\n\\r\\n{}HTTP/1.1 404 Not Fo")
[(200, b'{}')]
>>> r.feed(b"und\\r\\nContent-Length: 0\\r\\n\\r\\n")
[(404, b'')]

Only what a hub benchmark needs: no chunked bodies, no TLS, no redirects, one request in
flight per connection. It talks to the address it is given and nothing else.
"""

from __future__ import annotations

import asyncio
import contextlib
import resource
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, cast

__all__ = ["PhaseResult", "ProtocolError", "ResponseReader", "drive", "request_bytes", "run"]

#: A stuck phase is cut this long after its deadline (every connection is closed).
GRACE_SECONDS = 30.0


class ProtocolError(Exception):
    """An answer this minimal reader does not understand."""


def request_bytes(
    method: str,
    target: str,
    *,
    host: str,
    headers: Iterable[tuple[str, str]] = (),
    body: bytes | None = None,
) -> bytes:
    """One HTTP/1.1 keep-alive request, ready to write.

    >>> request_bytes("GET", "/v1/health", host="127.0.0.1:8000")
    b'GET /v1/health HTTP/1.1\\r\\nHost: 127.0.0.1:8000\\r\\n\\r\\n'
    """
    lines = [f"{method} {target} HTTP/1.1", f"Host: {host}"]
    lines += [f"{name}: {value}" for name, value in headers]
    if body is not None:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (body or b"")


class ResponseReader:
    """Splits a byte stream into HTTP/1.1 answers: ``feed(data)`` returns the answers
    completed by ``data`` as ``(status, body)``.

    Raises ProtocolError for a malformed status line, a chunked body or a missing
    Content-Length (the hub always sends one).
    """

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._status = 0
        self._length = -1  # body length of the answer whose head was read; -1: reading a head

    def feed(self, data: bytes) -> list[tuple[int, bytes]]:
        self._buffer += data
        done: list[tuple[int, bytes]] = []
        while True:
            if self._length < 0:
                end = self._buffer.find(b"\r\n\r\n")
                if end < 0:
                    return done
                self._status, self._length = _parse_head(bytes(self._buffer[:end]))
                del self._buffer[: end + 4]
            if len(self._buffer) < self._length:
                return done
            body = bytes(self._buffer[: self._length])
            del self._buffer[: self._length]
            done.append((self._status, body))
            self._length = -1


def _parse_head(head: bytes) -> tuple[int, int]:
    status_line, _, rest = head.partition(b"\r\n")
    parts = status_line.split(b" ", 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/1.") or not parts[1].isdigit():
        raise ProtocolError(f"bad status line {status_line[:80]!r}")
    status = int(parts[1])
    length = -1
    for line in rest.split(b"\r\n"):
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value.strip())
        elif name == b"transfer-encoding" and value.strip().lower() != b"identity":
            raise ProtocolError("chunked answers are not supported")
    if length < 0:
        if status in (204, 304) or 100 <= status < 200:
            return status, 0
        raise ProtocolError("an answer without Content-Length")
    return status, length


class _Connection(asyncio.Protocol):
    def __init__(self) -> None:
        self.reader = ResponseReader()
        self.transport: asyncio.Transport | None = None
        self.waiter: asyncio.Future[int] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def data_received(self, data: bytes) -> None:
        try:
            answers = self.reader.feed(data)
        except ProtocolError as exc:
            self._fail(exc)
            return
        for status, _body in answers:
            if self.waiter is not None and not self.waiter.done():
                self.waiter.set_result(status)
            else:
                self._fail(ProtocolError("an answer nobody asked for"))

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(exc or ConnectionError("connection closed"))

    def _fail(self, exc: Exception) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(exc)
        if self.transport is not None:
            self.transport.close()

    def send(self, request: bytes) -> asyncio.Future[int]:
        if self.transport is None or self.transport.is_closing():
            raise ConnectionError("connection closed")
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(request)
        return self.waiter


@dataclass(frozen=True)
class PhaseResult:
    """What one phase did: latencies (seconds, sorted) of the 200 answers, other answers by
    status, failed requests (connection or protocol errors), wall time, and this process's
    own CPU time (user + system) during the phase."""

    latencies: list[float]
    other: dict[int, int]
    failed: int
    elapsed: float
    client_cpu: float

    @property
    def ok(self) -> int:
        return len(self.latencies)

    @property
    def answered(self) -> int:
        return self.ok + sum(self.other.values())


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def drive(
    host: str,
    port: int,
    requests: Sequence[bytes],
    *,
    clients: int,
    seconds: float,
    pause_after_503: float = 0.0,
) -> PhaseResult:
    """Send ``requests`` in order over ``clients`` keep-alive connections (closed loop) until
    they run out or ``seconds`` have passed; a connection answered 503 or 429 waits
    ``pause_after_503`` seconds before its next request (a client honouring ``Retry-After``)."""
    loop = asyncio.get_running_loop()
    connections: list[_Connection] = []
    for _ in range(clients):
        _, protocol = await loop.create_connection(_Connection, host, port)
        connections.append(protocol)
    latencies: list[float] = []
    other: dict[int, int] = {}
    failed = 0
    issued = 0
    now = time.perf_counter
    deadline = now() + seconds

    async def worker(conn: _Connection) -> None:
        nonlocal issued, failed
        while issued < len(requests) and now() < deadline:
            request = requests[issued]
            issued += 1
            start = now()
            try:
                status = await conn.send(request)
            except (OSError, ProtocolError):
                failed += 1
                return  # this connection is gone; the others go on
            if status == 200:
                latencies.append(now() - start)
            else:
                other[status] = other.get(status, 0) + 1
                if status in (429, 503) and pause_after_503 > 0:
                    await asyncio.sleep(pause_after_503)

    def cut() -> None:
        for conn in connections:
            if conn.transport is not None:
                conn.transport.abort()

    watchdog = loop.call_later(seconds + GRACE_SECONDS, cut)
    cpu0, start = _cpu(), now()
    try:
        await asyncio.gather(*(worker(c) for c in connections))
    finally:
        elapsed, client_cpu = now() - start, _cpu() - cpu0
        watchdog.cancel()
        for conn in connections:
            if conn.transport is not None:
                conn.transport.close()
    latencies.sort()
    return PhaseResult(latencies, other, failed, elapsed, client_cpu)


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop]:
    with contextlib.suppress(ImportError):
        import uvloop

        factory: Callable[[], Any] = uvloop.new_event_loop
        return factory
    return asyncio.new_event_loop


def run(
    host: str,
    port: int,
    requests: Sequence[bytes],
    *,
    clients: int,
    seconds: float,
    pause_after_503: float = 0.0,
) -> PhaseResult:
    """``drive`` on a fresh event loop (uvloop when installed)."""
    with asyncio.Runner(loop_factory=_loop_factory()) as runner:
        return runner.run(
            drive(
                host,
                port,
                requests,
                clients=clients,
                seconds=seconds,
                pause_after_503=pause_after_503,
            )
        )
