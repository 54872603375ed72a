"""Concurrency never surfaces as a 500: writers that meet each other on real connections.

Each test runs a hub on its own database (SQLite file, and PostgreSQL when configured) with
real, separate connections, and sends requests from several threads at once through the HTTP
application, so what a caller would see (status and body) is what is asserted. The SQLite test
runs two real server processes on one database file.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hub_testdata import ASGISyncTransport, nat, resident_id
from live import LiveHub, add_org
from sqlalchemy import func, select

from healthcode.config import Settings
from healthcode.core.clock import FixedClock
from healthcode.hub.app import create_app
from healthcode.hub.services import Hub
from healthcode.store.db import Database
from healthcode.store.migrate import upgrade
from healthcode.store.models import FeedEntry, IdempotencyKey, Record


@pytest.fixture
def real_hub(fresh_db_url: str, settings: Settings, clock: FixedClock) -> Iterator[Hub]:
    db = Database.from_url(fresh_db_url)
    upgrade(db)
    yield Hub.build(settings=settings, db=db, clock=clock)
    db.dispose()


def bearer(hub: Hub, kind: str, region: str) -> dict[str, str]:
    _, token = hub.orgs.add(kind=kind, region_code=region, name=f"{kind} {region}")
    return {"Authorization": f"Bearer {token}"}


def at_once(hub: Hub, calls: list[Callable[[httpx.Client], httpx.Response]]) -> list[Any]:
    """Run each call in its own thread with its own client, released together; the responses
    (or the exception a call raised) in the order of ``calls``."""
    app = create_app(hub)
    start = threading.Barrier(len(calls))
    out: list[Any] = [None] * len(calls)

    def run(i: int) -> None:
        with httpx.Client(transport=ASGISyncTransport(app), base_url="http://hub.test") as c:
            start.wait(30)
            try:
                out[i] = calls[i](c)
            except Exception as exc:  # reported by the caller's assertions
                out[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return out


def count(hub: Hub, model: Any) -> int:
    with hub.db.read() as s:
        return int(s.execute(select(func.count()).select_from(model)).scalar_one())


@pytest.mark.parametrize("size", [10, 100])  # the ON CONFLICT path, and the plain insert first
def test_batches_sharing_keys_in_opposite_orders_never_deadlock_into_a_500(
    real_hub: Hub, size: int
) -> None:
    hub = real_hub
    lab = bearer(hub, "lab", "440106")
    rounds = 12
    for r in range(rounds):
        records = [nat(f"R{r}-{i:03d}", resident_id(seq=f"{i:03d}")) for i in range(size)]
        forward, backward = records, records[::-1]
        answers = at_once(
            hub,
            [
                lambda c, body=body: c.post("/v1/records/nat/batch", json=body, headers=lab)
                for body in (forward, backward)
            ],
        )
        for answer in answers:
            assert isinstance(answer, httpx.Response), answer
            assert answer.status_code == 200, answer.text
        ids_forward = answers[0].json()["ids"]
        ids_backward = answers[1].json()["ids"]
        assert ids_forward == ids_backward[::-1]  # each caller's ids in its own order
        assert len(set(ids_forward)) == size
    assert count(hub, Record) == rounds * size  # every record stored once
    assert count(hub, FeedEntry) == rounds * size  # and announced once


def test_identical_requests_with_one_idempotency_key_at_once_answer_alike(real_hub: Hub) -> None:
    hub = real_hub
    lab = {**bearer(hub, "lab", "440106"), "Idempotency-Key": "same"}
    body = [nat(f"I{i}", resident_id(seq=f"{i:03d}")) for i in range(5)]
    answers = at_once(hub, [lambda c: c.post("/v1/records/nat/batch", json=body, headers=lab)] * 4)
    assert all(isinstance(a, httpx.Response) and a.status_code == 200 for a in answers), answers
    assert len({a.text for a in answers}) == 1
    assert count(hub, Record) == 5 and count(hub, IdempotencyKey) == 1


def _send_until_stored(
    url: str, lab: dict[str, str], body: list[dict[str, object]], seen: list[tuple[int, str]]
) -> dict[str, Any]:
    """Post ``body`` until it is stored, waiting as each 503 asks; every answer into ``seen``."""
    with httpx.Client(base_url=url, timeout=120) as c:
        for _ in range(60):
            r = c.post("/v1/records/nat/batch", json=body, headers=lab)
            seen.append((r.status_code, r.headers.get("Retry-After", "")))
            if r.status_code != 503:
                assert r.status_code == 200, r.text
                answer: dict[str, Any] = r.json()
                return answer
            assert r.json()["error"]["code"] == "DATABASE_BUSY", r.text
            time.sleep(float(r.headers["Retry-After"]))
    raise AssertionError("still busy after 60 tries")


@pytest.mark.slow
def test_two_sqlite_servers_under_large_batches_answer_200_or_503_and_store_all_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "hub.db"
    url = f"sqlite:///{path}"
    monkeypatch.setenv("HEALTHCODE_DATABASE_BUSY_SECONDS", "1")
    hubs = [LiveHub(url, tmp_path / f"hub{i}.log") for i in range(2)]
    for h in hubs:  # one after the other: each migrates the file first
        h.start()
    try:
        lab = {"Authorization": f"Bearer {add_org(url, 'lab', '440106', 'lab')}"}
        size, per_hub = 2000, 3
        batches = [
            [nat(f"B{b}-{i}", resident_id(seq=f"{i % 1000:03d}")) for i in range(size)]
            for b in range(2 * per_hub)
        ]
        # First wave: another writer holds the database throughout; every batch must be
        # refused politely (503, Retry-After, DATABASE_BUSY), and nothing of it stored.
        holder = sqlite3.connect(path, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        first: list[tuple[int, str]] = []

        def once(i: int) -> None:
            r = httpx.post(
                hubs[i % 2].url + "/v1/records/nat/batch", json=batches[i], headers=lab, timeout=120
            )
            first.append((r.status_code, r.headers.get("Retry-After", "")))

        threads = [threading.Thread(target=once, args=(i,)) for i in range(len(batches))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert holder.execute("SELECT count(*) FROM records").fetchone() == (0,)
        holder.execute("ROLLBACK")
        holder.close()
        assert first == [(503, "1")] * len(batches)
        # Second wave: the same batches at once from both servers, each retried as asked.
        seen: list[tuple[int, str]] = []
        answers: list[dict[str, Any]] = []

        def send(i: int) -> None:
            answers.append(_send_until_stored(hubs[i % 2].url, lab, batches[i], seen))

        threads = [threading.Thread(target=send, args=(i,)) for i in range(len(batches))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(300)
        assert {status for status, _ in seen} <= {200, 503}
        assert all(after == "1" for status, after in seen if status == 503)
        assert len(answers) == len(batches) and all(a["count"] == size for a in answers)
    finally:
        for h in hubs:
            h.stop()
    db = Database.from_url(url)
    try:
        with db.read() as s:
            for model in (Record, FeedEntry):  # every record once, none half-stored
                assert s.execute(select(func.count()).select_from(model)).scalar_one() == (
                    len(batches) * size
                )
    finally:
        db.dispose()
