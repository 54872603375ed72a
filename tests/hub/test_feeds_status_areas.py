"""Feeds (routing, cursor, paging), registration re-routing, risk areas to all, status checks."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import httpx
from hub_testdata import nat, network_in, resident_id
from sqlalchemy import select

from healthcode.core.clock import FixedClock
from healthcode.hub.feeds import ALL_PROVINCES
from healthcode.hub.purge import PurgeService
from healthcode.hub.services import Hub
from healthcode.store.models import FeedEntry

Org = Callable[..., dict[str, str]]


def pull_all(client: httpx.Client, province: str, headers: dict[str, str], limit: int = 3):  # type: ignore[no-untyped-def]
    cursor, seen = 0, []
    while True:
        page = client.get(
            f"/v1/feeds/{province}", params={"after": cursor, "limit": limit}, headers=headers
        ).json()
        seen.extend(page["entries"])
        cursor = page["next"]
        if not page["more"]:
            return seen, cursor


def test_feed_is_ordered_paged_and_resumable(client: httpx.Client, org: Org) -> None:
    lab, gd = org("lab"), org("province", "440000")
    batch = [nat(f"S{i}", resident_id(seq=f"{i:03d}")) for i in range(10)]
    ids = client.post("/v1/records/nat/batch", json=batch, headers=lab).json()["ids"]
    entries, cursor = pull_all(client, "440000", gd)
    assert [e["seq"] for e in entries] == list(range(1, 11))
    assert [e["data"]["record"] for e in entries] == ids
    # resume from the stored cursor: nothing new, then only what came later
    assert (
        client.get("/v1/feeds/440000", params={"after": cursor}, headers=gd).json()["entries"] == []
    )
    client.post("/v1/records/nat", json=nat("S99", resident_id(seq="099")), headers=lab)
    later = client.get("/v1/feeds/440000", params={"after": cursor}, headers=gd).json()
    assert [e["seq"] for e in later["entries"]] == [11]
    r = client.get("/v1/feeds/440000", params={"after": 50}, headers=gd)
    assert r.status_code == 422 and r.json()["error"]["code"] == "CURSOR_INVALID"


def test_registration_routes_records_and_replays_earlier_ones(
    client: httpx.Client, org: Org
) -> None:
    lab, gd, bj = org("lab"), org("province", "440000"), org("province", "110000")
    idn = resident_id("440106")  # born in Guangdong, lives in Beijing
    client.post("/v1/records/nat", json=nat("S1", idn), headers=lab)
    assert len(pull_all(client, "440000", gd)[0]) == 1
    client.post("/v1/registrations", json={"people": [{"id_number": idn}]}, headers=bj)
    replayed, _ = pull_all(client, "110000", bj)
    assert [e["data"]["replayed"] for e in replayed] == [True]
    client.post("/v1/records/nat", json=nat("S2", idn), headers=lab)
    bj_entries, _ = pull_all(client, "110000", bj)
    assert len(bj_entries) == 2 and len(pull_all(client, "440000", gd)[0]) == 1


def test_a_batch_routes_each_record_by_its_own_registration(client: httpx.Client, org: Org) -> None:
    lab, gd, bj = org("lab"), org("province", "440000"), org("province", "110000")
    moved, stayed = resident_id("440106", seq="101"), resident_id("440106", seq="102")
    client.post("/v1/registrations", json={"people": [{"id_number": moved}]}, headers=bj)
    batch = [nat(f"B{i}", idn) for i, idn in enumerate([moved, stayed, moved, stayed] * 40)]
    r = client.post("/v1/records/nat/batch", json=batch, headers=lab)
    assert r.status_code == 200, r.text
    ids = r.json()["ids"]
    in_bj = [e["data"]["record"] for e in pull_all(client, "110000", bj, limit=500)[0]]
    in_gd = [e["data"]["record"] for e in pull_all(client, "440000", gd, limit=500)[0]]
    assert in_bj == ids[0::2] and in_gd == ids[1::2]


def test_a_province_offline_for_a_day_catches_up(
    client: httpx.Client, hub: Hub, org: Org, clock: FixedClock, tmp_path: Path
) -> None:
    lab, gd, auth = org("lab"), org("province", "440000"), org("risk-authority", "440100")
    assert pull_all(client, "440000", gd)[0] == []  # the province's last pull, then it is gone
    sent: list[tuple[str, int]] = []
    for hour in range(24):
        clock.advance(timedelta(hours=1))
        batch = [nat(f"D{hour:02d}-{i}", resident_id(seq=f"{hour * 3 + i:03d}")) for i in range(3)]
        answer = client.post("/v1/records/nat/batch", json=batch, headers=lab).json()
        sent += [("record", rid) for rid in answer["ids"]]
        if hour % 6 == 5:
            area = {
                "region_code": "440106",
                "level": "medium",
                "effective_from": clock.now().isoformat(),
                "document": f"doc-{hour}",
            }
            made = client.post("/v1/risk-areas", json=area, headers=auth).json()
            sent.append(("risk_area", made["id"]))
    publisher = network_in(hub.db, tmp_path / "keys", clock.now()).active_publisher(at=clock.now())
    purged = PurgeService(db=hub.db, clock=clock, publisher=publisher).run()
    assert purged.statement["deleted"]["feed_entries"]["count"] == 0  # kept 30 days
    entries, cursor = pull_all(client, "440000", gd, limit=10)
    assert [e["seq"] for e in entries] == list(range(1, len(sent) + 1)) and cursor == len(sent)
    got = [
        (e["kind"], e["data"]["record"] if e["kind"] == "record" else e["ref_id"]) for e in entries
    ]
    assert got == sent


def test_risk_area_changes_reach_every_province(client: httpx.Client, org: Org) -> None:
    auth = org("risk-authority", "440100")
    sh = org("province", "310000")
    area = {
        "region_code": "440106",
        "level": "high",
        "effective_from": "2022-11-19T00:00",
        "document": "doc-1",
    }
    a = client.post("/v1/risk-areas", json=area, headers=auth).json()
    changed = client.patch(
        f"/v1/risk-areas/{a['id']}", json={"level": "medium", "document": "doc-2"}, headers=auth
    ).json()
    assert changed["level"] == "medium" and changed["version"] == 2
    lifted = client.post(
        f"/v1/risk-areas/{a['id']}/lift", json={"document": "doc-3"}, headers=auth
    ).json()
    assert lifted["lifted_at"] is not None
    again = client.post(f"/v1/risk-areas/{a['id']}/lift", json={"document": "d"}, headers=auth)
    assert again.status_code == 409 and again.json()["error"]["code"] == "RISK_AREA_LIFTED"
    entries, _ = pull_all(client, "310000", sh)
    assert [(e["kind"], e["data"]["action"]) for e in entries] == [
        ("risk_area", "designated"),
        ("risk_area", "changed"),
        ("risk_area", "lifted"),
    ]
    assert len(ALL_PROVINCES) == 34
    r = client.patch("/v1/risk-areas/999999", json={"document": "d"}, headers=auth)
    assert r.status_code == 404
    r = client.post("/v1/risk-areas", json={**area, "document": ""}, headers=auth)
    assert r.status_code == 422 and r.json()["error"]["field"] == "document"


def test_cross_province_status_query(client: httpx.Client, org: Org) -> None:
    gd, station = org("province", "440000"), org("checkpoint", "110105")
    pseudonym = client.post(
        "/v1/registrations", json={"people": [{"id_number": resident_id()}]}, headers=gd
    ).json()["pseudonyms"][0]
    report = {
        "serial": "GD-7",
        "pseudonym": pseudonym,
        "colour": "yellow",
        "since": "2022-11-19T00:00",
        "until": "2022-11-22T00:00",
        "ruleset_version": "9.0",
    }
    assert client.post("/v1/status", json={"reports": [report]}, headers=gd).status_code == 200
    by_serial = client.get("/v1/status/GD-7", headers=station).json()
    assert by_serial["colour"] == "yellow" and by_serial["province"] == "440000"
    assert by_serial["current"] is True
    by_p = client.get("/v1/status", params={"pseudonym": pseudonym}, headers=station).json()
    assert by_p["serial"] == "GD-7"
    missing = client.get("/v1/status/NOPE", headers=station)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "STATUS_UNKNOWN"
    bad = client.post("/v1/status", json={"reports": [{**report, "colour": "blue"}]}, headers=gd)
    assert bad.status_code == 422 and bad.json()["error"]["index"] == 0


def test_a_designation_announced_for_later_is_cancelled_by_a_lift_before_it_starts(
    client: httpx.Client, org: Org, hub: Hub
) -> None:
    auth = org("risk-authority", "440100")
    sh = org("province", "310000")
    area = {
        "region_code": "440106",
        "level": "high",
        "effective_from": "2022-11-21T00:00:00+08:00",  # announced ahead of NOW
        "document": "doc-1",
    }
    a = client.post("/v1/risk-areas", json=area, headers=auth).json()
    listed = client.get("/v1/risk-areas", headers=auth).json()["areas"]
    assert [x["id"] for x in listed] == [a["id"]]
    r = client.post(f"/v1/risk-areas/{a['id']}/lift", json={"document": "doc-2"}, headers=auth)
    assert r.status_code == 200, r.text
    cancelled = r.json()
    assert cancelled["cancelled_at"] is not None and cancelled["lifted_at"] is None
    assert cancelled["version"] == 2 and cancelled["document"] == "doc-2"
    assert client.get("/v1/risk-areas", headers=auth).json()["areas"] == []
    # a change like the others, in every province's feed
    entries, _ = pull_all(client, "310000", sh)
    assert [(e["kind"], e["data"]["action"]) for e in entries] == [
        ("risk_area", "designated"),
        ("risk_area", "cancelled"),
    ]
    with hub.db.read() as s:
        provinces = s.execute(
            select(FeedEntry.province).where(
                FeedEntry.kind == "risk_area", FeedEntry.ref_id == a["id"]
            )
        ).all()
    assert sorted(p for (p,) in provinces) == sorted(ALL_PROVINCES * 2)
    # nothing more can happen to it
    for again in (
        client.post(f"/v1/risk-areas/{a['id']}/lift", json={"document": "d"}, headers=auth),
        client.patch(f"/v1/risk-areas/{a['id']}", json={"document": "d"}, headers=auth),
    ):
        assert again.status_code == 409 and again.json()["error"]["code"] == "RISK_AREA_CANCELLED"


def test_a_lift_at_its_start_cancels_a_later_area_and_an_area_in_force_is_lifted(
    client: httpx.Client, org: Org
) -> None:
    auth = org("risk-authority", "440100")
    later = {
        "region_code": "440106",
        "level": "medium",
        "effective_from": "2022-11-22T00:00:00+00:00",
        "document": "doc-1",
    }
    a = client.post("/v1/risk-areas", json=later, headers=auth).json()
    at_start = {"document": "d", "at": "2022-11-22T00:00:00+00:00"}
    r = client.post(f"/v1/risk-areas/{a['id']}/lift", json=at_start, headers=auth).json()
    assert r["cancelled_at"] is not None
    # a lift planned after the start of a later area stays a lift
    b = client.post("/v1/risk-areas", json=later, headers=auth).json()
    planned = {"document": "d", "at": "2022-11-23T00:00:00+00:00"}
    r = client.post(f"/v1/risk-areas/{b['id']}/lift", json=planned, headers=auth).json()
    assert r["lifted_at"] == "2022-11-23T00:00:00+00:00" and r["cancelled_at"] is None
    # an area already in force is not undone retroactively
    in_force = {**later, "effective_from": "2022-11-19T00:00:00+00:00"}
    c = client.post("/v1/risk-areas", json=in_force, headers=auth).json()
    early = {"document": "d", "at": "2022-11-18T00:00:00+00:00"}
    r2 = client.post(f"/v1/risk-areas/{c['id']}/lift", json=early, headers=auth)
    assert r2.status_code == 422
    assert r2.json()["error"]["code"] == "LIFTED_BEFORE_EFFECTIVE"
    listed = client.get("/v1/risk-areas", headers=auth).json()["areas"]
    assert [x["id"] for x in listed] == [c["id"]]
