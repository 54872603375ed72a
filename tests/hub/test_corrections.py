"""Corrections (GB/T 38963 信息更正): new versions, feed entries, audit, ownership, retries."""

from __future__ import annotations

from collections.abc import Callable

import httpx
from hub_testdata import nat, resident_id
from sqlalchemy import select

from healthcode.hub.services import Hub
from healthcode.store.models import AuditEvent, FeedEntry, Record, RecordVersion

Org = Callable[..., dict[str, str]]
IDN = resident_id("110105")


def correction(action: str = "correct", **more: object) -> dict[str, object]:
    body: dict[str, object] = {"record_id": "S1", "action": action, "reason": "录入错误"}
    if action == "correct":
        body["record"] = nat("S1", IDN, result="positive")
    return {**body, **more}


def test_correction_is_a_new_version_in_the_feed_and_audited(
    client: httpx.Client, hub: Hub, org: Org
) -> None:
    lab = org("lab", "440106", "GZ lab")
    rid = client.post("/v1/records/nat", json=nat("S1", IDN), headers=lab).json()["id"]
    r = client.post("/v1/records/nat/corrections", json=correction(), headers=lab)
    assert r.status_code == 200, r.text
    assert r.json() == {
        "record": rid,
        "kind": "nat",
        "record_id": "S1",
        "version": 2,
        "action": "correct",
    }
    with hub.db.read() as s:
        original = s.get(Record, rid)
        assert original is not None and original.payload["result"] == "negative"  # untouched
        version = s.execute(select(RecordVersion)).scalar_one()
        assert version.payload is not None and version.payload["result"] == "positive"
        entry = s.execute(select(FeedEntry).where(FeedEntry.kind == "correction")).scalar_one()
        assert entry.province == "110000" and entry.ref_id == version.id
        assert entry.payload["action"] == "correct" and entry.payload["record"] == rid
        assert entry.payload["fact"]["result"] == "positive"
        audit = s.execute(select(AuditEvent)).scalar_one()
        assert audit.action == "record.correct" and audit.target == f"record:{rid}"
        assert audit.details["reason"] == "录入错误"
        assert audit.details["previous_digest"] == original.digest
    # a retry of the same correction is a no-op
    again = client.post("/v1/records/nat/corrections", json=correction(), headers=lab)
    assert again.json() == r.json()
    # then a withdrawal: version 3, retried safely, and nothing after it
    w = client.post("/v1/records/nat/corrections", json=correction("withdraw"), headers=lab)
    assert w.status_code == 200 and w.json()["version"] == 3
    w2 = client.post("/v1/records/nat/corrections", json=correction("withdraw"), headers=lab)
    assert w2.json() == w.json()
    late = client.post("/v1/records/nat/corrections", json=correction(), headers=lab)
    assert late.status_code == 409 and late.json()["error"]["code"] == "RECORD_WITHDRAWN"
    with hub.db.read() as s:
        versions = s.execute(select(RecordVersion.version, RecordVersion.action)).all()
        assert sorted(versions) == [(2, "correct"), (3, "withdraw")]
        kinds = s.execute(select(FeedEntry.kind).order_by(FeedEntry.seq)).scalars().all()
        assert kinds == ["record", "correction", "correction"]


def test_only_the_submitter_may_correct(client: httpx.Client, hub: Hub, org: Org) -> None:
    lab = org("lab", "440106")
    other = org("lab", "440106", "another lab")
    client.post("/v1/records/nat", json=nat("S1", IDN), headers=lab)
    r = client.post("/v1/records/nat/corrections", json=correction(), headers=other)
    assert r.status_code == 403 and r.json()["error"]["code"] == "RECORD_NOT_OWN"
    r = client.post("/v1/records/nat/corrections", json=correction(), headers=org("province"))
    assert r.status_code == 403 and r.json()["error"]["code"] == "KIND_NOT_ALLOWED"
    with hub.db.read() as s:
        assert s.execute(select(RecordVersion)).first() is None


def test_correction_refusals(client: httpx.Client, org: Org) -> None:
    lab = org("lab")
    url = "/v1/records/nat/corrections"
    r = client.post(url, json=correction(), headers=lab)
    assert r.status_code == 404 and r.json()["error"]["code"] == "RECORD_UNKNOWN"
    client.post("/v1/records/nat", json=nat("S1", IDN), headers=lab)
    same = {**correction(), "record": nat("S1", IDN)}
    r = client.post(url, json=same, headers=lab)
    assert r.status_code == 422 and r.json()["error"]["code"] == "CORRECTION_NO_CHANGE"
    other_person = {**correction(), "record": nat("S1", resident_id("110105", seq="999"))}
    r = client.post(url, json=other_person, headers=lab)
    assert r.json()["error"]["code"] == "CORRECTION_IDENTITY_CHANGED"
    bad = {**correction(), "record": nat("S1", IDN, result="maybe")}
    r = client.post(url, json=bad, headers=lab)
    assert r.status_code == 422
    assert (r.json()["error"]["code"], r.json()["error"]["field"]) == (
        "VALUE_NOT_IN_SET",
        "record.result",
    )
    r = client.post(url, json={**correction(), "reason": " "}, headers=lab)
    assert (r.json()["error"]["code"], r.json()["error"]["field"]) == ("FIELD_MISSING", "reason")
    r = client.post(url, json={**correction(), "action": "delete"}, headers=lab)
    assert r.json()["error"]["field"] == "action"


def test_ingest_after_a_correction_keeps_its_natural_key_rules(
    client: httpx.Client, org: Org
) -> None:
    lab = org("lab")
    first = client.post("/v1/records/nat", json=nat("S1", IDN), headers=lab).json()
    client.post("/v1/records/nat/corrections", json=correction(), headers=lab)
    # the original, sent again, is still a no-op; the corrected content goes through corrections
    assert client.post("/v1/records/nat", json=nat("S1", IDN), headers=lab).json() == first
    r = client.post("/v1/records/nat", json=nat("S1", IDN, result="positive"), headers=lab)
    assert r.status_code == 409 and r.json()["error"]["code"] == "NATURAL_KEY_CONFLICT"


def test_registration_elsewhere_replays_corrections_after_the_records(
    client: httpx.Client, org: Org
) -> None:
    lab = org("lab", "440106", "GZ lab")
    bj, sh = org("province", "110000"), org("province", "310000")
    ids = [
        client.post("/v1/records/nat", json=nat(rid, IDN), headers=lab).json()["id"]
        for rid in ("S1", "S2")
    ]
    assert client.post("/v1/records/nat/corrections", json=correction(), headers=lab).is_success
    withdraw = correction("withdraw", record_id="S2")
    assert client.post("/v1/records/nat/corrections", json=withdraw, headers=lab).is_success
    again = correction(record={**nat("S1", IDN, result="positive"), "lab": "GZ lab 2"})
    assert client.post("/v1/records/nat/corrections", json=again, headers=lab).is_success
    held = client.get("/v1/feeds/110000", headers=bj).json()["entries"]
    assert [e["kind"] for e in held] == ["record"] * 2 + ["correction"] * 3

    client.post("/v1/registrations", json={"people": [{"id_number": IDN}]}, headers=sh)
    moved = client.get("/v1/feeds/310000", headers=sh).json()["entries"]
    assert [(e["kind"], e["data"]["record"], e["data"].get("version")) for e in moved] == [
        ("record", ids[0], None),
        ("record", ids[1], None),
        ("correction", ids[0], 2),
        ("correction", ids[1], 2),
        ("correction", ids[0], 3),
    ]
    assert all(e["data"]["replayed"] for e in moved)
    # the replayed corrections carry what the originals did
    originals = {(e["data"]["record"], e["data"]["version"]): e["data"] for e in held[2:]}
    for e in moved[2:]:
        replayed = {k: v for k, v in e["data"].items() if k != "replayed"}
        assert replayed == originals[(e["data"]["record"], e["data"]["version"])]
    assert moved[3]["data"]["action"] == "withdraw" and moved[3]["data"]["fact"] is None
    assert moved[4]["data"]["fact"]["lab"] == "GZ lab 2"
    # and later corrections follow the person
    third = correction(record={**nat("S1", IDN, result="negative"), "lab": "GZ lab 2"})
    assert client.post("/v1/records/nat/corrections", json=third, headers=lab).is_success
    after = client.get("/v1/feeds/310000", params={"after": moved[-1]["seq"]}, headers=sh).json()[
        "entries"
    ]
    assert [(e["kind"], e["data"]["version"]) for e in after] == [("correction", 4)]


def test_a_province_withdraws_a_record_only_of_a_person_it_holds(
    client: httpx.Client, hub: Hub, org: Org
) -> None:
    lab = org("lab", "440106", "GZ lab")
    rid = client.post("/v1/records/nat", json=nat("S1", IDN), headers=lab).json()["id"]
    bj, gd = org("province", "110000"), org("province", "440000")
    body = {"reason": "申诉核实：检测记录错误", "appeal": "ap_0123456789abcdef"}
    path = f"/v1/records/{rid}/holder-withdrawal"
    # nobody holds the person yet: not even the province of their ID number may withdraw
    r = client.post(path, json=body, headers=bj)
    assert r.status_code == 403 and r.json()["error"]["code"] == "RECORD_NOT_HELD"
    registered = client.post("/v1/registrations", json={"people": [{"id_number": IDN}]}, headers=bj)
    assert registered.status_code == 200, registered.text
    r = client.post(path, json=body, headers=gd)  # Guangdong does not hold them
    assert r.status_code == 403 and r.json()["error"]["code"] == "RECORD_NOT_HELD"
    r = client.post(path, json=body, headers=lab)  # a lab is no province
    assert r.status_code == 403 and r.json()["error"]["code"] == "KIND_NOT_ALLOWED"
    for bad, code in (
        ({"appeal": "x"}, "FIELD_MISSING"),
        ({**body, "appeal": "a" * 65}, "FIELD_TOO_LONG"),
        ({**body, "reason": "x" * 501}, "FIELD_TOO_LONG"),
    ):
        r = client.post(path, json=bad, headers=bj)
        assert r.status_code == 422 and r.json()["error"]["code"] == code
    r = client.post("/v1/records/999999/holder-withdrawal", json=body, headers=bj)
    assert r.status_code == 404 and r.json()["error"]["code"] == "RECORD_UNKNOWN"
    r = client.post(path, json=body, headers=bj)
    assert r.status_code == 200, r.text
    assert r.json() == {
        "record": rid,
        "kind": "nat",
        "record_id": "S1",
        "version": 2,
        "action": "withdraw",
    }
    assert client.post(path, json=body, headers=bj).json() == r.json()  # a retry
    with hub.db.read() as s:
        (version,) = s.execute(select(RecordVersion)).scalars()
        entry = s.execute(select(FeedEntry).where(FeedEntry.kind == "correction")).scalar_one()
        audit = s.execute(
            select(AuditEvent).where(AuditEvent.action == "record.withdraw")
        ).scalar_one()
    assert version.payload is None and version.reason == body["reason"]
    assert entry.province == "110000" and entry.payload["fact"] is None
    assert audit.details["holder"] == "110000" and audit.details["appeal"] == body["appeal"]
    # the submitter cannot correct it any more
    late = client.post("/v1/records/nat/corrections", json=correction(), headers=lab)
    assert late.status_code == 409 and late.json()["error"]["code"] == "RECORD_WITHDRAWN"
