"""The feed's long poll (``wait``): answered when entries are committed, else after the wait;
waiting holds no worker thread; on PostgreSQL another server process's commit wakes it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anyio
import httpx
import pytest
from hub_testdata import nat, resident_id

from healthcode.config import Settings
from healthcode.core.clock import FixedClock
from healthcode.hub.app import create_app
from healthcode.hub.feed_signal import FeedSignal
from healthcode.hub.services import Hub, feed_listener
from healthcode.store.db import Database

Org = Callable[..., dict[str, str]]


def _client(hub: Hub) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(create_app(hub)), base_url="http://h")


async def _until_waiting(signal: FeedSignal, n: int = 1) -> None:
    with anyio.fail_after(30):
        while signal.waiting() < n:
            await anyio.sleep(0.01)


def _long_poll_sees_a_commit(hub: Hub, writer: Hub, lab: dict[str, str], gd: dict[str, str]) -> Any:
    """A reader waits (20 s) on ``hub``; a record is stored through ``writer``: the page the
    reader gets holds it (had nothing woken it, it would be empty after the 20 s)."""
    answer: dict[str, Any] = {}

    async def main() -> None:
        async with _client(hub) as reader, _client(writer) as submitter:

            async def read() -> None:
                r = await reader.get(
                    "/v1/feeds/440000", params={"after": 0, "wait": 20}, headers=gd
                )
                answer.update(r.json())

            async with anyio.create_task_group() as tg:
                tg.start_soon(read)
                await _until_waiting(hub.feeds.signal)
                record = nat("LP-1", resident_id(), result="positive")
                r = await submitter.post("/v1/records/nat", json=record, headers=lab)
                assert r.status_code == 200, r.text

    anyio.run(main)
    return answer


def test_a_waiting_reader_is_answered_by_the_commit(hub: Hub, org: Org) -> None:
    lab, gd = org("lab", "440106"), org("province", "440000")
    page = _long_poll_sees_a_commit(hub, hub, lab, gd)
    assert [e["kind"] for e in page["entries"]] == ["record"]
    assert page["next"] == page["entries"][0]["seq"]


def test_an_empty_wait_answers_an_empty_page_and_the_wait_is_bounded(
    client: httpx.Client, org: Org
) -> None:
    gd = org("province", "440000")
    r = client.get("/v1/feeds/440000", params={"after": 0, "wait": 0.1}, headers=gd)
    assert r.status_code == 200 and r.json() == {
        "province": "440000",
        "entries": [],
        "next": 0,
        "more": False,
    }
    for bad in ("30.5", "-1", "soon"):
        r = client.get("/v1/feeds/440000", params={"after": 0, "wait": bad}, headers=gd)
        assert r.status_code == 422 and r.json()["error"]["code"] == "REQUEST_INVALID"
    # the checks of a plain read come first: another province's feed, a cursor beyond the end
    r = client.get("/v1/feeds/110000", params={"wait": 5}, headers=gd)
    assert r.status_code == 403
    r = client.get("/v1/feeds/440000", params={"after": 9, "wait": 5}, headers=gd)
    assert r.json()["error"]["code"] == "CURSOR_INVALID"


def test_waiting_readers_hold_no_worker_thread(real_hub: Hub) -> None:
    """More readers wait than there are worker threads; a status query still gets through."""
    hub = real_hub
    lab, gd, station = (
        {"Authorization": f"Bearer {hub.orgs.add(kind=k, region_code=r, name=k)[1]}"}
        for k, r in (("lab", "440106"), ("province", "440000"), ("checkpoint", "440000"))
    )
    threads = hub.settings.worker_threads
    app = create_app(hub)

    async def main() -> None:
        limiter = anyio.to_thread.current_default_thread_limiter()
        limiter.total_tokens = threads
        transport = httpx.ASGITransport(app)
        async with httpx.AsyncClient(transport=transport, base_url="http://h") as c:
            async with anyio.create_task_group() as tg:
                for _ in range(threads * 2):
                    tg.start_soon(
                        lambda: c.get(
                            "/v1/feeds/440000", params={"after": 0, "wait": 20}, headers=gd
                        )
                    )
                await _until_waiting(hub.feeds.signal, threads * 2)
                r = await c.get("/v1/status", params={"pseudonym": "ab" * 16}, headers=station)
                assert r.json()["error"]["code"] == "STATUS_UNKNOWN"
                r = await c.post("/v1/records/nat", json=nat("LP-2", resident_id()), headers=lab)
                assert r.status_code == 200
            assert hub.feeds.signal.waiting() == 0

    anyio.run(main)


def test_a_signal_wakes_only_its_province_and_only_later_commits() -> None:
    signal = FeedSignal()

    async def main() -> None:
        seen = signal.generation("440000")
        signal.notify(["110000"])
        assert not await signal.wait("440000", seen, 0.01)
        signal.notify(["440000"])  # between the read and the wait: not missed
        assert await signal.wait("440000", seen, 5)
        assert signal.waiting() == 0

    anyio.run(main)


def test_another_processs_commit_wakes_the_reader_on_postgresql(
    fresh_db_url: str, settings: Settings, clock: FixedClock
) -> None:
    """Two hubs on one PostgreSQL database, as two ``serve --workers`` processes: a record
    stored through one wakes a reader waiting on the other (its listener)."""
    if not fresh_db_url.startswith("postgresql"):
        pytest.skip("one process on SQLite: no other process to hear from")
    from healthcode.store.migrate import upgrade

    dbs = [Database.from_url(fresh_db_url) for _ in range(2)]
    upgrade(dbs[0])
    reader, writer = (Hub.build(settings=settings, db=db, clock=clock) for db in dbs)
    listener = feed_listener(reader)
    assert listener is not None
    listener.start()
    try:
        assert listener.listening.wait(30)
        _, lab = writer.orgs.add(kind="lab", region_code="440106", name="lab")
        _, gd = writer.orgs.add(kind="province", region_code="440000", name="gd")
        page = _long_poll_sees_a_commit(
            reader, writer, {"Authorization": f"Bearer {lab}"}, {"Authorization": f"Bearer {gd}"}
        )
        assert [e["kind"] for e in page["entries"]] == ["record"]
    finally:
        listener.stop()
        for db in dbs:
            db.dispose()
