"""The overlapped PostgreSQL ingest path (records checked while the server inserts earlier
chunks) against the general path (check everything, then store): same rows, same answers,
same errors in the same order of precedence."""

from __future__ import annotations

from typing import Any

import pytest
from hub_testdata import nat, resident_id
from sqlalchemy import select

from healthcode.core.errors import InvalidInput
from healthcode.hub import ingest
from healthcode.hub.ingest import Located
from healthcode.hub.orgs import Principal
from healthcode.hub.services import Hub
from healthcode.store.models import FeedEntry, Identity, Record


@pytest.fixture(autouse=True)
def _postgresql_small_chunks(hub: Hub, monkeypatch: pytest.MonkeyPatch) -> None:
    if hub.db.dialect != "postgresql":
        pytest.skip("the overlapped ingest path is PostgreSQL only")
    monkeypatch.setattr(ingest, "_PIPE_CHUNK", 3)


def lab(hub: Hub, name: str) -> Principal:
    _, token = hub.orgs.add(kind="lab", region_code="440106", name=name)
    return hub.orgs.authenticate(token)


def located(records: list[dict[str, Any]]) -> list[Located]:
    return [Located({"index": i}, r) for i, r in enumerate(records)]


def general(hub: Hub, principal: Principal, records: list[dict[str, Any]]) -> dict[str, Any]:
    """The general path: every record checked first, then stored."""
    svc, items = hub.ingest, located(records)
    parsed = svc._parse_all(principal, "nat", items, single=False)
    return svc._store(principal, "nat", parsed, items, None, "", False)


def overlapped(hub: Hub, principal: Principal, records: list[dict[str, Any]]) -> dict[str, Any]:
    return hub.ingest.submit(principal, "nat", located(records))


def error_of(action: Any) -> dict[str, Any]:
    with pytest.raises(InvalidInput) as info:
        action()
    return info.value.to_dict()


def batch(n: int, prefix: str = "S") -> list[dict[str, Any]]:
    regions = ["110105", "440106", "310101", "510104"]
    return [
        nat(f"{prefix}{i}", resident_id(regions[i % 4], seq=f"{i:03d}"), lab="GZ-LAB")
        for i in range(n)
    ]


def stored(hub: Hub, ids: list[int]) -> list[tuple[Any, ...]]:
    with hub.db.read() as s:
        out = []
        for rid in ids:
            r = s.get(Record, rid)
            assert r is not None
            entry = s.execute(select(FeedEntry).where(FeedEntry.ref_id == rid)).scalar_one()
            ident = s.get(Identity, r.pseudonym)
            assert ident is not None
            data = dict(entry.payload)
            assert data.pop("record") == rid
            out.append(
                (
                    r.natural_key,
                    r.digest,
                    r.pseudonym,
                    r.province,
                    r.occurred_at,
                    r.payload,
                    entry.province,
                    entry.kind,
                    data,
                    ident.id_type,
                    ident.home_region,
                )
            )
        return out


def test_same_rows_as_the_general_path(hub: Hub) -> None:
    records = batch(11)
    records.append(dict(records[4]))  # the same record twice: one row, the same id
    # A registered person is routed to the registering province (the join on registrations).
    _, token = hub.orgs.add(kind="province", region_code="320000", name="JS")
    hub.status.register(hub.orgs.authenticate(token), [{"id_number": records[2]["id_number"]}])
    first, second = lab(hub, "lab A"), lab(hub, "lab B")
    a = general(hub, first, records)
    b = overlapped(hub, second, records)
    assert a["count"] == b["count"] == 12
    assert a["ids"][11] == a["ids"][4] and b["ids"][11] == b["ids"][4]
    rows_a, rows_b = stored(hub, a["ids"]), stored(hub, b["ids"])
    assert rows_a == rows_b
    assert rows_b[2][3] == rows_b[2][6] == "320000"
    assert {row[3] for row in rows_b} >= {"110000", "440000", "310000", "510000"}
    # A retry answers the same ids, a partial overlap with a new record too.
    assert overlapped(hub, second, records) == b
    more = overlapped(hub, second, [*records[:5], *batch(2, "T")])
    assert more["ids"][:5] == b["ids"][:5]


def test_errors_and_their_precedence_match_the_general_path(hub: Hub) -> None:
    first, second = lab(hub, "lab A"), lab(hub, "lab B")
    records = batch(10)
    general(hub, first, records[:4])
    overlapped(hub, second, records[:4])
    # Stored before with other content (in the second chunk): NATURAL_KEY_CONFLICT.
    conflict = [*batch(4, "N"), dict(records[3], result="positive"), *records[4:]]
    err = error_of(lambda: overlapped(hub, second, conflict))
    expected = error_of(lambda: general(hub, first, conflict))
    assert err.pop("record") != expected.pop("record")  # each lab's own stored record
    assert err == expected and err["code"] == "NATURAL_KEY_CONFLICT" and err["index"] == 4
    # Twice in the batch with other content, after a conflict: DUPLICATE_IN_BATCH wins.
    duplicate = [*conflict, dict(records[7], result="positive")]
    err = error_of(lambda: overlapped(hub, second, duplicate))
    assert err == error_of(lambda: general(hub, first, duplicate))
    assert err["code"] == "DUPLICATE_IN_BATCH" and err["index"] == len(conflict)
    # A wrong record at the very end: BATCH_INVALID wins over both.
    invalid = [*duplicate, nat("X", resident_id(), result="maybe")]
    err = error_of(lambda: overlapped(hub, second, invalid))
    assert err == error_of(
        lambda: hub.ingest._parse_all(first, "nat", located(invalid), single=False)
    )
    assert err["code"] == "BATCH_INVALID"
    # Nothing of the refused batches stayed.
    with hub.db.read() as s:
        keys = set(
            s.execute(select(Record.natural_key).where(Record.org_id == second.org_id)).scalars()
        )
    assert keys == {f"S{i}" for i in range(4)}
