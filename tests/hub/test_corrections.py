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
