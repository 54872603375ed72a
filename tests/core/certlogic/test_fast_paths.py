"""The fast paths of the compiler agree with the general ones: generated code against the
closures, the common date-time forms against the reference parser, value-set lookups, and aware
date-times from the data."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from healthcode.core.certlogic import compile, evaluate
from healthcode.core.certlogic.closures import build
from healthcode.core.certlogic.dates import parse_date_time, parse_reference
from healthcode.core.certlogic.fast_dates import parse_common
from healthcode.core.errors import CertLogicError

CST = timezone(timedelta(hours=8))


def outcome(fn: Any, *args: Any) -> Any:
    try:
        return fn(*args)
    except CertLogicError as exc:
        return ("error", exc.code, exc.message)


# --- date-times: the common forms against the reference parser ------------------------------

_YEARS = ["0000", "0001", "2020", "2021", "9999"]
_DAYS = ["2021-02-29", "2020-02-29", "2021-13-01", "2021-00-10", "2021-06-31", "2021-06-30"]
_TIMES = ["00:00:00", "23:59:59", "24:00:00", "12:60:00", "12:00:60", "09:30:15"]
_FRACTIONS = ["", ".000", ".999", ".5", ".1234"]
_OFFSETS = ["", "Z", "+00:00", "-00:00", "+08:00", "-23:59", "+24:00", "+01:60", "+0800", "+8"]


def test_common_forms_agree_with_the_reference_parser() -> None:
    texts = [f"{y}-01-01" for y in _YEARS] + _DAYS
    texts += [
        f"{day}T{time}{fraction}{offset}"
        for day, time, fraction, offset in itertools.product(
            ["0001-01-01", "2020-02-29", "9999-12-31", "2021-02-29"], _TIMES, _FRACTIONS, _OFFSETS
        )
    ]
    fast = 0
    for text in texts:
        assert outcome(parse_date_time, text) == outcome(parse_reference, text), text
        common = parse_common(text)
        if common is not None:
            fast += 1
            assert common == parse_reference(text), text
    assert fast > 100  # the fast path is taken, not only refused


def _digits(n: int) -> st.SearchStrategy[str]:
    return st.text("0123456789", min_size=n, max_size=n)


date_time_texts = st.builds(
    lambda y, mo, d, t, h, mi, sec, frac, off: (
        f"{y}-{mo}-{d}" + (f"T{h}:{mi}:{sec}{frac}{off}" if t else "")
    ),
    _digits(4),
    st.sampled_from(["01", "02", "06", "12", "13", "00"]),
    st.sampled_from(["01", "28", "29", "30", "31", "32"]),
    st.booleans(),
    st.sampled_from(["00", "09", "23", "24"]),
    st.sampled_from(["00", "59", "60"]),
    st.sampled_from(["00", "59", "60"]),
    st.sampled_from(["", ".000", ".123", ".5", ".12345"]),
    st.sampled_from(["", "Z", "+00:00", "-05:30", "+14:00", "+23:59", "+0800", "-8"]),
)


@settings(max_examples=500, deadline=None)
@given(date_time_texts)
def test_fast_date_parser_agrees_with_the_reference(text: str) -> None:
    common = parse_common(text)
    assert common is None or common == parse_reference(text)
    assert outcome(parse_date_time, text) == outcome(parse_reference, text)


def test_parsed_values_are_utc_and_cached() -> None:
    first = parse_date_time("2022-11-18T20:00:00.123+08:00")
    assert first == datetime(2022, 11, 18, 12, 0, 0, 123_000, tzinfo=UTC)
    assert first.utcoffset() == timedelta(0)
    assert parse_date_time("2022-11-18T20:00:00.123+08:00") is first


# --- generated code against the closures ------------------------------------------------------


def closures_only(expr: Any) -> Any:
    """The closure tree of ``expr``, without the generated function."""
    return build(expr).fn


@pytest.mark.parametrize(
    ("expr", "data"),
    [
        ({"and": [{"var": "a"}, {"var": "b"}]}, {"a": "x", "b": 0}),
        ({"and": [{"var": "a"}, {"var": "b"}]}, {"a": [], "b": 1}),
        ({"if": [{"var": "a"}, 1, 2]}, {"a": {}}),
        ({"if": [{"var": "a.0"}, {"var": "a.0.x"}, [1]]}, {"a": [{"x": 5}]}),
        ({"if": [{"var": "a.0"}, {"var": "a.0.x"}, [1]]}, {"a": "s"}),
        ({"!": [{"var": "a.1"}]}, {"a": {"1": True}}),
        ({"===": [{"var": "a"}, 1]}, {"a": True}),
        ({"===": [{"var": "a"}, 1]}, {"a": 1.0}),
        ({"===": [{"var": "a"}, True]}, {"a": 1}),
        ({"===": [{"var": "a"}, {"var": "b"}]}, {"a": 1, "b": 1.0}),
        ({"<": [{"var": "a"}, {"var": "b"}, 3]}, {"a": 1, "b": 2}),
        ({"<": [{"var": "a"}, {"var": "b"}]}, {"a": 1, "b": "2"}),
    ],
)
def test_generated_code_agrees_with_the_closures(expr: Any, data: Any) -> None:
    assert outcome(compile(expr), data) == outcome(closures_only(expr), data)


def test_datetime_from_the_data_is_refused_by_an_operator_that_needs_truthiness() -> None:
    expr = {"and": [{"var": "a"}, {"var": "b"}]}
    data = {"a": True, "b": datetime(2022, 1, 1, tzinfo=UTC)}
    with pytest.raises(CertLogicError) as info:
        compile(expr)(data)
    assert info.value.code == "CERTLOGIC_NOT_TRUTHY_OR_FALSY"


def test_very_deep_expressions_still_evaluate() -> None:
    expr: Any = {"var": "a"}
    for _ in range(60):  # deeper than the generated code inlines
        expr = {"if": [{"var": "a"}, expr, False]}
    assert compile(expr)({"a": 7}) == 7


# --- in: value sets from the data ---------------------------------------------------------


def test_in_a_large_value_set_keeps_strict_equality() -> None:
    rule = compile({"in": [{"var": "x"}, {"var": "set"}]})
    strings = [f"code-{i}" for i in range(100)]
    assert rule({"x": "code-42", "set": strings}) is True
    assert rule({"x": "code-100", "set": strings}) is False
    mixed = [*strings, 1, "2"]
    assert rule({"x": 1, "set": mixed}) is True
    assert rule({"x": True, "set": mixed}) is False
    assert rule({"x": 2, "set": mixed}) is False
    assert rule({"x": "1", "set": mixed}) is False
    assert rule({"x": 1.0, "set": mixed}) is True


def test_in_a_value_set_sees_changes_to_the_same_list() -> None:
    rule = compile({"in": [{"var": "x"}, {"var": "set"}]})
    values = [f"code-{i}" for i in range(100)]
    data = {"x": "new", "set": values}
    assert rule(data) is False
    values[7] = "new"  # same list, same length
    assert rule(data) is True
    values[7] = 7
    assert rule(data) is False
    assert rule({"x": 7, "set": values}) is True


# --- aware date-times from the data -----------------------------------------------------------


def test_plus_time_reads_an_aware_datetime_from_the_data() -> None:
    expr = {"plusTime": [{"var": "t"}, 2, "day"]}
    aware = datetime(2022, 11, 18, 20, 0, 0, 123_456, tzinfo=CST)
    as_text = "2022-11-18T12:00:00.123Z"
    assert evaluate(expr, {"t": aware}) == evaluate(expr, {"t": as_text})
    assert evaluate(expr, {"t": aware}).tzinfo == UTC
    rule = compile({"before": [{"plusTime": [{"var": "now"}, 0, "hour"]}, expr]})
    now = datetime(2022, 11, 20, 12, 0, 0, 122_999, tzinfo=UTC)
    assert rule({"now": now, "t": aware}) is True
    assert rule({"now": now + timedelta(microseconds=1001), "t": as_text}) is False


def test_plus_time_refuses_a_naive_datetime_from_the_data() -> None:
    expr = {"plusTime": [{"var": "t"}, 0, "day"]}
    with pytest.raises(CertLogicError) as info:
        evaluate(expr, {"t": datetime(2022, 11, 18, 20, 0)})
    assert info.value.code == "CERTLOGIC_NOT_DATETIME"


def test_dcc_date_of_birth_still_needs_a_string() -> None:
    with pytest.raises(CertLogicError) as info:
        evaluate({"dccDateOfBirth": [{"var": "dob"}]}, {"dob": datetime(2004, 1, 1, tzinfo=UTC)})
    assert info.value.code == "CERTLOGIC_NOT_STRING"


def test_comparisons_refuse_naive_datetimes_from_the_data() -> None:
    naive = datetime(2022, 1, 1)
    with pytest.raises(CertLogicError) as info:
        evaluate({"before": [{"var": "a"}, {"var": "b"}]}, {"a": naive, "b": naive})
    assert info.value.code == "CERTLOGIC_NOT_DATETIME"
    aware = datetime(2022, 1, 1, tzinfo=UTC)
    assert evaluate({"before": [{"var": "a"}, {"var": "b"}]}, {"a": aware, "b": aware}) is False
