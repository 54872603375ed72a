"""End to end over real HTTP against a hub in a subprocess, and the fault tests (kill -9)."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from hub_testdata import nat, resident_id
from live import LiveHub, add_org, env_for
from sqlalchemy import func, select

from healthcode.store.db import Database
from healthcode.store.models import FeedEntry, IdempotencyKey, Record


@pytest.fixture
def live(fresh_db_url: str, tmp_path: Path) -> Iterator[LiveHub]:
    hub = LiveHub(fresh_db_url, tmp_path / "hub.log")
    hub.start()
    try:
        yield hub
    finally:
        hub.stop()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.slow
def test_departments_in_provinces_out_over_http(live: LiveHub) -> None:
    lab = bearer(add_org(live.db_url, "lab", "440106", "GZ lab"))
    gd = bearer(add_org(live.db_url, "province", "440000", "Guangdong"))
    station = bearer(add_org(live.db_url, "checkpoint", "110105", "Beijing West"))
    with httpx.Client(base_url=live.url, timeout=30) as c:
        r = c.post(
            "/v1/records/nat/batch",
            json=[nat(f"S{i}", resident_id(seq=f"{i:03d}")) for i in range(20)],
            headers=lab,
        )
        assert r.status_code == 200, r.text
        page = c.get("/v1/feeds/440000", params={"limit": 100}, headers=gd).json()
        assert len(page["entries"]) == 20
        pseudonym = page["entries"][0]["data"]["pseudonym"]
        c.post(
            "/v1/registrations",
            json={"people": [{"id_number": resident_id(seq="000")}]},
            headers=gd,
        )
        report = {
            "serial": "GD-1",
            "pseudonym": pseudonym,
            "colour": "green",
            "since": "2022-11-19T00:00",
            "ruleset_version": "9.0",
        }
        assert c.post("/v1/status", json={"reports": [report]}, headers=gd).status_code == 200
        assert c.get("/v1/status/GD-1", headers=station).json()["colour"] == "green"
        assert c.get("/v1/feeds/440000", headers=station).status_code == 403


def _count(db_url: str) -> tuple[int, int]:
    db = Database.from_url(db_url)
    try:
        with db.read() as s:
            total, distinct = s.execute(
                select(func.count(), func.count(func.distinct(Record.natural_key)))
            ).one()
        return int(total), int(distinct)
    finally:
        db.dispose()


@pytest.mark.slow
def test_kill_9_during_bulk_ingest_loses_nothing_acknowledged(live: LiveHub) -> None:
    token = add_org(live.db_url, "lab", "440106", "GZ lab")
    batches = [
        [nat(f"B{b}-{i}", resident_id(seq=f"{i:03d}")) for i in range(300)] for b in range(60)
    ]
    acked: dict[int, list[int]] = {}
    stop = threading.Event()

    def send() -> None:
        with httpx.Client(base_url=live.url, timeout=30, headers=bearer(token)) as c:
            for b, batch in enumerate(batches):
                if stop.is_set():
                    return
                try:
                    r = c.post("/v1/records/nat/batch", json=batch)
                except httpx.HTTPError:
                    return
                if r.status_code == 200:
                    acked[b] = r.json()["ids"]

    sender = threading.Thread(target=send)
    sender.start()
    deadline = time.monotonic() + 60
    while len(acked) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    live.kill9()  # in the middle of the bulk ingest
    stop.set()
    sender.join(timeout=60)
    assert 3 <= len(acked) < len(batches)

    live.start()  # restart on the same database
    total, distinct = _count(live.db_url)
    assert total == distinct  # nothing twice
    assert total >= 300 * len(acked)  # every acknowledged record is there
    db = Database.from_url(live.db_url)
    with db.read() as s:
        stored = set(s.execute(select(Record.id)).scalars())
    db.dispose()
    assert all(set(ids) <= stored for ids in acked.values())

    # the retry of every batch completes the ingest and answers acknowledged batches the same
    with httpx.Client(base_url=live.url, timeout=60, headers=bearer(token)) as c:
        for b, batch in enumerate(batches):
            r = c.post("/v1/records/nat/batch", json=batch)
            assert r.status_code == 200, r.text
            if b in acked:
                assert r.json()["ids"] == acked[b]
    assert _count(live.db_url) == (300 * len(batches), 300 * len(batches))


@pytest.mark.slow
def test_feed_consumer_killed_mid_page_resumes_without_gap_or_duplicate(
    live: LiveHub, tmp_path: Path
) -> None:
    lab = bearer(add_org(live.db_url, "lab", "440106", "GZ lab"))
    token = add_org(live.db_url, "province", "440000", "Guangdong")
    with httpx.Client(base_url=live.url, timeout=30) as c:
        for b in range(4):
            batch = [nat(f"F{b}-{i}", resident_id(seq=f"{i:03d}")) for i in range(100)]
            assert c.post("/v1/records/nat/batch", json=batch, headers=lab).status_code == 200
    state = tmp_path / "province.db"
    args = [sys.executable, "-m", "healthcode.hub.consumer", live.url, token, "440000", str(state)]
    env = env_for(live.db_url)
    for _ in range(3):  # kill it mid-page a few times
        proc = subprocess.Popen([*args, "0.005"], env=env)
        time.sleep(0.5)
        proc.kill()
        proc.wait(timeout=30)
    done = subprocess.run(args, env=env, timeout=120)
    assert done.returncode == 0
    import sqlite3

    con = sqlite3.connect(state)
    seqs = [row[0] for row in con.execute("SELECT seq FROM applied ORDER BY seq")]
    cursor = con.execute("SELECT seq FROM cursor").fetchone()[0]
    con.close()
    assert seqs == list(range(1, 401)) and cursor == 400


def _stored(db_url: str) -> tuple[set[int], int, int]:
    """The ids of the stored records, the feed entries and the Idempotency-Keys stored."""
    db = Database.from_url(db_url)
    try:
        with db.read() as s:
            ids = set(s.execute(select(Record.id)).scalars())
            entries = s.execute(select(func.count()).select_from(FeedEntry)).scalar_one()
            keys = s.execute(select(func.count()).select_from(IdempotencyKey)).scalar_one()
        return ids, int(entries), int(keys)
    finally:
        db.dispose()


@pytest.mark.slow
def test_kill_9_during_group_commits_of_single_submissions(live: LiveHub) -> None:
    token = add_org(live.db_url, "lab", "440106", "GZ lab")
    records = [nat(f"G{i}", resident_id(seq=f"{i % 1000:03d}")) for i in range(400)]
    acked: dict[int, bytes] = {}
    stop = threading.Event()

    def send(part: range) -> None:  # 16 of these at once: groups form in the server
        with httpx.Client(base_url=live.url, timeout=30, headers=bearer(token)) as c:
            for i in part:
                if stop.is_set():
                    return
                try:
                    r = c.post(
                        "/v1/records/nat", json=records[i], headers={"Idempotency-Key": f"g{i}"}
                    )
                except httpx.HTTPError:
                    return
                if r.status_code == 200:
                    acked[i] = r.content

    senders = [threading.Thread(target=send, args=(range(k, 400, 16),)) for k in range(16)]
    for t in senders:
        t.start()
    deadline = time.monotonic() + 60
    while len(acked) < 30 and time.monotonic() < deadline:
        time.sleep(0.01)
    live.kill9()  # groups in flight: some committed and not answered, some not committed
    stop.set()
    for t in senders:
        t.join(timeout=60)
    assert 30 <= len(acked) < len(records)

    live.start()
    ids, entries, keys = _stored(live.db_url)
    assert entries == len(ids) == keys  # each stored record with its feed entry and its key
    assert {int(json.loads(body)["id"]) for body in acked.values()} <= ids

    # every request again with its key: what was answered answers the same bytes
    with httpx.Client(base_url=live.url, timeout=60, headers=bearer(token)) as c:
        for i, record in enumerate(records):
            r = c.post("/v1/records/nat", json=record, headers={"Idempotency-Key": f"g{i}"})
            assert r.status_code == 200, r.text
            if i in acked:
                assert r.content == acked[i]
    ids, entries, keys = _stored(live.db_url)
    assert entries == len(ids) == keys == len(records)
