"""bench/http_load.py: the minimal HTTP/1.1 reader and the closed-loop driver, on loopback."""

from __future__ import annotations

import asyncio

import pytest
from bench.http_load import ProtocolError, ResponseReader, drive, request_bytes


def test_answers_split_anywhere_are_put_together() -> None:
    stream = (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n"
        b'{"a": "b"}\n'
        b"HTTP/1.1 404 Not Found\r\ncontent-length: 2\r\n\r\n{}"
    )
    for cut in range(1, len(stream)):
        reader = ResponseReader()
        got = reader.feed(stream[:cut]) + reader.feed(stream[cut:])
        assert got == [(200, b'{"a": "b"}\n'), (404, b"{}")]


def test_bodiless_answers() -> None:
    assert ResponseReader().feed(b"HTTP/1.1 204 No Content\r\n\r\n") == [(204, b"")]


@pytest.mark.parametrize(
    "head",
    [
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nServer: x\r\n\r\n",
        b"SSH-2.0-OpenSSH\r\n\r\n",
        b"HTTP/1.1 abc OK\r\nContent-Length: 0\r\n\r\n",
    ],
)
def test_what_it_does_not_understand_is_an_error(head: bytes) -> None:
    with pytest.raises(ProtocolError):
        ResponseReader().feed(head)


def test_request_bytes_has_length_and_headers() -> None:
    raw = request_bytes(
        "POST", "/x?a=1", host="127.0.0.1:1", headers=[("Authorization", "Bearer t")], body=b"{}"
    )
    assert raw == (
        b"POST /x?a=1 HTTP/1.1\r\nHost: 127.0.0.1:1\r\nAuthorization: Bearer t\r\n"
        b"Content-Length: 2\r\n\r\n{}"
    )


async def _serve_and_drive(requests: list[bytes]) -> tuple[object, list[bytes]]:
    seen: list[bytes] = []
    handlers: list[asyncio.Task[None]] = []

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                seen.append(head.split(b" ")[1])
                status = b"200 OK" if b"/ok" in head else b"404 Not Found"
                # Head and body in two writes: the reader must wait for the body.
                writer.write(b"HTTP/1.1 " + status + b"\r\nContent-Length: 5\r\n\r\n")
                await writer.drain()
                writer.write(b"hello")
                await writer.drain()
        except asyncio.IncompleteReadError:
            pass  # the client closed its connection
        finally:
            writer.close()
            await writer.wait_closed()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        handlers.append(asyncio.current_task())  # type: ignore[arg-type]
        await answer(reader, writer)

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        result = await drive("127.0.0.1", port, requests, clients=3, seconds=10)
        await asyncio.gather(*handlers)
    return result, seen


def test_drive_sends_every_request_once_and_counts_answers() -> None:
    requests = [
        request_bytes("GET", f"/ok/{i}" if i % 4 else f"/missing/{i}", host="h") for i in range(40)
    ]
    result, seen = asyncio.run(_serve_and_drive(requests))
    assert sorted(seen) == sorted(r.split(b" ")[1] for r in requests)
    assert result.ok == 30 and result.other == {404: 10} and result.failed == 0  # type: ignore[attr-defined]
    assert result.answered == 40 and result.client_cpu >= 0  # type: ignore[attr-defined]
