"""Who holds a person: several provinces at once (home and visited), none takes another's
registration, each says why and ends its own; records, corrections and status follow."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from hub_testdata import NOW, nat, network_in, resident_id
from sqlalchemy import select, text

from healthcode.core.clock import FixedClock
from healthcode.hub.purge import PurgeService
from healthcode.hub.services import Hub
from healthcode.store.db import Database
from healthcode.store.migrate import downgrade, upgrade
from healthcode.store.models import Registration

Org = Callable[..., dict[str, str]]
GD, BJ, SH = "440000", "110000", "310000"
#: Born in Shanghai: with nobody holding them, their records go to Shanghai.
IDN = resident_id("310101")
PERSON = {"id_number": IDN}


def _register(client: httpx.Client, headers: dict[str, str], **person: Any) -> httpx.Response:
    return client.post(
        "/v1/registrations", json={"people": [{**PERSON, **person}]}, headers=headers
    )


def _end(client: httpx.Client, headers: dict[str, str]) -> httpx.Response:
    return client.post("/v1/registrations/end", json={"people": [PERSON]}, headers=headers)


def _records(client: httpx.Client, province: str, headers: dict[str, str]) -> list[Any]:
    entries = client.get(f"/v1/feeds/{province}", params={"limit": 500}, headers=headers).json()
    return [
        (e["kind"], e["data"]["record"], e["data"].get("replayed", False))
        for e in entries["entries"]
    ]


def _status(pseudonym: str, serial: str, colour: str, **more: str) -> dict[str, str]:
    return {
        "serial": serial,
        "pseudonym": pseudonym,
        "colour": colour,
        "since": "2022-11-19T00:00:00Z",
        "ruleset_version": "9.0",
        **more,
    }


def test_a_second_province_holds_the_person_too(client: httpx.Client, org: Org) -> None:
    lab, gd, bj = org("lab", "440106"), org("province", GD), org("province", BJ)
    pseudonym = _register(client, gd).json()["pseudonyms"][0]
    r = _register(client, bj, reason="stay")
    assert r.status_code == 200 and r.json() == {"pseudonyms": [pseudonym]}
    # the first province keeps the person: its status report is accepted
    r = client.post(
        "/v1/status", json={"reports": [_status(pseudonym, "GD-1", "green")]}, headers=gd
    )
    assert r.status_code == 200, r.text
    r = client.post(
        "/v1/status", json={"reports": [_status(pseudonym, "BJ-1", "green")]}, headers=bj
    )
    assert r.status_code == 200, r.text
    rid = client.post("/v1/records/nat", json=nat("S1", IDN), headers=lab).json()["id"]
    assert _records(client, GD, gd) == [("record", rid, False)]
    assert _records(client, BJ, bj) == [("record", rid, False)]
    assert _records(client, SH, org("province", SH)) == []  # held: not the ID number's province


def test_a_status_query_lists_every_holder_and_answers_the_strictest(
    client: httpx.Client, org: Org
) -> None:
    gd, bj, station = org("province", GD), org("province", BJ), org("checkpoint", "110105")
    pseudonym = _register(client, gd).json()["pseudonyms"][0]
    _register(client, bj, reason="stay")
    for headers, report in (
        (gd, _status(pseudonym, "GD-1", "green")),
        (bj, _status(pseudonym, "BJ-1", "red", since="2022-11-18T00:00:00Z")),
    ):
        assert client.post("/v1/status", json={"reports": [report]}, headers=headers).is_success
    answer = client.get("/v1/status", params={"pseudonym": pseudonym}, headers=station).json()
    by_serial = {s: client.get(f"/v1/status/{s}", headers=station).json() for s in ("GD-1", "BJ-1")}
    # Guangdong's green is superseded by the answer to go by now: Beijing's red
    assert by_serial["GD-1"].pop("superseded") and by_serial["GD-1"].pop("now")["serial"] == "BJ-1"
    assert by_serial["BJ-1"].pop("superseded") is False
    # red (Beijing, earlier) is stricter than green (Guangdong, later): the checkpoint goes by red
    assert answer == {**by_serial["BJ-1"], "codes": [by_serial["BJ-1"], by_serial["GD-1"]]}
    # once Beijing's red has expired, Guangdong's green is the answer; both still listed
    expired = _status(pseudonym, "BJ-1", "red", until=NOW.isoformat())
    assert client.post("/v1/status", json={"reports": [expired]}, headers=bj).is_success
    answer = client.get("/v1/status", params={"pseudonym": pseudonym}, headers=station).json()
    assert (answer["serial"], answer["colour"]) == ("GD-1", "green")
    assert [(c["province"], c["current"]) for c in answer["codes"]] == [(BJ, False), (GD, True)]


def test_a_province_ends_its_stay_and_then_gets_nothing(client: httpx.Client, org: Org) -> None:
    lab, gd, bj = org("lab", "440106"), org("province", GD), org("province", BJ)
    station = org("checkpoint", "110105")
    pseudonym = _register(client, gd).json()["pseudonyms"][0]
    _register(client, bj, reason="stay")
    report = _status(pseudonym, "BJ-1", "red")
    assert client.post("/v1/status", json={"reports": [report]}, headers=bj).is_success
    r = _end(client, bj)
    assert r.status_code == 200 and r.json() == {
        "pseudonyms": [pseudonym],
        "ended_at": NOW.isoformat(),
    }
    rid = client.post("/v1/records/nat", json=nat("S1", IDN), headers=lab).json()["id"]
    assert _records(client, GD, gd) == [("record", rid, False)]
    assert _records(client, BJ, bj) == []
    r = client.post("/v1/status", json={"reports": [report]}, headers=bj)
    assert r.status_code == 403 and r.json()["error"]["code"] == "CODE_NOT_OWN"
    # Beijing's red no longer counts: only the holders' codes are listed
    assert client.post(
        "/v1/status", json={"reports": [_status(pseudonym, "GD-1", "green")]}, headers=gd
    ).is_success
    answer = client.get("/v1/status", params={"pseudonym": pseudonym}, headers=station).json()
    assert (answer["colour"], [c["serial"] for c in answer["codes"]]) == ("green", ["GD-1"])
    # ending twice: it holds nothing to end
    r = _end(client, bj)
    assert r.status_code == 404 and r.json()["error"]["code"] == "REGISTRATION_NOT_HELD"


def test_no_province_can_end_another_provinces_registration(client: httpx.Client, org: Org) -> None:
    lab, gd, bj = org("lab", "440106"), org("province", GD), org("province", BJ)
    _register(client, gd)
    r = _end(client, bj)
    assert r.status_code == 404
    assert r.json()["error"] == {
        "code": "REGISTRATION_NOT_HELD",
        "message": "this province holds no current registration of the person",
        "index": 0,
    }
    rid = client.post("/v1/records/nat", json=nat("S1", IDN), headers=lab).json()["id"]
    assert _records(client, GD, gd) == [("record", rid, False)]  # Guangdong still holds
    r = client.post("/v1/registrations/end", json={"people": [PERSON]}, headers=lab)
    assert r.status_code == 403 and r.json()["error"]["code"] == "KIND_NOT_ALLOWED"


def test_a_reason_outside_the_list_is_refused_and_nothing_is_registered(
    client: httpx.Client, hub: Hub, org: Org
) -> None:
    gd = org("province", GD)
    for reason in ("holiday", 7, ["stay"], ""):
        people = [PERSON, {"id_number": resident_id(seq="124"), "reason": reason}]
        r = client.post("/v1/registrations", json={"people": people}, headers=gd)
        assert r.status_code == 422, reason
        assert r.json()["error"] == {
            "code": "REGISTRATION_REASON",
            "message": "reason is one of residence, stay, work",
            "field": "reason",
            "index": 1,
        }
    with hub.db.read() as s:
        assert s.execute(select(Registration)).scalars().all() == []


def test_a_registration_without_a_reason_is_a_residence(
    client: httpx.Client, hub: Hub, org: Org
) -> None:
    gd, bj = org("province", GD), org("province", BJ)
    pseudonym = _register(client, gd).json()["pseudonyms"][0]  # the wire format before reasons
    _register(client, bj, reason="work")
    _register(client, bj, reason=None)  # again, still held: only the reason changes
    with hub.db.read() as s:
        rows = s.execute(select(Registration.province, Registration.reason)).all()
    assert sorted(rows) == [(BJ, "residence"), (GD, "residence")]
    _register(client, bj, reason="stay")
    with hub.db.read() as s:
        assert s.get(Registration, (pseudonym, BJ)).reason == "stay"  # type: ignore[union-attr]


def test_a_new_holder_gets_the_earlier_records_and_corrections_once(
    client: httpx.Client, org: Org
) -> None:
    lab, gd, bj = org("lab", "440106"), org("province", GD), org("province", BJ)
    _register(client, gd)
    first = client.post("/v1/records/nat", json=nat("S1", IDN), headers=lab).json()["id"]
    _register(client, bj, reason="stay")
    assert _records(client, BJ, bj) == [("record", first, True)]
    assert _records(client, GD, gd) == [("record", first, False)]  # not sent again
    fix = {"record_id": "S1", "action": "withdraw", "reason": "wrong person"}
    assert client.post("/v1/records/nat/corrections", json=fix, headers=lab).is_success
    for province, headers in ((GD, gd), (BJ, bj)):
        entries = client.get(f"/v1/feeds/{province}", headers=headers).json()["entries"]
        assert [(e["kind"], e["data"]["record"]) for e in entries][-1] == ("correction", first)


def test_a_province_that_ends_and_registers_again_gets_what_it_missed(
    client: httpx.Client, org: Org, clock: FixedClock
) -> None:
    lab, gd, bj = org("lab", "440106"), org("province", GD), org("province", BJ)
    _register(client, gd)
    _register(client, bj, reason="stay")
    _end(client, bj)
    clock.advance(timedelta(days=3))
    missed = client.post("/v1/records/nat", json=nat("S1", IDN), headers=lab).json()["id"]
    assert _register(client, bj, reason="stay").status_code == 200
    later = client.post("/v1/records/nat", json=nat("S2", IDN), headers=lab).json()["id"]
    assert _records(client, BJ, bj) == [("record", missed, True), ("record", later, False)]
    assert _records(client, GD, gd) == [("record", missed, False), ("record", later, False)]


def test_with_nobody_holding_them_records_go_to_the_id_numbers_province(
    client: httpx.Client, org: Org
) -> None:
    lab, sh, bj = org("lab", "440106"), org("province", SH), org("province", BJ)
    early = client.post("/v1/records/nat", json=nat("S1", IDN), headers=lab).json()["id"]
    # the ID number's own province registers its resident: what it has is not sent again
    _register(client, sh)
    assert _records(client, SH, sh) == [("record", early, False)]
    _register(client, bj, reason="work")
    _end(client, sh)
    _end(client, bj)
    late = client.post("/v1/records/nat", json=nat("S2", IDN), headers=lab).json()["id"]
    assert _records(client, SH, sh) == [("record", early, False), ("record", late, False)]
    assert _records(client, BJ, bj) == [("record", early, True)]


def test_registrations_stored_before_several_holders_become_residences(
    fresh_db_url: str,
) -> None:
    db = Database.from_url(fresh_db_url)
    try:
        upgrade(db, "0005")
        assert db.engine is not None
        with db.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO organisations (id, kind, region_code, name, created_at)"
                    " VALUES (1, 'province', :gd, 'GD', :now), (2, 'province', :bj, 'BJ', :now)"
                ),
                {"gd": GD, "bj": BJ, "now": NOW},
            )
            conn.execute(
                text(
                    "INSERT INTO registrations (pseudonym, province, org_id, registered_at)"
                    " VALUES ('p1', :gd, 1, :now)"
                ),
                {"gd": GD, "now": NOW},
            )
        upgrade(db)
        with db.engine.begin() as conn:
            rows = conn.execute(
                text("SELECT pseudonym, province, reason, ended_at FROM registrations")
            )
            assert [tuple(r) for r in rows] == [("p1", GD, "residence", None)]
            conn.execute(
                text(
                    "INSERT INTO registrations (pseudonym, province, org_id, reason, registered_at)"
                    " VALUES ('p1', :bj, 2, 'stay', :later)"
                ),
                {"bj": BJ, "later": NOW + timedelta(days=1)},
            )
        # back to one holder per person: the latest registration stays
        downgrade(db, "0005")
        with db.engine.connect() as conn:
            rows = conn.execute(text("SELECT pseudonym, province FROM registrations"))
            assert [tuple(r) for r in rows] == [("p1", BJ)]
    finally:
        db.dispose()


def test_purge_keeps_a_current_registration_however_old(
    client: httpx.Client, hub: Hub, org: Org, clock: FixedClock, tmp_path: Path
) -> None:
    gd, bj = org("province", GD), org("province", BJ)
    _register(client, gd)
    _register(client, bj, reason="stay")
    _end(client, bj)
    clock.advance(timedelta(days=400))
    lab, gd = org("lab", "440106"), org("province", GD)  # the tokens of a year ago expired
    net = network_in(hub.db, tmp_path / "keys", clock.now())
    purge = PurgeService.of_network(db=hub.db, clock=clock, home=net.home, passphrase=None)
    deleted = purge.run().statement["deleted"]
    assert deleted["registrations"]["count"] == 1  # Beijing's, ended 400 days ago
    sampled = (NOW + timedelta(days=399)).isoformat()
    r = client.post("/v1/records/nat", json=nat("S1", IDN, sampled_at=sampled), headers=lab)
    assert _records(client, GD, gd) == [("record", r.json()["id"], False)]  # Guangdong holds
    with hub.db.read() as s:
        assert s.execute(select(Registration.province)).scalars().all() == [GD]
