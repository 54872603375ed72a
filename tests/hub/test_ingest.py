"""Ingest over the API: one record, batches (JSON, NDJSON), CSV; validation; safe retries."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from hub_testdata import nat, resident_id
from sqlalchemy import func, select

from healthcode.hub.services import Hub
from healthcode.store.crypto import FieldCipher
from healthcode.store.models import FeedEntry, Identity, Record
from healthcode.store.record_writer import OPTIMISTIC_MIN, PostgresRecordWriter

Org = Callable[..., dict[str, str]]


def count(hub: Hub, model: type) -> int:
    with hub.db.read() as s:
        return int(s.execute(select(func.count()).select_from(model)).scalar_one())


def test_one_record_is_stored_encrypted_apart_and_routed(
    client: httpx.Client, hub: Hub, org: Org
) -> None:
    lab = org("lab", "440106", "GZ lab")
    idn = resident_id("110105")
    r = client.post("/v1/records/nat", json=nat("S1", idn), headers=lab)
    assert r.status_code == 200, r.text
    rid = r.json()["id"]
    with hub.db.read() as s:
        rec = s.get(Record, rid)
        assert rec is not None
        assert rec.province == "110000"  # by the ID number's region, before registration
        assert rec.payload["lab"] == "GZ lab"  # the lab's name when the record has none
        assert idn not in json.dumps(rec.payload) and "张三" not in json.dumps(rec.payload)
        ident = s.get(Identity, rec.pseudonym)
        assert ident is not None and idn.encode() not in ident.id_number_enc
        cipher = FieldCipher(key=hub.settings.field_key)
        assert (
            cipher.decrypt(ident.id_number_enc, context=f"identities.id_number|{rec.pseudonym}")
            == idn
        )
        entry = s.execute(select(FeedEntry).where(FeedEntry.ref_id == rid)).scalar_one()
        assert entry.province == "110000"
        assert entry.payload["masked_id"].startswith("1101") and "*" in entry.payload["masked_id"]
        assert idn not in json.dumps(entry.payload)


def test_single_record_error_names_field_and_code(client: httpx.Client, org: Org) -> None:
    lab = org("lab")
    bad = resident_id()[:-1] + ("0" if resident_id()[-1] != "0" else "1")
    r = client.post("/v1/records/nat", json=nat("S1", bad), headers=lab)
    assert r.status_code == 422
    err = r.json()["error"]
    assert err["code"] == "ID_CHECK_DIGIT" and err["field"] == "id_number"
    r = client.post("/v1/records/nat", json=nat("S1", resident_id(), result="maybe"), headers=lab)
    assert r.json()["error"]["code"] == "VALUE_NOT_IN_SET"
    assert r.json()["error"]["field"] == "result"
    r = client.post(
        "/v1/records/nat", json=nat("S1", resident_id(), sampled_at="2030-01-01T00:00"), headers=lab
    )
    assert r.json()["error"]["code"] == "TIME_IN_FUTURE"


def test_batch_is_all_or_nothing_and_names_every_bad_record(
    client: httpx.Client, hub: Hub, org: Org
) -> None:
    lab = org("lab")
    records = [nat(f"S{i}", resident_id(seq=f"{i:03d}")) for i in range(5)]
    records[1]["id_number"] = "123"
    records[3]["result"] = "unknown"
    r = client.post("/v1/records/nat/batch", json=records, headers=lab)
    assert r.status_code == 422
    err = r.json()["error"]
    assert err["code"] == "BATCH_INVALID" and err["rejected"] == 2
    assert [(e["index"], e["field"], e["code"]) for e in err["errors"]] == [
        (1, "id_number", "ID_LENGTH"),
        (3, "result", "VALUE_NOT_IN_SET"),
    ]
    assert count(hub, Record) == 0 and count(hub, FeedEntry) == 0


def test_ndjson_errors_name_the_line(client: httpx.Client, hub: Hub, org: Org) -> None:
    lab = org("lab")
    lines = [json.dumps(nat(f"S{i}", resident_id(seq=f"{i:03d}"))) for i in range(3)]
    lines.insert(1, "")
    lines[3] = "{not json"
    r = client.post(
        "/v1/records/nat/batch",
        content="\n".join(lines).encode(),
        headers={**lab, "Content-Type": "application/x-ndjson"},
    )
    assert r.status_code == 422
    assert r.json()["error"]["errors"] == [
        {
            "line": 4,
            "code": "JSON_INVALID",
            "message": "Expecting property name enclosed in double quotes",
        }
    ]
    good = "\n".join(json.dumps(nat(f"S{i}", resident_id(seq=f"{i:03d}"))) for i in range(3))
    r = client.post(
        "/v1/records/nat/batch",
        content=good.encode(),
        headers={**lab, "Content-Type": "application/x-ndjson"},
    )
    assert r.status_code == 200 and r.json()["count"] == 3
    assert count(hub, Record) == 3


def test_retry_is_a_noop_that_answers_the_same(client: httpx.Client, hub: Hub, org: Org) -> None:
    lab = org("lab")
    batch = [nat(f"S{i}", resident_id(seq=f"{i:03d}")) for i in range(4)]
    first = client.post("/v1/records/nat/batch", json=batch, headers=lab)
    again = client.post("/v1/records/nat/batch", json=batch, headers=lab)
    assert first.status_code == again.status_code == 200
    assert first.json() == again.json()
    # an overlapping batch: old records answer their old ids, new ones are stored
    bigger = client.post(
        "/v1/records/nat/batch", json=[*batch[2:], nat("S9", resident_id(seq="009"))], headers=lab
    )
    assert bigger.json()["ids"][:2] == first.json()["ids"][2:]
    assert count(hub, Record) == 5 and count(hub, FeedEntry) == 5


def test_large_batches_retry_overlap_and_conflict_like_small_ones(
    client: httpx.Client, hub: Hub, org: Org, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Batches of OPTIMISTIC_MIN records or more first try a plain insert on PostgreSQL; a
    # stored key sends them down the ON CONFLICT path, with the same answers.
    tried: list[bool] = []
    plain = PostgresRecordWriter.insert_all

    def spy(*args: Any) -> Any:
        out = plain(*args)
        tried.append(out is not None)
        return out

    monkeypatch.setattr(PostgresRecordWriter, "insert_all", staticmethod(spy))
    lab = org("lab")
    n = OPTIMISTIC_MIN + 6
    batch = [nat(f"L{i}", resident_id(seq=f"{i:03d}")) for i in range(n)]
    first = client.post("/v1/records/nat/batch", json=batch, headers=lab)
    again = client.post("/v1/records/nat/batch", json=batch, headers=lab)
    assert first.status_code == again.status_code == 200
    assert first.json() == again.json() and len(set(first.json()["ids"])) == n
    more = [nat(f"M{i}", resident_id(seq=f"{500 + i:03d}")) for i in range(n)]
    mixed = client.post("/v1/records/nat/batch", json=[*more, batch[7]], headers=lab).json()
    assert mixed["ids"][-1] == first.json()["ids"][7]
    assert count(hub, Record) == 2 * n and count(hub, FeedEntry) == 2 * n
    changed = [*[nat(f"N{i}", resident_id(seq=f"{700 + i:03d}")) for i in range(n)]]
    changed.append(nat("L3", resident_id(seq="003"), result="positive"))
    r = client.post("/v1/records/nat/batch", json=changed, headers=lab)
    assert r.status_code == 409 and r.json()["error"]["code"] == "NATURAL_KEY_CONFLICT"
    assert r.json()["error"]["index"] == n
    assert count(hub, Record) == 2 * n and count(hub, FeedEntry) == 2 * n  # nothing of it
    with hub.db.read() as s:
        postgres = s.get_bind().dialect.name == "postgresql"
    assert tried == ([True, False, False, False] if postgres else [])  # then: fall back


def test_same_key_with_other_content_is_a_conflict(client: httpx.Client, org: Org) -> None:
    lab = org("lab")
    client.post("/v1/records/nat", json=nat("S1", resident_id()), headers=lab)
    r = client.post(
        "/v1/records/nat", json=nat("S1", resident_id(), result="positive"), headers=lab
    )
    assert r.status_code == 409 and r.json()["error"]["code"] == "NATURAL_KEY_CONFLICT"
    r = client.post(
        "/v1/records/nat/batch",
        json=[nat("S2", resident_id()), nat("S2", resident_id(), result="positive")],
        headers=lab,
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "DUPLICATE_IN_BATCH"
    assert r.json()["error"]["index"] == 1


def test_same_key_from_another_lab_is_another_record(client: httpx.Client, org: Org) -> None:
    a, b = org("lab", name="A"), org("lab", name="B")
    ra = client.post("/v1/records/nat", json=nat("S1", resident_id()), headers=a)
    rb = client.post("/v1/records/nat", json=nat("S1", resident_id()), headers=b)
    assert ra.json()["id"] != rb.json()["id"]


def test_idempotency_key(client: httpx.Client, hub: Hub, org: Org) -> None:
    lab = org("lab")
    h = {**lab, "Idempotency-Key": "k-1"}
    a = client.post("/v1/records/nat/batch", json=[nat("S1", resident_id())], headers=h)
    b = client.post("/v1/records/nat/batch", json=[nat("S1", resident_id())], headers=h)
    assert a.json() == b.json()
    c = client.post("/v1/records/nat/batch", json=[nat("S2", resident_id())], headers=h)
    assert c.status_code == 409 and c.json()["error"]["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert count(hub, Record) == 1


def test_csv_utf8_bom_and_gbk(client: httpx.Client, hub: Hub, org: Org) -> None:
    vac = org("vaccination")
    header = "record_id,id_number,name,product,dose,administered_at,site\n"
    rows = [
        f"D{i},{resident_id(seq=f'{i:03d}')},李四,BIBP,{i + 1},2022-06-0{i + 1}T10:00,"
        "广州市天河区接种点\n"
        for i in range(2)
    ]
    text = header + "".join(rows)
    r = client.post(
        "/v1/records/vaccination/csv",
        content=b"\xef\xbb\xbf" + text.encode("utf-8"),
        headers={**vac, "Content-Type": "text/csv"},
    )
    assert r.status_code == 200, r.text
    gbk = text.replace("D0", "G0").replace("D1", "G1").encode("gbk")
    r = client.post(
        "/v1/records/vaccination/csv", files={"file": ("doses.csv", gbk, "text/csv")}, headers=vac
    )
    assert r.status_code == 200, r.text
    with hub.db.read() as s:
        sites = {p["site"] for p in s.execute(select(Record.payload)).scalars()}
    assert sites == {"广州市天河区接种点"}
    assert count(hub, Record) == 4


def test_csv_errors_name_line_and_field(client: httpx.Client, org: Org) -> None:
    vac = org("vaccination")
    text = (
        "record_id,id_number,product,dose,administered_at,site\n"
        f"D1,{resident_id()},BIBP,1,2022-06-01T10:00,site\n"
        f"D2,{resident_id()},NOPE,1,2022-06-01T10:00,site\n"
        f"D3,{resident_id()},BIBP,x,2022-06-01T10:00,site\n"
    )
    r = client.post(
        "/v1/records/vaccination/csv",
        content=text.encode(),
        headers={**vac, "Content-Type": "text/csv"},
    )
    assert r.status_code == 422
    assert [(e["line"], e["field"], e["code"]) for e in r.json()["error"]["errors"]] == [
        (4, "dose", "FIELD_TYPE")
    ]
    text = text.replace("D3,", "D4,").replace(",x,", ",2,")
    r = client.post(
        "/v1/records/vaccination/csv",
        content=text.encode(),
        headers={**vac, "Content-Type": "text/csv"},
    )
    assert [(e["line"], e["field"], e["code"]) for e in r.json()["error"]["errors"]] == [
        (3, "product", "VALUE_NOT_IN_SET")
    ]
    r = client.post(
        "/v1/records/vaccination/csv",
        content=b"record_id,bogus\nx,y\n",
        headers={**vac, "Content-Type": "text/csv"},
    )
    assert r.status_code == 400 and r.json()["error"]["code"] == "CSV_HEADER"
