"""The NAT fast path (hub/records_fast.py) gives what RecordParser.parse gives, or leaves the
record to it: same accepted records, same fields, fact, pseudonym and digest (so the same
stored bytes), and, through parse_batch, the same answer or the same error for any batch."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from healthcode.core.clock import CHINA_TZ, FixedClock
from healthcode.core.errors import InvalidInput
from healthcode.core.identity import check_digit
from healthcode.hub.batches import Located, parse_batch
from healthcode.hub.orgs import Principal
from healthcode.hub.records import RecordParser
from healthcode.hub.records_fast import NatFastPath

NOW = datetime(2022, 11, 20, 1, 0, tzinfo=UTC)
KEY = bytes(range(32))
PARSER = RecordParser(pseudonym_key=KEY, clock=FixedClock(NOW))
FAST = NatFastPath(pseudonym_key=KEY)
LAB = Principal(org_id=1, kind="lab", region_code="440106", name="GZ lab")

_odd_text = st.sampled_from(["", " ", " a ", 'q"uo\\te', "tab\there", "\x00", "张三", "x" * 129])
_any = st.none() | st.booleans() | st.integers(-3, 30) | st.floats(allow_nan=False) | _odd_text


@st.composite
def _id_numbers(draw: st.DrawFn) -> str:
    """Mostly valid resident ID numbers; some with an unknown or non-resident region, a birth
    date that is no date, too early or too late, a wrong check digit, spaces or a lower x."""
    good = draw(st.integers(0, 3)) > 0
    regions = ["440106", "110105", "441999"] if good else ["810000", "710000", "990000", "449999"]
    days = ["19850101", "19000101", "20220229"] if good else ["18991231", "20231332", "20990101"]
    body = draw(st.sampled_from(regions)) + draw(st.sampled_from(days))
    body += draw(st.from_regex(r"[0-9]{3}", fullmatch=True))
    number = body + check_digit(body)
    if draw(st.integers(0, 4)):
        return number
    wrong = number[:-1] + ("0" if number[-1] != "0" else "1")
    return draw(
        st.sampled_from([number.lower(), f" {number} ", wrong, number[:17], "１" + number[1:]])
    )


@st.composite
def _times(draw: st.DrawFn) -> Any:
    """Mostly times of the last two days in one of the written forms; some odd values."""
    if draw(st.integers(0, 9)) == 0:
        odd = ["yesterday", "0999-01-01T00:00:00Z", "0999-01-01T09:00+09:00", 17, None, ""]
        return draw(st.sampled_from([*odd, "2022-11-19", "2022-11-20T09:10:00"]))
    at = NOW + timedelta(
        minutes=draw(st.integers(-3000, 30)), microseconds=draw(st.integers(0, 999_999))
    )
    form = draw(st.sampled_from(["utc", "cst", "naive", "z", "spaced"]))
    return {
        "utc": at.isoformat(),
        "cst": at.astimezone(CHINA_TZ).isoformat(timespec="seconds"),
        "naive": (at + timedelta(hours=8)).replace(tzinfo=None).isoformat(),
        "z": at.isoformat().replace("+00:00", "Z"),
        "spaced": f" {at.isoformat()} ",
    }[form]


_FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "record_id": st.text(max_size=6) | _any,
    "id_number": _id_numbers() | _any,
    "id_type": st.sampled_from(["resident_id", " resident_id ", "passport_cn", ""]) | _any,
    "nationality": st.sampled_from(["USA", "usa"]) | _any,
    "home_region": st.sampled_from(["440106", "99"]) | _any,
    "name": st.text(max_size=5) | _any,
    "phone": st.text(max_size=5) | _any,
    "sampled_at": _times(),
    "resulted_at": _times(),
    "result": st.sampled_from(["positive", "negative", "Negative"]) | _any,
    "sample_type": st.sampled_from(["nasal", "saliva", "oropharyngeal", "blood"]) | _any,
    "pooling": st.sampled_from(["single", "pooled", "Pooled"]) | _any,
    "pool_size": st.integers(0, 25) | _any,
    "lab": st.text(max_size=5) | _any,
    "extra": _any,
}
_COMMON = {
    "record_id": st.text(min_size=1, max_size=8).filter(str.strip),
    "id_number": _id_numbers(),
    "sampled_at": _times(),
    "result": st.sampled_from(["positive", "negative"]),
    "pooling": st.sampled_from(["single", "pooled"]),
    "pool_size": st.integers(1, 22),
}


@st.composite
def _raw(draw: st.DrawFn) -> Any:
    """A NAT record: mostly of the common shape, with any field absent, odd or wrong."""
    if draw(st.integers(0, 20)) == 0:
        return draw(_any | st.lists(_any, max_size=2))
    raw = {name: draw(strategy) for name, strategy in _COMMON.items()}
    for name in draw(st.lists(st.sampled_from(sorted(_FIELDS)), max_size=3, unique=True)):
        if draw(st.integers(0, 5)) == 0:
            raw.pop(name, None)
        else:
            raw[name] = draw(_FIELDS[name])
    return raw


def _reference(raw: Any) -> Any:
    try:
        return PARSER.parse("nat", raw, defaults={"lab": LAB.name}, now=NOW)
    except InvalidInput as exc:
        return exc.to_dict()


@settings(max_examples=300, deadline=None)
@given(raws=st.lists(_raw(), min_size=1, max_size=6))
def test_the_fast_path_gives_what_the_reference_gives_or_leaves_it_the_record(
    raws: list[Any],
) -> None:
    for raw, fast in zip(raws, FAST.parse_many(raws, lab=LAB.name, now=NOW), strict=True):
        if fast is not None:
            expected = _reference(raw)
            assert fast == expected
            assert list(fast.fact) == list(expected.fact)  # same stored JSON, key order too


def _outcome(items: list[Located], fast: NatFastPath | None) -> Any:
    try:
        return parse_batch(PARSER, LAB, "nat", items, now=NOW, single=False, fast_nat=fast)
    except InvalidInput as exc:
        return exc.to_dict()


@settings(max_examples=150, deadline=None)
@given(raws=st.lists(_raw(), min_size=1, max_size=8))
def test_a_batch_is_answered_alike_with_and_without_the_fast_path(raws: list[Any]) -> None:
    items = [Located({"index": i}, raw) for i, raw in enumerate(raws)]
    assert _outcome(items, FAST) == _outcome(items, None)


def _lab_record(i: int, **fields: Any) -> dict[str, Any]:
    body = f"44010619900307{i:03d}"
    sampled = NOW - timedelta(hours=3)
    return {
        "record_id": f"S-{i}",
        "id_number": body + check_digit(body),
        "name": "张三",
        "phone": "13812345678",
        "sampled_at": sampled.isoformat(),
        "resulted_at": (sampled + timedelta(hours=1)).isoformat(),
        "result": "negative",
        **fields,
    }


@pytest.mark.parametrize(
    "fields",
    [{}, {"pooling": "pooled", "pool_size": 10}, {"name": None, "phone": ""}, {"lab": " x "}],
)
def test_a_lab_upload_of_the_common_shape_takes_the_fast_path(fields: dict[str, Any]) -> None:
    raws = [_lab_record(i, **fields) for i in range(3)]
    fast = FAST.parse_many(raws, lab=LAB.name, now=NOW)
    assert fast == [_reference(raw) for raw in raws]


@pytest.mark.parametrize(
    "fields",
    [
        {"id_type": "passport_cn", "id_number": "E12345678"},
        {"nationality": "USA"},
        {"home_region": "440106"},
        {"sampled_at": "0999-01-01T00:00:00Z"},
        {"resulted_at": "2022-11-19T08:00:00"},  # before the sample
        {"name": "   "},
    ],
)
def test_other_shapes_and_errors_are_left_to_the_reference(fields: dict[str, Any]) -> None:
    assert FAST.parse_many([_lab_record(1, **fields)], lab=LAB.name, now=NOW) == [None]
