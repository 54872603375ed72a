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
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest
from hub_testdata import ASGISyncTransport, nat, resident_id
from live import LiveHub, add_org
from sqlalchemy import func, select

from healthcode.core.clock import FixedClock
from healthcode.hub.app import create_app
from healthcode.hub.ingest import Located
from healthcode.hub.services import Hub
from healthcode.store.db import Database
from healthcode.store.models import CodeStatus, FeedEntry, IdempotencyKey, Record


def bearer(hub: Hub, kind: str, region: str) -> dict[str, str]:
    _, token = hub.orgs.add(kind=kind, region_code=region, name=f"{kind} {region}")
    return {"Authorization": f"Bearer {token}"}


def at_once(hub: Hub, calls: list[Callable[[httpx.Client], httpx.Response]]) -> list[Any]:
    """Each call in its own thread with its own client of the HTTP application, released
    together; the responses (or the exception a call raised) in the order of ``calls``."""
    app = create_app(hub)

    def with_client(call: Callable[[httpx.Client], httpx.Response]) -> httpx.Response:
        with httpx.Client(transport=ASGISyncTransport(app), base_url="http://hub.test") as c:
            return call(c)

    return in_threads([partial(with_client, call) for call in calls])


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


def antibody(record_id: str, id_number: str) -> dict[str, object]:
    return {
        "record_id": record_id,
        "id_number": id_number,
        "sampled_at": "2022-11-19T08:00",
        "kind": "IgG",
        "result": "negative",
    }


def in_threads(calls: list[Callable[[], Any]]) -> list[Any]:
    """Each call in its own thread, released together: its result or the exception it raised
    (an exception would be a 500 over HTTP)."""
    start = threading.Barrier(len(calls))
    out: list[Any] = [None] * len(calls)

    def run(i: int) -> None:
        start.wait(30)
        try:
            out[i] = calls[i]()
        except Exception as exc:
            out[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return out


def test_a_mixed_batch_and_single_kind_batches_sharing_keys_store_everything_once(
    real_hub: Hub,
) -> None:
    # A FHIR Bundle's kinds are stored as one batch; it must take its locks in the order of
    # every other writer (records of all kinds, then identities, then feed counters).
    hub = real_hub
    lab = hub.orgs.authenticate(hub.orgs.add(kind="lab", region_code="440106", name="lab")[1])
    rounds, size = 6, 20
    for r in range(rounds):
        nats = [nat(f"N{r}-{i}", resident_id(seq=f"{i:03d}")) for i in range(size)]
        abs_ = [antibody(f"A{r}-{i}", resident_id(seq=f"{i:03d}")) for i in range(size)]
        mixed = [("nat", Located({"entry": i}, x)) for i, x in enumerate(nats)] + [
            ("antibody", Located({"entry": size + i}, x)) for i, x in enumerate(abs_)
        ]
        out = in_threads(
            [
                partial(hub.ingest.submit_mixed, lab, mixed),
                partial(hub.ingest.submit, lab, "nat", located(nats[::-1])),
                partial(hub.ingest.submit, lab, "antibody", located(abs_[::-1])),
            ]
        )
        assert not [x for x in out if isinstance(x, Exception)], out
        ids = [rec["id"] for rec in out[0]["records"]]
        assert ids == out[1]["ids"][::-1] + out[2]["ids"][::-1]
    assert count(hub, Record) == count(hub, FeedEntry) == rounds * 2 * size


def located(records: list[dict[str, object]]) -> list[Located]:
    return [Located({"index": i}, x) for i, x in enumerate(records)]


def test_one_idempotency_key_with_two_bodies_at_once_stores_one_and_refuses_the_other(
    real_hub: Hub,
) -> None:
    hub = real_hub
    lab = {**bearer(hub, "lab", "440106"), "Idempotency-Key": "one-key"}
    bodies = [[nat(f"K{b}-{i}", resident_id(seq=f"{i:03d}")) for i in range(5)] for b in (1, 2)]
    answers = at_once(
        hub,
        [
            lambda c, body=body: c.post("/v1/records/nat/batch", json=body, headers=lab)
            for body in bodies
        ],
    )
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [200, 409], [a.text for a in answers]
    refused = next(a for a in answers if a.status_code == 409)
    assert refused.json()["error"]["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert count(hub, Record) == 5 and count(hub, IdempotencyKey) == 1


def test_corrections_racing_each_other_and_a_withdrawal_answer_without_a_500(
    real_hub: Hub,
) -> None:
    hub = real_hub
    lab = bearer(hub, "lab", "440106")
    records = [nat(f"C{i}", resident_id(seq=f"{i:03d}")) for i in range(6)]
    client = httpx.Client(transport=ASGISyncTransport(create_app(hub)), base_url="http://x")
    assert client.post("/v1/records/nat/batch", json=records, headers=lab).status_code == 200

    def correct(rec: dict[str, object]) -> Callable[[httpx.Client], httpx.Response]:
        body = {"action": "correct", "record_id": rec["record_id"], "reason": "typo"}
        body["record"] = {**rec, "result": "positive"}
        return lambda c: c.post("/v1/records/nat/corrections", json=body, headers=lab)

    def withdraw(rec: dict[str, object]) -> Callable[[httpx.Client], httpx.Response]:
        body = {"action": "withdraw", "record_id": rec["record_id"], "reason": "wrong person"}
        return lambda c: c.post("/v1/records/nat/corrections", json=body, headers=lab)

    calls = [f(rec) for rec in records for f in (correct, correct, withdraw)]
    answers = at_once(hub, calls)
    for i, rec in enumerate(records):
        mine = answers[3 * i : 3 * i + 3]
        assert all(isinstance(a, httpx.Response) for a in mine), mine
        assert {a.status_code for a in mine} <= {200, 409}, [a.text for a in mine]
        assert mine[2].status_code == 200  # a withdrawal always goes through
        for a in mine[:2]:  # a correction: stored (the same version twice), or too late
            if a.status_code == 409:
                assert a.json()["error"]["code"] == "RECORD_WITHDRAWN"
        versions = {a.json()["version"] for a in mine[:2] if a.status_code == 200}
        assert len(versions) <= 1, (rec, [a.text for a in mine])


def test_purge_racing_ingest_of_the_same_people_ends_with_both_done(
    real_hub: Hub, clock: FixedClock
) -> None:
    from datetime import timedelta

    from healthcode.core.trust.certs import make_publisher, make_root
    from healthcode.hub.purge import PurgeService

    hub = real_hub
    lab = hub.orgs.authenticate(hub.orgs.add(kind="lab", region_code="440106", name="lab")[1])
    start = clock.now() - timedelta(days=1)
    root = make_root(now=start)
    publisher = make_publisher(root=root, not_before=start, not_after=start + timedelta(days=3000))
    purge = PurgeService(db=hub.db, clock=clock, publisher=publisher)
    for r in range(4):
        people = [
            resident_id(region, seq=f"{i:03d}")
            for region in ("440106", "110105", "310101")
            for i in range(10)
        ]
        old = [nat(f"P{r}-{i}", idn) for i, idn in enumerate(people)]
        assert hub.ingest.submit(lab, "nat", located(old))["count"] == len(old)
        clock.advance(timedelta(days=200))  # the batch's records, entries and people expire
        new = [nat(f"Q{r}-{i}", idn) for i, idn in enumerate(people[::-1])]
        out = in_threads([purge.run, partial(hub.ingest.submit, lab, "nat", located(new))])
        assert not [x for x in out if isinstance(x, Exception)], out
        assert out[1]["count"] == len(new)


def test_two_status_reports_of_one_new_serial_at_once_answer_200_or_503_never_500(
    real_hub: Hub,
) -> None:
    # The status service checks, then inserts: a racing insert of the same serial meets the
    # unique key. That is another writer in the way: 503 with Retry-After, and a retry stores.
    hub = real_hub
    gd = bearer(hub, "province", "440000")
    client = httpx.Client(transport=ASGISyncTransport(create_app(hub)), base_url="http://x")
    people = [{"id_number": resident_id(seq=f"{i:03d}")} for i in range(8)]
    r = client.post("/v1/registrations", json={"people": people}, headers=gd)
    pseudonyms = r.json()["pseudonyms"]
    for i, pseudonym in enumerate(pseudonyms):
        report = {
            "serial": f"GD-{i}",
            "pseudonym": pseudonym,
            "colour": "green",
            "since": "2022-11-19T00:00",
            "ruleset_version": "1",
        }

        def send(c: httpx.Client, report: dict[str, str] = report) -> httpx.Response:
            return c.post("/v1/status", json={"reports": [report]}, headers=gd)

        answers = at_once(hub, [send, send, send])
        for a in answers:
            assert isinstance(a, httpx.Response), a
            assert a.status_code in (200, 503), a.text
            if a.status_code == 503:
                assert a.headers["Retry-After"] and a.json()["error"]["code"] == "DATABASE_BUSY"
                assert send(client).status_code == 200  # asked again, it is stored
    with hub.db.read() as s:
        assert s.execute(select(func.count()).select_from(CodeStatus)).scalar_one() == 8


def test_registrations_racing_each_other_and_ingest_answer_200(real_hub: Hub) -> None:
    hub = real_hub
    lab = bearer(hub, "lab", "440106")
    provinces = [bearer(hub, "province", p) for p in ("440000", "110000")]
    people = [{"id_number": resident_id(seq=f"{i:03d}")} for i in range(10)]
    for r in range(4):
        batch = [nat(f"G{r}-{i}", p["id_number"]) for i, p in enumerate(people)]

        def register(c: httpx.Client, h: dict[str, str]) -> httpx.Response:
            return c.post("/v1/registrations", json={"people": people[::-1]}, headers=h)

        answers = at_once(
            hub,
            [
                *(partial(register, h=h) for h in provinces),
                lambda c, batch=batch: c.post("/v1/records/nat/batch", json=batch, headers=lab),
            ],
        )
        for a in answers:
            assert isinstance(a, httpx.Response) and a.status_code == 200, a
    assert count(hub, Record) == 4 * len(people)
