"""Properties: the compiled expression agrees with a plain tree-walking interpreter written from
the spec; the generated code agrees with the closure tree it is generated from (same value, same
error code); the value-set lookup agrees with a plain scan; and no input makes compile() or a
compiled expression raise anything else than CertLogicError."""

from __future__ import annotations

import contextlib
import itertools
from datetime import datetime
from typing import Any

from certlogic_suites import same_json
from hypothesis import given, settings
from hypothesis import strategies as st

from healthcode.core.certlogic import compile, validate
from healthcode.core.certlogic.closures import build
from healthcode.core.certlogic.codegen import generate
from healthcode.core.certlogic.dates import dcc_date_of_birth, plus_time
from healthcode.core.certlogic.value_sets import member_of_array
from healthcode.core.certlogic.values import (
    access,
    boolsiness,
    compile_path,
    extract_from_uvci,
    is_int,
    member,
    strict_equals,
)
from healthcode.core.errors import CertLogicError


class Refused(Exception):
    """The reference interpreter's error."""


def _boolsy(v: Any) -> bool:
    b = boolsiness(v)
    if b is None:
        raise Refused
    return b


def reference(expr: Any, data: Any) -> Any:
    """A direct reading of the spec: walks the tree on every evaluation."""
    if isinstance(expr, bool | str) or is_int(expr):
        return int(expr) if isinstance(expr, float) else expr
    if isinstance(expr, list):
        return [reference(e, data) for e in expr]
    ((op, args),) = expr.items()
    if op == "var":
        return access(data, compile_path(args))
    if op == "if":
        return reference(args[1] if _boolsy(reference(args[0], data)) else args[2], data)
    if op == "and":
        value: Any = True
        for arg in args:
            value = reference(arg, data)
            if not _boolsy(value):
                return value
        return value
    if op == "!":
        return not _boolsy(reference(args[0], data))
    if op == "plusTime":
        s = reference(args[0], data)
        if not isinstance(s, str):
            raise Refused
        return plus_time(s, int(args[1]), args[2])
    if op == "dccDateOfBirth":
        s = reference(args[0], data)
        if not isinstance(s, str):
            raise Refused
        return dcc_date_of_birth(s)
    if op == "extractFromUVCI":
        s = reference(args[0], data)
        if s is not None and not isinstance(s, str):
            raise Refused
        return extract_from_uvci(s, int(args[1]))
    if op == "reduce":
        items = reference(args[0], data)
        if items is None:
            return reference(args[2], data)
        if not isinstance(items, list):
            raise Refused
        acc = reference(args[2], data)
        for current in items:
            acc = reference(args[1], {"accumulator": acc, "current": current})
        return acc
    values = [reference(a, data) for a in args]
    if op == "===":
        return strict_equals(values[0], values[1])
    if op == "in":
        if not isinstance(values[1], list):
            raise Refused
        return any(strict_equals(values[0], v) for v in values[1])
    if op == "+":
        if not all(is_int(v) for v in values):
            raise Refused
        return values[0] + values[1]
    dates = {"after": ">", "before": "<", "not-after": "<=", "not-before": ">="}
    if op in dates:
        if not all(isinstance(v, datetime) for v in values):
            raise Refused
        op = dates[op]
    elif not all(is_int(v) for v in values):
        raise Refused
    pairs = list(itertools.pairwise(values))
    cmp = {"<": lambda a, b: a < b, ">": lambda a, b: a > b}
    cmp |= {"<=": lambda a, b: a <= b, ">=": lambda a, b: a >= b}
    return all(cmp[op](a, b) for a, b in pairs)


DATES = ["2021-06-01", "2021-06-01T10:00:00Z", "2004", "2004-02", "2020-02-29T23:30:00+01:00"]
PATHS = ["", "a", "b", "a.b", "a.0", "xs", "xs.1", "d", "s"]
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 3),
    st.sampled_from(["", "x", "URN:UVCI:01:NL:187/375", *DATES]),
)
json_data = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(["a", "b", "0", "xs", "d", "s"]), inner, max_size=4)
    ),
    max_leaves=10,
)
literals = st.one_of(st.booleans(), st.integers(-3, 3), st.sampled_from(["", "x", *DATES]))
variables = st.builds(lambda p: {"var": p}, st.sampled_from(PATHS))


def _operations(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    two = st.lists(inner, min_size=2, max_size=2)
    return st.one_of(
        st.builds(lambda a: {"if": a}, st.lists(inner, min_size=3, max_size=3)),
        st.builds(lambda a: {"and": a}, st.lists(inner, min_size=2, max_size=4)),
        st.builds(lambda a: {"!": [a]}, inner),
        st.builds(lambda o, a: {o: a}, st.sampled_from(["===", "in", "+"]), two),
        st.builds(
            lambda o, a: {o: a},
            st.sampled_from(["<", ">", "<=", ">=", "after", "before", "not-after", "not-before"]),
            st.lists(inner, min_size=2, max_size=3),
        ),
        st.builds(
            lambda a, n, u: {"plusTime": [a, n, u]},
            inner,
            st.integers(-400, 400),
            st.sampled_from(["year", "month", "day", "hour"]),
        ),
        st.builds(lambda a: {"dccDateOfBirth": [a]}, inner),
        st.builds(lambda a, i: {"extractFromUVCI": [a, i]}, inner, st.integers(-1, 4)),
        st.builds(lambda a, f, i: {"reduce": [a, f, i]}, inner, inner, inner),
        st.lists(inner, max_size=2),
    )


expressions = st.recursive(literals | variables, _operations, max_leaves=12)


def _outcome(fn: Any) -> tuple[str, Any]:
    try:
        return ("value", fn())
    except (CertLogicError, Refused):
        return ("error", None)


@settings(max_examples=400, deadline=None)
@given(expressions, json_data)
def test_compiled_agrees_with_the_reference_interpreter(expr: Any, data: Any) -> None:
    assert validate(expr) == []
    compiled = compile(expr)
    got = _outcome(lambda: compiled(data))
    want = _outcome(lambda: reference(expr, data))
    assert got[0] == want[0], (got, want)
    if got[0] == "value":
        assert same_json(got[1], want[1]) or got[1] == want[1], (got, want)
        assert _outcome(lambda: compiled(data)) == got or isinstance(got[1], list | dict)


def _exact_outcome(fn: Any, data: Any) -> tuple[str, Any]:
    try:
        return ("value", fn(data))
    except CertLogicError as exc:
        return ("error", exc.code)
    except (TypeError, ValueError, OverflowError, RecursionError):
        return ("error", "CERTLOGIC_EVALUATION_FAILED")  # as compile() translates it


@settings(max_examples=400, deadline=None)
@given(expressions, json_data)
def test_generated_code_agrees_with_the_closures(expr: Any, data: Any) -> None:
    root = build(expr)
    generated = generate(root)
    assert generated is not None
    got = _exact_outcome(generated, data)
    want = _exact_outcome(root.fn, data)
    assert got[0] == want[0] and (got[0] == "error" or same_json(got[1], want[1])), (got, want)
    assert got == want or isinstance(got[1], list | dict | datetime), (got, want)


value_set_items = st.one_of(
    st.sampled_from(["a", "b", "c", "1"]), st.integers(0, 2), st.booleans(), st.none()
)


@settings(max_examples=300, deadline=None)
@given(
    value_set_items,
    st.lists(value_set_items, min_size=14, max_size=24),
    st.booleans(),
)
def test_value_set_lookup_agrees_with_a_plain_scan(x: Any, array: list[Any], strings: bool) -> None:
    if strings:
        array = [str(v) for v in array]
    assert member_of_array(x, array) == member(x, array)
    assert member_of_array(x, array) == any(strict_equals(x, v) for v in array)


garbage = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(allow_nan=True),
        st.text(max_size=5),
        st.sampled_from(["var", "if", "plusTime", "2021-01-01", "a.b", "..", "day"]),
    ),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "var",
                    "if",
                    "and",
                    "!",
                    "===",
                    "in",
                    "+",
                    "<",
                    "after",
                    "plusTime",
                    "reduce",
                    "extractFromUVCI",
                    "dccDateOfBirth",
                    "or",
                    "x",
                ]
            ),
            inner,
            max_size=2,
        )
    ),
    max_leaves=15,
)


@settings(max_examples=400, deadline=None)
@given(garbage, json_data)
def test_garbage_gives_only_certlogic_errors(expr: Any, data: Any) -> None:
    issues = validate(expr)
    try:
        compiled = compile(expr)
    except CertLogicError as exc:
        assert issues and exc.code == issues[0].code
        return
    assert issues == []
    with contextlib.suppress(CertLogicError):
        compiled(data)
