"""RecordParser's digest is over the canonical text stored digests were made with; the feed
gets the fact and a masked identity."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from healthcode.core.clock import FixedClock
from healthcode.core.errors import InvalidInput
from healthcode.core.identity import check_digit
from healthcode.hub import records

NOW = datetime(2022, 11, 20, 1, 0, tzinfo=UTC)
KEY = bytes(range(32))
_scalars = st.none() | st.booleans() | st.integers() | st.text() | st.floats(allow_nan=False)
_json = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=10,
)


def test_record_json_is_the_form_stored_digests_were_made_with() -> None:
    # Sorted keys, default separators, non-ASCII kept: the text every stored digest covers.
    normal = {"record_id": 'S-"1"', "name": "张三", "fact": {"b": 1, "a": [None, True]}}
    assert records.record_json(normal) == (
        '{"fact": {"a": [null, true], "b": 1}, "name": "张三", "record_id": "S-\\"1\\""}'
    )


_text = st.text(min_size=1, max_size=12).filter(lambda s: s.strip() == s)
_body = st.from_regex(
    r"11010[1-5](19[5-9][0-9])(0[1-9]|1[0-2])(0[1-9]|1[0-9]|2[0-8])[0-9]{3}", fullmatch=True
)


@settings(max_examples=200, deadline=None)
@given(
    body=_body,
    record_id=_text,
    name=st.none() | _text,
    phone=st.none() | _text,
    lab=_text,
    pooled=st.booleans(),
    pool=st.integers(2, 20),
    minutes=st.integers(60, 10_000),
    result=st.sampled_from(["positive", "negative", "unknown"]),
)
def test_parse_digest_matches_the_general_encoding(
    body: str,
    record_id: str,
    name: str | None,
    phone: str | None,
    lab: str,
    pooled: bool,
    pool: int,
    minutes: int,
    result: str,
) -> None:
    sampled = NOW - timedelta(minutes=minutes)
    raw: dict[str, Any] = {
        "record_id": record_id,
        "id_number": body + check_digit(body),
        "name": name,
        "phone": phone,
        "sampled_at": sampled.isoformat(),
        "resulted_at": (sampled + timedelta(minutes=30)).isoformat(),
        "result": result,
        "pooling": "pooled" if pooled else "single",
        "pool_size": pool,
    }
    parser = records.RecordParser(pseudonym_key=KEY, clock=FixedClock(NOW))
    try:
        parsed = parser.parse("nat", raw, defaults={"lab": lab})
    except InvalidInput as exc:
        assert (exc.code, exc.details.get("field")) == ("VALUE_NOT_IN_SET", "result")
        return
    normal = {
        "kind": "nat",
        "record_id": parsed.record_id,
        "id_type": parsed.id_type,
        "id_number": parsed.id_number,
        "nationality": None,
        "name": parsed.name,
        "phone": parsed.phone,
        "home_region": parsed.home_region,
        "fact": parsed.fact,
    }
    digest_key = hashlib.sha256(b"healthcode/record-digest/v1" + KEY).digest()
    text = json.dumps(normal, sort_keys=True, ensure_ascii=False).encode("utf-8")
    assert parsed.digest == hmac.new(digest_key, text, "sha256").hexdigest()


def test_feed_data_carries_the_fact_and_masked_identity_only() -> None:
    raw = {
        "record_id": "S-1",
        "id_number": "11010119900307" + "123" + check_digit("11010119900307123"),
        "name": "张三",
        "sampled_at": (NOW - timedelta(hours=3)).isoformat(),
        "result": "negative",
    }
    parsed = records.RecordParser(pseudonym_key=KEY, clock=FixedClock(NOW)).parse(
        "nat", raw, defaults={"lab": '实验室 "A"'}
    )
    data = parsed.feed_data(7)
    assert data["record"] == 7 and data["fact"] == parsed.fact
    assert data["pseudonym"] == parsed.pseudonym and data["fact"]["lab"] == '实验室 "A"'
    assert raw["id_number"] not in json.dumps(data, ensure_ascii=False)
    assert "张三" not in json.dumps(data, ensure_ascii=False)


def test_digest_of_a_foreign_passport_record_matches_the_general_encoding() -> None:
    raw = {
        "record_id": 'P-"1"\\',
        "id_type": "passport_foreign",
        "id_number": "X1234567",
        "nationality": "USA",
        "name": "John Smith",
        "home_region": "310101",
        "sampled_at": (NOW - timedelta(hours=2)).isoformat(),
        "result": "negative",
    }
    parsed = records.RecordParser(pseudonym_key=KEY, clock=FixedClock(NOW)).parse(
        "nat", raw, defaults={"lab": "lab"}
    )
    normal = {
        "kind": "nat",
        "record_id": raw["record_id"],
        "id_type": "passport_foreign",
        "id_number": parsed.id_number,
        "nationality": "USA",
        "name": "John Smith",
        "phone": None,
        "home_region": "310101",
        "fact": parsed.fact,
    }
    digest_key = hashlib.sha256(b"healthcode/record-digest/v1" + KEY).digest()
    text = json.dumps(normal, sort_keys=True, ensure_ascii=False).encode("utf-8")
    assert parsed.digest == hmac.new(digest_key, text, "sha256").hexdigest()
