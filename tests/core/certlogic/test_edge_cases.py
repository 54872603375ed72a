"""Edge cases of the CertLogic spec that the official suites do not cover."""

from __future__ import annotations

from datetime import UTC, datetime
from types import ModuleType
from typing import Any

import pytest

from healthcode.core.certlogic import (
    check,
    compile,
    dcc_date_of_birth,
    evaluate,
    parse_date_time,
    plus_time,
    validate,
)
from healthcode.core.certlogic.validator import MAX_DEPTH
from healthcode.core.errors import CertLogicError


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def code_of(expr: Any, data: Any = None) -> str:
    with pytest.raises(CertLogicError) as info:
        evaluate(expr, data)
    return info.value.code


# --- date-time formats -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2021-06-01", utc(2021, 6, 1)),
        ("2021-06-01T10:20:30", utc(2021, 6, 1, 10, 20, 30)),
        ("2021-06-01T10:20:30Z", utc(2021, 6, 1, 10, 20, 30)),
        ("2021-06-01T10:20:30+2", utc(2021, 6, 1, 8, 20, 30)),
        ("2021-06-01T10:20:30+02", utc(2021, 6, 1, 8, 20, 30)),
        ("2021-06-01T10:20:30+130", utc(2021, 6, 1, 8, 50, 30)),
        ("2021-06-01T10:20:30+0130", utc(2021, 6, 1, 8, 50, 30)),
        ("2021-06-01T10:20:30-1:30", utc(2021, 6, 1, 11, 50, 30)),
        ("2021-06-01T10:20:30-01:30", utc(2021, 6, 1, 11, 50, 30)),
        ("2021-06-01T10:20:30.5", utc(2021, 6, 1, 10, 20, 30, 500_000)),
        ("2021-06-01T10:20:30.1239Z", utc(2021, 6, 1, 10, 20, 30, 123_000)),
        ("2021-06-01T10:20:30.999999999+00:00", utc(2021, 6, 1, 10, 20, 30, 999_000)),
        ("2021-06-01T00:30:00+01:00", utc(2021, 5, 31, 23, 30)),
        ("2021-06-01T24:00:00Z", utc(2021, 6, 2)),
    ],
)
def test_allowed_date_time_formats(text: str, expected: datetime) -> None:
    assert parse_date_time(text) == expected
    assert evaluate({"plusTime": [text, 0, "day"]}, None) == expected


@pytest.mark.parametrize(
    "text",
    [
        "2021-13-01",
        "2021-02-30",
        "2021-06-01T10:20",
        "2021-06-01 10:20:30",
        "20210601",
        "2021-06-01\n",
        "２０２１-06-01",
        "2021-06-01T10:20:30+24:00",
        "2021-06-01T10:20:30.Z",
        "0000-01-01",
        "",
    ],
)
def test_refused_date_strings(text: str) -> None:
    assert code_of({"plusTime": [{"var": ""}, 0, "day"]}, text) == "CERTLOGIC_INVALID_DATE"


def test_plus_time_leap_days_follow_the_spec_table() -> None:
    assert plus_time("2020-02-29", 1, "day") == utc(2020, 3, 1)
    assert plus_time("2020-02-29", 1, "month") == utc(2020, 3, 29)
    assert plus_time("2020-02-29", 1, "year") == utc(2021, 3, 1)
    assert plus_time("2021-01-31", 1, "month") == utc(2021, 3, 3)  # JS setUTCMonth rolls over
    assert plus_time("2021-03-31", -1, "month") == utc(2021, 3, 3)
    assert plus_time("2021-01-15", -13, "month") == utc(2019, 12, 15)
    assert plus_time("2021-03-28T00:30:00+01:00", 2, "hour") == utc(2021, 3, 28, 1, 30)


def test_plus_time_on_partial_dates_matches_dcc_date_of_birth() -> None:
    for text in ("2004", "2004-02", "2003-02", "2004-12", "2004-02-03"):
        assert plus_time(text, 0, "hour") == dcc_date_of_birth(text)
    assert dcc_date_of_birth("2004") == utc(2004, 12, 31)
    assert dcc_date_of_birth("2004-02") == utc(2004, 2, 29)
    assert dcc_date_of_birth("2003-02") == utc(2003, 2, 28)
    assert plus_time("2004-02", 18, "year") == utc(2022, 3, 1)  # 2022-02-29 rolls over


@pytest.mark.parametrize("text", ["", "04", "2004-1", "2004-13", "2004-00", "2004-02-30", "x"])
def test_dcc_date_of_birth_refuses(text: str) -> None:
    assert code_of({"dccDateOfBirth": [{"var": ""}]}, text) == "CERTLOGIC_INVALID_DATE"


def test_date_operands_must_be_strings() -> None:
    assert code_of({"plusTime": [{"var": "x"}, 0, "day"]}, {}) == "CERTLOGIC_NOT_STRING"
    nested = {"plusTime": [{"plusTime": ["2021-01-01", 0, "day"]}, 1, "day"]}
    assert code_of(nested) == "CERTLOGIC_NOT_STRING"
    assert code_of({"dccDateOfBirth": [{"var": ""}]}, 2004) == "CERTLOGIC_NOT_STRING"


def test_plus_time_out_of_range_is_an_error_not_a_crash() -> None:
    assert code_of({"plusTime": ["9999-12-31", 1, "day"]}) == "CERTLOGIC_INVALID_DATE"
    assert code_of({"plusTime": ["2021-01-01", 10**7, "year"]}) == "CERTLOGIC_INVALID_DATE"


def test_date_comparisons_need_date_times() -> None:
    date = {"plusTime": ["2021-01-01", 0, "day"]}
    assert code_of({"before": [date, "2021-01-02"]}) == "CERTLOGIC_NOT_DATETIME"
    assert code_of({"after": [{"var": "x"}, date]}, {}) == "CERTLOGIC_NOT_DATETIME"
    assert evaluate({"not-after": [date, date, date]}, None) is True
    assert evaluate({"before": [date, date]}, None) is False
    # date-times from the data (a Python caller's facts) compare too
    assert evaluate({"after": [{"var": "t"}, date]}, {"t": utc(2021, 1, 2)}) is True


# --- values: truthy/falsy, equality, in, + -----------------------------------------------


def test_date_times_are_neither_truthy_nor_falsy() -> None:
    date = {"plusTime": ["2021-01-01", 0, "day"]}
    assert code_of({"!": [date]}) == "CERTLOGIC_NOT_TRUTHY_OR_FALSY"
    assert code_of({"if": [date, 1, 2]}) == "CERTLOGIC_NOT_TRUTHY_OR_FALSY"
    assert code_of({"and": [date, 1]}) == "CERTLOGIC_NOT_TRUTHY_OR_FALSY"
    # the spec: every operand of "and" must be truthy or falsy, the last one too
    assert code_of({"and": [True, date]}) == "CERTLOGIC_NOT_TRUTHY_OR_FALSY"


def test_truthiness_of_data_values() -> None:
    expr = {"if": [{"var": "v"}, "T", "F"]}
    cases = [(0, "F"), (0.0, "F"), (2.5, "T"), ("", "F"), ("0", "T"), ({}, "F"), ({"a": 1}, "T")]
    for value, expected in cases:
        assert evaluate(expr, {"v": value}) == expected


def test_strict_equality_has_no_coercion() -> None:
    eq = {"===": [{"var": "0"}, {"var": "1"}]}
    assert evaluate(eq, [1, True]) is False
    assert evaluate(eq, [True, 1]) is False
    assert evaluate(eq, [1, 1.0]) is True
    assert evaluate(eq, [None, None]) is True
    assert evaluate(eq, [[1], [1]]) is False  # arrays and objects: by reference
    assert evaluate({"===": [{"var": "a"}, {"var": "a"}]}, {"a": [1]}) is True
    assert evaluate({"===": [[1], [1]]}, None) is False
    assert evaluate({"===": [1, {"var": ""}]}, True) is False
    assert evaluate({"===": [{"var": ""}, True]}, 1) is False
    date = {"plusTime": ["2021-01-01", 0, "day"]}
    assert evaluate({"===": [date, date]}, None) is False  # each plusTime is a new date-time


def test_in_uses_strict_equality_and_needs_an_array() -> None:
    assert evaluate({"in": [{"var": ""}, [1, "a"]]}, True) is False
    assert evaluate({"in": [1, {"var": ""}]}, [True]) is False
    assert evaluate({"in": [{"var": "x"}, {"var": "y"}]}, {"x": None, "y": [None]}) is True
    assert evaluate({"in": [{"var": "x"}, {"var": "y"}]}, {"x": 2, "y": [2.0]}) is True
    assert code_of({"in": ["a", {"var": "y"}]}, {}) == "CERTLOGIC_NOT_AN_ARRAY"
    assert code_of({"in": ["a", "abc"]}) == "CERTLOGIC_NOT_AN_ARRAY"


def test_plus_only_on_integers() -> None:
    assert evaluate({"+": [{"var": "a"}, 2]}, {"a": 1.0}) == 3
    for bad in ("1", True, None, 1.5, [1]):
        assert code_of({"+": [{"var": "a"}, 2]}, {"a": bad}) == "CERTLOGIC_NOT_INTEGER"


def test_comparisons_only_on_integers() -> None:
    assert evaluate({"<": [1, {"var": ""}, 3]}, 2) is True
    assert evaluate({">=": [{"var": ""}, 2]}, 2.0) is True
    for bad in (None, "2", True, 2.5):
        assert code_of({"<": [1, {"var": ""}]}, bad) == "CERTLOGIC_NOT_INTEGER"
        assert code_of({"<": [1, 2, {"var": ""}]}, bad) == "CERTLOGIC_NOT_INTEGER"


# --- var -----------------------------------------------------------------------------------


def test_var_paths() -> None:
    data = {"a": {"0": "zero", "1": "one"}, "s": "abc", "n": 5, "l": [[1, 2], {"k": "v"}]}
    assert evaluate({"var": "a.0"}, data) == "zero"
    assert evaluate({"var": "a.01"}, data) == "one"  # JS reads key String(parseInt("01"))
    assert evaluate({"var": "s.1"}, data) == "b"  # JS indexes strings
    assert evaluate({"var": "s.9"}, data) is None
    assert evaluate({"var": "n.x"}, data) is None
    assert evaluate({"var": "l.0.1"}, data) == 2
    assert evaluate({"var": "l.1.k"}, data) == "v"
    assert evaluate({"var": "l.k"}, data) is None
    assert evaluate({"var": "l.-1"}, data) is None
    assert evaluate({"var": "l.0.1.2.3.4.5"}, data) is None
    assert evaluate({"var": "missing.deeper.still"}, data) is None
    assert evaluate({"var": ""}, data) is data


# --- and, if, reduce, extractFromUVCI ---------------------------------------------------------


def test_and_and_if_are_lazy() -> None:
    boom = {"plusTime": [{"var": "nope"}, 0, "day"]}
    assert evaluate({"and": [False, boom]}, {}) is False
    assert evaluate({"if": [True, 1, boom]}, {}) == 1
    assert evaluate({"if": [False, {"+": [1, "a"]}, 1]}, {}) == 1
    fn = compile({"if": [True, {"+": [1, "a"]}, 1]})  # invalid only when evaluated
    with pytest.raises(CertLogicError):
        fn({})


def test_reduce() -> None:
    total = {"reduce": [{"var": "xs"}, {"+": [{"var": "accumulator"}, {"var": "current"}]}, 0]}
    assert evaluate(total, {"xs": [1, 2, 3]}) == 6
    assert evaluate(total, {"xs": []}) == 0
    assert evaluate(total, {}) == 0
    assert code_of(total, {"xs": "123"}) == "CERTLOGIC_NOT_AN_ARRAY"
    # the lambda sees only accumulator and current, not the outer data
    sees = {"reduce": [{"var": "xs"}, {"var": "xs"}, 0]}
    assert evaluate(sees, {"xs": [1]}) is None


def test_extract_from_uvci() -> None:
    assert evaluate({"extractFromUVCI": [{"var": ""}, 2]}, "a::c/#/f") == "c"
    assert evaluate({"extractFromUVCI": [{"var": ""}, -1]}, "a") is None
    assert code_of({"extractFromUVCI": [{"var": ""}, 0]}, 42) == "CERTLOGIC_NOT_STRING"


def test_literal_arrays_are_fresh_each_time() -> None:
    fn = compile([1, [2]])
    first = fn(None)
    first[1].append(3)
    assert fn(None) == [1, [2]]


def test_integral_floats_are_integers() -> None:
    assert evaluate({"+": [1.0, 2]}, None) == 3
    assert validate({"plusTime": ["2021-01-01", 1.0, "day"]}) == []


# --- validation and compile errors ---------------------------------------------------------


def test_issues_carry_code_path_and_pointer() -> None:
    expr = {"if": [{"var": "a"}, {"and": [{"var": "x..y"}]}, {"foo": [1]}]}
    issues = validate(expr)
    assert [(i.code, i.pointer) for i in issues] == [
        ("CERTLOGIC_ARITY", "/if/1"),
        ("CERTLOGIC_VAR_PATH", "/if/1/and/0"),
        ("CERTLOGIC_UNKNOWN_OPERATOR", "/if/2"),
    ]
    with pytest.raises(CertLogicError) as info:
        check(expr)
    assert (info.value.code, info.value.details["path"]) == ("CERTLOGIC_ARITY", "/if/1")


@pytest.mark.parametrize(
    ("expr", "code"),
    [
        ({"or": [True, False]}, "CERTLOGIC_UNKNOWN_OPERATOR"),
        ({"!!": [True]}, "CERTLOGIC_UNKNOWN_OPERATOR"),
        ({"var": ["x", 1]}, "CERTLOGIC_VAR_FORM"),
        ({"plusTime": ["2021", 1, "week"]}, "CERTLOGIC_PLUSTIME_UNIT"),
        ({"plusTime": ["2021", {"var": "n"}, "day"]}, "CERTLOGIC_PLUSTIME_AMOUNT"),
        ({"extractFromUVCI": ["a", "1"]}, "CERTLOGIC_UVCI_INDEX"),
        ({"===": [1, 2, 3]}, "CERTLOGIC_ARITY"),
        ({"<": [1, 2, 3, 4]}, "CERTLOGIC_ARITY"),
        ({"!": []}, "CERTLOGIC_ARITY"),
        ({"dccDateOfBirth": []}, "CERTLOGIC_ARITY"),
        ({"if": {"var": "x"}}, "CERTLOGIC_OPERATION_FORM"),
        (float("nan"), "CERTLOGIC_NON_INTEGER"),
        ({1, 2}, "CERTLOGIC_INVALID_EXPRESSION"),
        ((1, 2), "CERTLOGIC_INVALID_EXPRESSION"),
    ],
)
def test_compile_refuses_invalid_expressions(expr: Any, code: str) -> None:
    assert [i.code for i in validate(expr)][:1] == [code]
    with pytest.raises(CertLogicError) as info:
        compile(expr)
    assert info.value.code == code


def test_too_deep_expressions_are_refused_not_crashed() -> None:
    expr: Any = 1
    for _ in range(MAX_DEPTH * 5):
        expr = {"!": [expr]}
    with pytest.raises(CertLogicError) as info:
        compile(expr)
    assert info.value.code == "CERTLOGIC_TOO_DEEP"


def test_public_surface() -> None:
    import healthcode.core.certlogic as certlogic

    assert sorted(certlogic.__all__) == sorted(
        name
        for name, value in vars(certlogic).items()
        if not name.startswith("_") and not isinstance(value, ModuleType)
    )
    assert all(getattr(certlogic, name) is not None for name in certlogic.__all__)
