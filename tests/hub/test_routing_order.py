"""Concurrent writers on real connections: a record in flight when its person registers
elsewhere still reaches the new province (the registration waits for it and replays it), and
the same large batch sent twice at once is stored once."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from hub_testdata import nat, resident_id

from healthcode.hub import feeds, ingest_one_pg
from healthcode.hub.ingest import Located
from healthcode.hub.services import Hub


@pytest.mark.parametrize("held_by_guangdong", [False, True])
def test_a_registration_waits_for_records_in_flight_and_replays_them(
    real_hub: Hub, monkeypatch: pytest.MonkeyPatch, held_by_guangdong: bool
) -> None:
    # Guangdong gets the record live either way: as the ID number's province when nobody holds
    # the person, or as a holder that Beijing's registration leaves in place.
    hub = real_hub
    lab = hub.orgs.authenticate(hub.orgs.add(kind="lab", region_code="440106", name="lab")[1])
    bj = hub.orgs.authenticate(
        hub.orgs.add(kind="province", region_code="110000", name="Beijing")[1]
    )
    idn = resident_id("440106")  # routed to Guangdong by the ID number before registration
    if held_by_guangdong:
        gd = hub.orgs.add(kind="province", region_code="440000", name="Guangdong")[1]
        hub.status.register(hub.orgs.authenticate(gd), [{"id_number": idn}])
    stored = threading.Event()
    release = threading.Event()
    upsert = hub.ingest._upsert_identities
    group = ingest_one_pg._store_new  # a group's statement on PostgreSQL

    def pausing(step: Any) -> Any:
        def paused(*args: Any, **kwargs: Any) -> None:
            step(*args, **kwargs)  # the record is routed and inserted, not yet committed
            stored.set()
            assert release.wait(20)

        return paused

    monkeypatch.setattr(hub.ingest, "_upsert_identities", pausing(upsert))
    monkeypatch.setattr(ingest_one_pg, "_store_new", pausing(group))
    answers: dict[str, Any] = {}

    def submit() -> None:
        item = Located({"index": 0}, nat("S1", idn))
        answers["ingest"] = hub.ingest.submit(lab, "nat", [item], single=True)

    def register() -> None:
        answers["registration"] = hub.status.register(bj, [{"id_number": idn}])

    ingest = threading.Thread(target=submit)
    ingest.start()
    try:
        assert stored.wait(20)
        registration = threading.Thread(target=register)
        registration.start()
        registration.join(0.5)
        assert registration.is_alive(), "the registration must wait for the record in flight"
    finally:
        release.set()
        ingest.join(20)
    registration.join(20)
    assert not registration.is_alive() and set(answers) == {"ingest", "registration"}
    with hub.db.read() as s:
        pages = {p: feeds.read_page(s, p, after=0, limit=10) for p in ("110000", "440000")}
    rid = answers["ingest"]["id"]
    got = {
        p: [(e["kind"], e["data"]["record"], e["data"].get("replayed")) for e in page.entries]
        for p, page in pages.items()
    }
    assert got == {"110000": [("record", rid, True)], "440000": [("record", rid, None)]}


def test_the_same_large_batch_sent_twice_at_once_is_stored_once(real_hub: Hub) -> None:
    # Both copies try the plain insert; the second waits for the first's keys, then meets
    # them at its commit and takes the ON CONFLICT path: one set of records, the same answer.
    hub = real_hub
    lab = hub.orgs.authenticate(hub.orgs.add(kind="lab", region_code="440106", name="lab")[1])
    batch = [Located({"index": i}, nat(f"C{i}", resident_id(seq=f"{i:03d}"))) for i in range(150)]
    answers: list[dict[str, Any]] = []
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def submit() -> None:
        start.wait(10)
        try:
            answers.append(hub.ingest.submit(lab, "nat", batch))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=submit) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == [] and len(answers) == 2
    assert answers[0] == answers[1] and len(set(answers[0]["ids"])) == 150
    with hub.db.read() as s:
        page = feeds.read_page(s, "440000", after=0, limit=1000)
    assert sorted(e["data"]["record"] for e in page.entries) == sorted(answers[0]["ids"])
