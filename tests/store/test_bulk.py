"""store/bulk.py: array literals survive the round trip through PostgreSQL unchanged."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import JSON, Column, Integer, MetaData, Table, text
from sqlalchemy.orm import Session

from healthcode.store.bulk import array_literal, insert_rows, is_postgresql
from healthcode.store.db import Database
from healthcode.store.models import FeedEntry, Identity

AWKWARD = ["plain", 'say "hi"', "back\\slash", "{braces},commas", " spaced ", "", "NULL", "张三"]


def test_literal_without_escapes_is_joined() -> None:
    assert array_literal(["a", "b"]) == '{"a","b"}'
    assert array_literal(['a"', None, 7]) == '{"a\\"",NULL,"7"}'


def test_naive_datetime_refused() -> None:
    with pytest.raises(ValueError):
        array_literal([datetime(2022, 1, 1)])


def test_round_trip_on_the_database(db: Database) -> None:
    with db.write() as s:
        if not is_postgresql(s):
            pytest.skip("bulk inserts are PostgreSQL only")
        _round_trip(s)


def _round_trip(s: Session) -> None:
    got = s.execute(
        text("SELECT unnest(CAST(:a AS text[]))"), {"a": array_literal([*AWKWARD, None])}
    ).scalars()
    assert list(got) == [*AWKWARD, None]
    when = datetime(2022, 11, 20, 9, 30, tzinfo=timezone(timedelta(hours=8)))
    rows = [
        {
            "pseudonym": f"p{i}",
            "id_type": "resident_id",
            "id_number_enc": bytes([i, 0, 255, 92, 34]),
            "name_enc": None if i % 2 else b"\\x",
            "phone_enc": None,
            "home_region": None,
            "last_seen_at": when,
        }
        for i in range(3)
    ]
    insert_rows(s, Identity.__table__, rows)
    stored = s.query(Identity).filter(Identity.pseudonym.in_(["p0", "p1", "p2"])).all()
    by = {r.pseudonym: r for r in stored}
    for row in rows:
        got_row = by[row["pseudonym"]]
        assert got_row.id_number_enc == row["id_number_enc"]
        assert got_row.name_enc == row["name_enc"]
        assert got_row.last_seen_at == when.astimezone(UTC)
    payloads = [{"text": t, "n": i, "nested": [None, True]} for i, t in enumerate(AWKWARD)]
    entries = [
        {
            "province": "990000",
            "seq": i + 1,
            "kind": "record",
            "ref_id": i,
            "payload": p,
            "created_at": when,
        }
        for i, p in enumerate(payloads)
    ]
    returned = insert_rows(s, FeedEntry.__table__, entries, returning=("seq", "payload"))
    assert sorted((seq, payload["n"]) for seq, payload in returned) == [
        (i + 1, i) for i in range(len(AWKWARD))
    ]
    assert {seq: payload for seq, payload in returned} == {i + 1: p for i, p in enumerate(payloads)}
    # Columns equal in every row (province, kind, ref_id, created_at here) travel as one
    # parameter and still land in every row.
    encoded = [{**e, "seq": 100 + i, "ref_id": 7} for i, e in enumerate(entries)]
    returned = insert_rows(
        s, FeedEntry.__table__, encoded, returning=("seq", "ref_id", "created_at", "payload")
    )
    assert sorted(returned) == [
        (100 + i, 7, when.astimezone(UTC), p) for i, p in enumerate(payloads)
    ]


def test_array_literals_quote_and_escape_every_element() -> None:
    when = datetime(2022, 11, 20, 9, 30, 0, 123456, tzinfo=UTC)
    assert array_literal(['{"a": "x\\"y"}', "back\\slash", None]) == (
        '{"{\\"a\\": \\"x\\\\\\"y\\"}","back\\\\slash",NULL}'
    )
    assert array_literal([1, -4, True]) == '{"1","-4","t"}'
    assert array_literal([when]) == '{"2022-11-20T09:30:00.123456+00:00"}'
    assert array_literal([b"\x00\xff", b""]) == '{"\\\\x00ff","\\\\x"}'
    assert array_literal([]) == "{}"
    with pytest.raises(ValueError):
        array_literal([datetime(2022, 11, 20)])


def test_array_literals_round_trip_on_the_database(db: Database) -> None:
    with db.write() as s:
        if not is_postgresql(s):
            pytest.skip("PostgreSQL arrays")
        texts = ['{"a": "x\\"y"}', "back\\slash", '"', "张三"]
        got = s.execute(text("SELECT unnest(CAST(:a AS text[]))"), {"a": array_literal(texts)})
        assert list(got.scalars()) == texts
        ints = s.execute(text("SELECT unnest(CAST(:a AS bigint[]))"), {"a": array_literal([1, -2])})
        assert list(ints.scalars()) == [1, -2]
        blobs = [b"\x00\xff", None, b""]
        got = s.execute(text("SELECT unnest(CAST(:a AS bytea[]))"), {"a": array_literal(blobs)})
        assert [None if v is None else bytes(v) for v in got.scalars()] == blobs


def test_json_columns_keep_their_text_and_nulls(db: Database) -> None:
    """A ``json`` column (kept as written) keeps its key order; a JSON null is SQL NULL."""
    table = Table("t_bulk_json", MetaData(), Column("k", Integer), Column("doc", JSON()))
    with db.write() as s:
        if not is_postgresql(s):
            pytest.skip("bulk inserts are PostgreSQL only")
        s.execute(text("CREATE TEMP TABLE t_bulk_json (k integer, doc json) ON COMMIT DROP"))
        rows = [{"k": 1, "doc": {"b": 1, "a": "x"}}, {"k": 2, "doc": None}]
        insert_rows(s, table, rows)
        got = s.execute(text("SELECT k, doc::text FROM t_bulk_json ORDER BY k")).all()
    assert [tuple(r) for r in got] == [(1, '{"b": 1, "a": "x"}'), (2, None)]
