"""Compile a CertLogic expression once into nested Python closures, then run it many times.

``compile`` validates the whole expression first (so an invalid one fails before any data is
seen), then builds one closure per node, specialised at compile time: ``var`` paths are split
once and read with one ``try`` on the happy path; literal sub-trees are folded to constants;
``in`` on a literal array of strings becomes a set lookup; date strings are parsed once per
distinct value (a small per-node cache); operators whose operands are known to be booleans or
date-times skip the runtime type checks.

>>> rule = compile({"and": [
...     {"var": "payload.v.0"}, {"in": [{"var": "payload.v.0.mp"}, ["EU/1/20/1528"]]}]})
>>> rule({"payload": {"v": [{"mp": "EU/1/20/1528"}]}})
True
>>> evaluate({"plusTime": ["2021-06-01", 40, "hour"]}, None).isoformat()
'2021-06-02T16:00:00+00:00'
>>> evaluate({"+": [1, "2"]}, None)  # doctest: +ELLIPSIS
Traceback (most recent call last):
healthcode.core.errors.CertLogicError: CERTLOGIC_NOT_INTEGER: operands of "+" must be integers, ...
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from datetime import datetime
from typing import Any, Final

from healthcode.core.certlogic.dates import add_time, dcc_date_of_birth, plus_time
from healthcode.core.certlogic.validator import check
from healthcode.core.certlogic.values import (
    access,
    boolsiness,
    compile_path,
    extract_from_uvci,
    js_str,
    require_boolsy,
    require_int,
    strict_equals,
)
from healthcode.core.errors import CertLogicError

__all__ = ["Compiled", "compile", "evaluate"]

Fn = Callable[[Any], Any]
#: A compiled expression: call it with the data context.
Compiled = Callable[[Any], Any]

#: Per-node caches of parsed date strings are emptied when they reach this size.
DATE_CACHE_SIZE: Final = 256

# What a node is known to produce, so that its parent can skip checks.
ANY, BOOL, DATE = 0, 1, 2


class _Node:
    """A compiled sub-expression: its closure, what it yields, and its value if constant."""

    __slots__ = ("const", "fn", "kind", "value")

    def __init__(self, fn: Fn, kind: int = ANY, const: bool = False, value: Any = None) -> None:
        self.fn = fn
        self.kind = kind
        self.const = const
        self.value = value


def _constant(value: Any, kind: int = ANY) -> _Node:
    if isinstance(value, list | dict):  # JS makes a new array each time: never share one

        def fresh(_d: Any) -> Any:
            return _deep_copy(value)

        return _Node(fresh, kind, True, value)
    return _Node(lambda _d: value, kind, True, value)


def _deep_copy(value: Any) -> Any:
    if isinstance(value, list):
        return [_deep_copy(v) for v in value]
    if isinstance(value, dict):
        return {k: _deep_copy(v) for k, v in value.items()}
    return value


def _fold(node: _Node, operands: list[_Node]) -> _Node:
    """Evaluate a node whose operands are all constants now; keep it if that fails (an error
    must only happen if and when the node is evaluated)."""
    if not all(o.const for o in operands):
        return node
    try:
        value = node.fn(None)
    except CertLogicError:
        return node
    return _constant(value, node.kind)


def _kind_of(value: Any) -> int:
    return BOOL if type(value) is bool else DATE if type(value) is datetime else ANY


# --- var ---------------------------------------------------------------------------------
#
# A path reader is generated once per path *shape* (which fragments are indices) and then
# bound to the path's keys as closure variables: no key is ever written into source text.
# Its happy path is one type check and one lookup per fragment, with no exception raised for
# missing data; anything unusual (strings, subclasses) goes to the general ``access``.

_READERS: dict[tuple[bool, ...], Callable[..., Fn]] = {}


def _reader_factory(shape: tuple[bool, ...]) -> Callable[..., Fn]:
    factory = _READERS.get(shape)
    if factory is not None:
        return factory
    params = ", ".join(f"k{i}, s{i}" for i in range(len(shape)))
    lines = [f"def make(slow, {params}):", "    def read(d):", "        x = d"]
    for i, is_index in enumerate(shape):
        if is_index:
            lines += [
                "        if type(x) is list:",
                f"            if k{i} >= len(x):",
                "                return None",
                f"            x = x[k{i}]",
                "        elif type(x) is dict:",
                f"            x = x.get(s{i})",
                "        elif x is None:",
                "            return None",
                "        else:",
                "            return slow(d)",
            ]
        else:
            lines += [
                "        if type(x) is dict:",
                f"            x = x.get(k{i})",
                "        elif x is None:",
                "            return None",
                "        else:",
                "            return slow(d)",
            ]
    lines += ["        return x", "    return read"]
    namespace: dict[str, Any] = {}
    exec("\n".join(lines), namespace)
    made: Callable[..., Fn] = namespace["make"]
    factory = made
    _READERS[shape] = factory
    return factory


def _var(path: str) -> _Node:
    if path == "":
        return _Node(lambda d: d)
    frags = compile_path(path)

    def slow(d: Any) -> Any:
        return access(d, frags)

    shape = tuple(index is not None for _, index in frags)
    keys: list[Any] = []
    for key, index in frags:
        keys += [index, key] if index is not None else [key, key]
    return _Node(_reader_factory(shape)(slow, *keys))


# --- if, !, and ------------------------------------------------------------------------


def _if(guard: _Node, then: _Node, else_: _Node) -> _Node:
    kind = then.kind if then.kind == else_.kind else ANY
    if guard.const:
        b = boolsiness(guard.value)
        if b is not None:
            return then if b else else_
    g, t, e = guard.fn, then.fn, else_.fn
    if guard.kind == BOOL:
        if else_.const and not isinstance(else_.value, list | dict):
            ev = else_.value
            return _Node(lambda d: t(d) if g(d) else ev, kind)

        def if_bool(d: Any) -> Any:
            return t(d) if g(d) else e(d)

        return _Node(if_bool, kind)

    if else_.const and not isinstance(else_.value, list | dict):
        ev = else_.value

        def if_any_const_else(d: Any) -> Any:
            v = g(d)
            if v is None or v is False:
                return ev
            tv = type(v)
            if tv is dict or tv is list or tv is str or tv is bool:
                return t(d) if v else ev
            return t(d) if require_boolsy(v, "if-guard") else ev

        return _Node(if_any_const_else, kind)

    def if_any(d: Any) -> Any:
        v = g(d)
        if v is None:
            return e(d)
        tv = type(v)
        if tv is dict or tv is list or tv is str or tv is bool:
            return t(d) if v else e(d)
        return t(d) if require_boolsy(v, "if-guard") else e(d)

    return _Node(if_any, kind)


def _not(operand: _Node) -> _Node:
    f = operand.fn
    if operand.kind == BOOL:
        node = _Node(lambda d: not f(d), BOOL)
    else:
        node = _Node(lambda d: not require_boolsy(f(d), "operand of !"), BOOL)
    return _fold(node, [operand])


def _and(operands: list[_Node]) -> _Node:
    fns = [o.fn for o in operands]
    if all(o.kind == BOOL for o in operands):
        if len(fns) == 2:
            a, b = fns
            node = _Node(lambda d: a(d) and b(d), BOOL)
        elif len(fns) == 3:
            a, b, c = fns
            node = _Node(lambda d: a(d) and b(d) and c(d), BOOL)
        else:

            def and_bools(d: Any) -> Any:
                return all(f(d) for f in fns)

            node = _Node(and_bools, BOOL)
        return _fold(node, operands)

    kind = BOOL if all(o.kind == BOOL for o in operands) else ANY

    def and_any(d: Any) -> Any:
        value: Any = True
        for f in fns:
            value = f(d)
            if value is None or value is False:
                return value
            if value is True:
                continue
            if not require_boolsy(value, 'an operand of "and"'):
                return value
        return value

    return _fold(_Node(and_any, kind), operands)


# --- ===, in, + -----------------------------------------------------------------------


def _equals(left: _Node, right: _Node) -> _Node:
    if right.const and not left.const:
        left, right = right, left
    a, b = left.fn, right.fn
    if left.const and type(left.value) is str:
        c = left.value
        node = _Node(lambda d: b(d) == c, BOOL)
    elif left.const and type(left.value) is int:
        ci = left.value

        def eq_int(d: Any) -> bool:
            x = b(d)
            return x == ci and type(x) is not bool

        node = _Node(eq_int, BOOL)
    elif left.const and type(left.value) is bool:
        cb = left.value
        node = _Node(lambda d: b(d) is cb, BOOL)
    else:
        node = _Node(lambda d: strict_equals(a(d), b(d)), BOOL)
    return _fold(node, [left, right])


def _in(item: _Node, array: _Node) -> _Node:
    a = item.fn
    if array.const and type(array.value) is list:
        values = array.value
        if all(type(v) is str for v in values):
            strings = frozenset(values)

            def in_strings(d: Any) -> bool:
                x = a(d)
                return type(x) is str and x in strings

            return _fold(_Node(in_strings, BOOL), [item, array])

        def in_const(d: Any) -> bool:
            return _member(a(d), values)

        return _fold(_Node(in_const, BOOL), [item, array])
    b = array.fn

    def in_any(d: Any) -> bool:
        x = a(d)
        r = b(d)
        if type(r) is not list and not isinstance(r, list):
            raise CertLogicError(
                "CERTLOGIC_NOT_AN_ARRAY",
                f'right-hand side of an "in" operation must be an array, got {js_str(r)}',
            )
        return _member(x, r)

    return _fold(_Node(in_any, BOOL), [item, array])


def _member(x: Any, values: list[Any]) -> bool:
    t = type(x)
    if t is str or x is None:
        return x in values
    return any(strict_equals(x, v) for v in values)


def _plus(left: _Node, right: _Node) -> _Node:
    a, b = left.fn, right.fn

    def plus(d: Any) -> Any:
        x = a(d)
        y = b(d)
        if type(x) is int and type(y) is int:
            return x + y
        require_int(x, 'operands of "+"')
        require_int(y, 'operands of "+"')
        return x + y

    return _fold(_Node(plus), [left, right])


# --- comparisons -----------------------------------------------------------------------

_CMP: Final[dict[str, Callable[[Any, Any], Any]]] = {
    "<": operator.lt,
    ">": operator.gt,
    "<=": operator.le,
    ">=": operator.ge,
}
_DATE_CMP: Final = {"before": "<", "after": ">", "not-after": "<=", "not-before": ">="}


def _ints(values: tuple[Any, ...], op: str) -> None:
    for v in values:
        require_int(v, f'all operands of "{op}"')


def _dates(values: tuple[Any, ...], op: str) -> None:
    for v in values:
        if not isinstance(v, datetime):
            raise CertLogicError(
                "CERTLOGIC_NOT_DATETIME",
                f'all operands of "{op}" must be date-times, got {js_str(v)}',
            )
        if v.tzinfo is None:
            raise CertLogicError(
                "CERTLOGIC_NOT_DATETIME", f'operands of "{op}" must be aware date-times'
            )


def _compare(op: str, operands: list[_Node]) -> _Node:
    is_date = op in _DATE_CMP
    py_op = _DATE_CMP.get(op, op)
    cmp = _CMP[py_op]
    fns = [o.fn for o in operands]
    trusted = all(o.kind == DATE for o in operands) if is_date else False
    check_types = _dates if is_date else _ints
    exact = datetime if is_date else int
    if len(fns) == 2:
        a, b = fns
        if trusted:
            node = _Node(lambda d: cmp(a(d), b(d)), BOOL)
        else:

            def cmp2(d: Any) -> Any:
                x = a(d)
                y = b(d)
                if type(x) is not exact or type(y) is not exact:
                    check_types((x, y), op)
                return cmp(x, y)

            node = _Node(cmp2, BOOL)
    else:
        a, b, c = fns

        def cmp3(d: Any) -> Any:
            x = a(d)
            y = b(d)
            z = c(d)
            if not trusted and (
                type(x) is not exact or type(y) is not exact or type(z) is not exact
            ):
                check_types((x, y, z), op)
            return cmp(x, y) and cmp(y, z)

        node = _Node(cmp3, BOOL)
    return _fold(node, operands)


# --- dates -----------------------------------------------------------------------------


def _cached_date(operand: _Node, convert: Callable[[str], datetime], what: str) -> _Node:
    if operand.const and type(operand.value) is str:
        try:
            return _constant(convert(operand.value), DATE)
        except CertLogicError:
            pass  # fails when (and if) evaluated
    f = operand.fn
    cache: dict[Any, datetime] = {}

    def date_of(d: Any) -> datetime:
        s = f(d)
        try:
            return cache[s]
        except (KeyError, TypeError):
            pass
        if type(s) is not str:
            raise CertLogicError(
                "CERTLOGIC_NOT_STRING", f"{what} must be a string, got {js_str(s)}"
            )
        result = convert(s)
        if len(cache) >= DATE_CACHE_SIZE:
            cache.clear()
        cache[s] = result
        return result

    return _Node(date_of, DATE)


def _plus_time(operand: _Node, amount: int, unit: str) -> _Node:
    if amount == 0:
        return _cached_date(operand, lambda s: plus_time(s, 0, unit), 'date argument of "plusTime"')
    return _cached_date(
        operand,
        lambda s: add_time(plus_time(s, 0, unit), amount, unit),
        'date argument of "plusTime"',
    )


# --- reduce, extractFromUVCI -------------------------------------------------------------


def _reduce(operand: _Node, lam: _Node, initial: _Node) -> _Node:
    o, f, i = operand.fn, lam.fn, initial.fn

    def reduce_(d: Any) -> Any:
        items = o(d)
        if items is None:
            return i(d)
        if not isinstance(items, list):
            raise CertLogicError(
                "CERTLOGIC_NOT_AN_ARRAY",
                f"operand of reduce evaluated to a non-null non-array: {js_str(items)}",
            )
        acc = i(d)
        for current in items:
            acc = f({"accumulator": acc, "current": current})
        return acc

    return _fold(_Node(reduce_), [operand, lam, initial])


def _extract(operand: _Node, index: int) -> _Node:
    f = operand.fn

    def extract(d: Any) -> str | None:
        s = f(d)
        if s is not None and type(s) is not str and not isinstance(s, str):
            raise CertLogicError(
                "CERTLOGIC_NOT_STRING",
                f'"UVCI" argument (#1) of "extractFromUVCI" must be either a string or null, '
                f"got {js_str(s)}",
            )
        return extract_from_uvci(s, index)

    return _fold(_Node(extract), [operand])


# --- the compiler ------------------------------------------------------------------------


def _int_literal(value: Any) -> int:
    return int(value)


def _build(expr: Any) -> _Node:
    t = type(expr)
    if t is str or t is bool or t is int:
        return _constant(expr, _kind_of(expr))
    if t is float:  # validated: an integral float, which JS would call an integer
        return _constant(int(expr))
    if t is list:
        items = [_build(e) for e in expr]
        if all(i.const for i in items):
            return _constant([i.value for i in items])
        fns = [i.fn for i in items]
        return _Node(lambda d: [f(d) for f in fns])
    ((op, values),) = expr.items()
    if op == "var":
        return _var(values)
    if op == "if":
        return _if(_build(values[0]), _build(values[1]), _build(values[2]))
    if op == "plusTime":
        return _plus_time(_build(values[0]), _int_literal(values[1]), values[2])
    if op == "dccDateOfBirth":
        return _cached_date(_build(values[0]), dcc_date_of_birth, 'operand of "dccDateOfBirth"')
    if op == "extractFromUVCI":
        return _extract(_build(values[0]), _int_literal(values[1]))
    operands = [_build(v) for v in values]
    if op == "and":
        return _and(operands)
    if op == "!":
        return _not(operands[0])
    if op == "===":
        return _equals(operands[0], operands[1])
    if op == "in":
        return _in(operands[0], operands[1])
    if op == "+":
        return _plus(operands[0], operands[1])
    if op == "reduce":
        return _reduce(operands[0], operands[1], operands[2])
    return _compare(op, operands)


def compile(expr: Any) -> Compiled:
    """Compile ``expr`` once; the result evaluates it on a data context.

    The compiled function raises :class:`CertLogicError` when evaluation fails (an operand of
    the wrong type, a date string that cannot be parsed, a value neither truthy nor falsy);
    any other failure inside it is translated to ``CERTLOGIC_EVALUATION_FAILED``.

    Raises:
        CertLogicError: if ``expr`` is not a valid CertLogic expression (the code of the first
            issue that :func:`healthcode.core.certlogic.validate` reports).
    """
    check(expr)
    fn = _build(expr).fn

    def run(data: Any) -> Any:
        try:
            return fn(data)
        except CertLogicError:
            raise
        except (TypeError, ValueError, OverflowError, RecursionError) as exc:
            raise CertLogicError("CERTLOGIC_EVALUATION_FAILED", str(exc)) from exc

    return run


#: ``evaluate`` keeps this many compiled expressions, keyed by their ``repr`` (which tells
#: ``1`` from ``True`` and ``1.0``, and lists from tuples).
EVALUATE_CACHE_SIZE: Final = 512
_evaluate_cache: dict[str, Compiled] = {}


def evaluate(expr: Any, data: Any) -> Any:
    """Evaluate ``expr`` on ``data``. The compiled form of the last few hundred expressions is
    kept, so a loop over ``evaluate`` does not compile each time; :func:`compile` is still the
    way to hold on to a rule.

    Raises:
        CertLogicError: if ``expr`` is invalid or its evaluation fails.
    """
    key = repr(expr)
    fn = _evaluate_cache.get(key)
    if fn is None:
        fn = compile(expr)
        if len(_evaluate_cache) >= EVALUATE_CACHE_SIZE:
            _evaluate_cache.clear()
        _evaluate_cache[key] = fn
    return fn(data)
