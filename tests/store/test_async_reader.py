"""The status reads' async connections (``store/async_reader.py``): a reader used from a new
event loop closes the connections of the loop that is gone, so none is left open to the
garbage collector (a ResourceWarning, and a backend the server keeps until then)."""

from __future__ import annotations

import asyncio
import gc
import os
import warnings

import pytest

from healthcode.store.async_reader import AsyncReader
from healthcode.store.db import normalise_url

URL = os.environ.get("HEALTHCODE_TEST_DATABASE_URL")

pytestmark = pytest.mark.skipif(URL is None, reason="needs HEALTHCODE_TEST_DATABASE_URL")


def _conninfo() -> str:
    assert URL is not None
    return normalise_url(URL).replace("postgresql+psycopg://", "postgresql://")


def test_a_new_loop_closes_the_connections_of_the_old_one() -> None:
    reader = AsyncReader(conninfo=_conninfo(), size=2, busy_seconds=5)

    async def read() -> list[object]:
        await reader.open_all()
        rows = await reader.fetch(b"SELECT %(n)s::int AS n", {"n": 7})
        return [r.n for r in rows]

    assert asyncio.run(read()) == [7]
    first = list(reader._open)
    assert len(first) == 2 and not any(c.closed for c in first)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ResourceWarning)
        assert asyncio.run(read()) == [7]  # another loop, as a test client's
        assert all(c.closed for c in first)
        del first
        gc.collect()
    asyncio.run(reader.close())
    assert reader.opened == 0


def test_a_reader_dropped_without_close_closes_its_connections() -> None:
    reader = AsyncReader(conninfo=_conninfo(), size=2, busy_seconds=5)

    async def read(on: AsyncReader) -> None:
        await on.fetch(b"SELECT 1 AS n", {})

    asyncio.run(read(reader))
    opened = list(reader._open)
    assert len(opened) == 1 and not opened[0].closed
    with warnings.catch_warnings():
        warnings.simplefilter("error", ResourceWarning)
        del reader
        gc.collect()
        assert opened[0].closed
        del opened
        gc.collect()
