"""The reference compiled evaluator of CertLogic: one closure per node of the expression.

:func:`build` turns a validated expression into a :class:`~.nodes.Node` tree: each node's
closure computes its value from the data context by calling its operands' closures, with the
checks of the spec. Sub-trees of constants are folded at compile time; each node remembers what
it is known to yield (a boolean, a date-time), and a node that may be inlined carries a writer
for :mod:`.codegen`, which turns the tree into one generated function. Date-times made from
strings (or aware date-times from the data) are kept per node (a bounded cache of the last
distinct values), because a rule reads the same few dates on every evaluation.

>>> build({"+": [{"var": "a"}, 2]}).fn({"a": 1})
3
"""

from __future__ import annotations

import functools
import itertools
import operator
from collections.abc import Callable
from datetime import datetime
from typing import Any, Final

from healthcode.core.certlogic import codegen
from healthcode.core.certlogic.dates import add_time, dcc_date_of_birth, instant_of, plus_time
from healthcode.core.certlogic.nodes import ANY, BOOL, DATE, Node, constant, fold, kind_of
from healthcode.core.certlogic.value_sets import member_of_array
from healthcode.core.certlogic.values import (
    access,
    boolsiness,
    compile_path,
    extract_from_uvci,
    js_str,
    member,
    require_boolsy,
    require_int,
    strict_equals,
)
from healthcode.core.error_codes import ErrorCode
from healthcode.core.errors import CertLogicError

__all__ = ["DATE_CACHE_SIZE", "build"]

#: How many distinct date strings each date node keeps.
DATE_CACHE_SIZE: Final = 256
#: A ``var`` path is inlined by the generated code when it has at most this many fragments
#: and two array indices (each index doubles the inlined code).
_INLINE_FRAGMENTS: Final = 12

_COMPARE: Final[dict[str, Callable[[Any, Any], Any]]] = {
    "<": operator.lt,
    ">": operator.gt,
    "<=": operator.le,
    ">=": operator.ge,
    "before": operator.lt,
    "after": operator.gt,
    "not-after": operator.le,
    "not-before": operator.ge,
}
_DATE_COMPARE: Final = frozenset({"before", "after", "not-after", "not-before"})


def build(expr: Any) -> Node:
    """The node tree of a validated expression (see :func:`~.validator.check`)."""
    t = type(expr)
    if t is str or t is bool or t is int:
        return constant(expr, kind_of(expr))
    if t is float:  # validated: an integral float, which JS would call an integer
        return constant(int(expr))
    if t is list:
        return _array([build(e) for e in expr])
    ((op, values),) = expr.items()
    if op == "var":
        return _var(values)
    if op == "plusTime":
        return _plus_time(build(values[0]), int(values[1]), values[2])
    if op == "dccDateOfBirth":
        return _date(build(values[0]), dcc_date_of_birth, 'operand of "dccDateOfBirth"')
    if op == "extractFromUVCI":
        return _extract(build(values[0]), int(values[1]))
    return _BUILDERS.get(op, _compare_builder(op))(*[build(v) for v in values])


def _compare_builder(op: str) -> Callable[..., Node]:
    return lambda *operands: _compare(op, list(operands))


def _array(items: list[Node]) -> Node:
    if all(i.const for i in items):
        return constant([i.value for i in items])
    fns = [i.fn for i in items]
    return Node(lambda d: [f(d) for f in fns], gen=codegen.array_gen(items))


def _var(path: str) -> Node:
    frags = compile_path(path)

    def read(d: Any) -> Any:
        return access(d, frags)

    indices = sum(index is not None for _, index in frags)
    inline = len(frags) <= _INLINE_FRAGMENTS and indices <= 2
    return Node(read, gen=codegen.var_gen(frags, read) if inline else None, is_var=True)


def _if(guard: Node, then: Node, else_: Node) -> Node:
    if guard.const:
        b = boolsiness(guard.value)
        if b is not None:
            return then if b else else_
    g, t, e = guard.fn, then.fn, else_.fn

    def if_(d: Any) -> Any:
        return t(d) if require_boolsy(g(d), "if-guard") else e(d)

    kind = then.kind if then.kind == else_.kind else ANY
    return Node(if_, kind, gen=codegen.if_gen(guard, then, else_))


def _not(operand: Node) -> Node:
    f = operand.fn
    node = Node(
        lambda d: not require_boolsy(f(d), "operand of !"), BOOL, gen=codegen.not_gen(operand)
    )
    return fold(node, [operand])


def _and(*operands: Node) -> Node:
    fns = [o.fn for o in operands]

    def and_(d: Any) -> Any:
        value: Any = True
        for f in fns:
            value = f(d)
            if not require_boolsy(value, 'an operand of "and"'):
                return value
        return value

    kind = BOOL if all(o.kind == BOOL for o in operands) else ANY
    gen = codegen.and_gen(list(operands)) if operands else None
    return fold(Node(and_, kind, gen=gen), list(operands))


def _equals(left: Node, right: Node) -> Node:
    if right.const and not left.const:  # the generated code compares with a constant inline
        left, right = right, left
    a, b = left.fn, right.fn
    node = Node(lambda d: strict_equals(a(d), b(d)), BOOL, gen=codegen.equals_gen(left, right))
    return fold(node, [left, right])


def _in(item: Node, array: Node) -> Node:
    a, b = item.fn, array.fn
    if array.const and type(array.value) is list:
        values = array.value
        node = Node(lambda d: member(a(d), values), BOOL)
    else:
        node = Node(lambda d: member_of_array(a(d), b(d)), BOOL)
    node.gen = codegen.in_gen(item, array)
    return fold(node, [item, array])


def _plus(left: Node, right: Node) -> Node:
    a, b = left.fn, right.fn

    def plus(d: Any) -> Any:
        return _check_plus(a(d), b(d))

    return fold(Node(plus, gen=codegen.plus_gen(left, right, _check_plus)), [left, right])


def _check_plus(x: Any, y: Any) -> Any:
    return require_int(x, 'operands of "+"') + require_int(y, 'operands of "+"')


def _check_ints(values: tuple[Any, ...], op: str) -> None:
    for v in values:
        require_int(v, f'all operands of "{op}"')


def _check_dates(values: tuple[Any, ...], op: str) -> None:
    for v in values:
        if not isinstance(v, datetime):
            raise CertLogicError(
                ErrorCode.CERTLOGIC_NOT_DATETIME,
                f'all operands of "{op}" must be date-times, got {js_str(v)}',
            )
        if v.tzinfo is None:
            raise CertLogicError(
                ErrorCode.CERTLOGIC_NOT_DATETIME, f'operands of "{op}" must be aware date-times'
            )


def _compare(op: str, operands: list[Node]) -> Node:
    fns = [o.fn for o in operands]
    cmp = _COMPARE[op]
    check_types = _check_dates if op in _DATE_COMPARE else _check_ints

    def compare(d: Any) -> bool:
        values = tuple(f(d) for f in fns)
        check_types(values, op)
        return all(cmp(x, y) for x, y in itertools.pairwise(values))

    trusted = op in _DATE_COMPARE and all(o.kind == DATE for o in operands)
    node = fold(Node(compare, BOOL), operands)
    if not node.const:
        node.gen = codegen.compare_gen(op, operands, trusted, check_types)
    return node


def _date(
    operand: Node,
    convert: Callable[[str], datetime],
    what: str,
    from_data: Callable[[datetime], datetime] | None = None,
) -> Node:
    """A date-time made from a string (``convert``), kept per distinct string. With
    ``from_data``, an operand that is a ``var`` may also give an aware ``datetime``."""
    if operand.const and type(operand.value) is str:
        try:
            return constant(convert(operand.value), DATE)
        except CertLogicError:
            pass  # fails when (and if) evaluated
    f = operand.fn
    cached = functools.lru_cache(maxsize=DATE_CACHE_SIZE)(convert)
    accept = (
        functools.lru_cache(maxsize=DATE_CACHE_SIZE)(from_data)
        if from_data and operand.is_var
        else None
    )

    def date_of_value(s: Any) -> datetime:
        if type(s) is str:
            return cached(s)
        if accept is not None and isinstance(s, datetime):
            return accept(s)
        raise CertLogicError(
            ErrorCode.CERTLOGIC_NOT_STRING, f"{what} must be a string, got {js_str(s)}"
        )

    gen = codegen.date_gen(operand, cached, date_of_value)
    return Node(lambda d: date_of_value(f(d)), DATE, gen=gen)


def _plus_time(operand: Node, amount: int, unit: str) -> Node:
    def from_data(dt: datetime) -> datetime:
        return add_time(instant_of(dt), amount, unit)

    def from_text(s: str) -> datetime:
        return plus_time(s, amount, unit)

    return _date(operand, from_text, 'date argument of "plusTime"', from_data)


def _reduce(operand: Node, lam: Node, initial: Node) -> Node:
    o, f, i = operand.fn, lam.fn, initial.fn

    def reduce_(d: Any) -> Any:
        items = o(d)
        if items is None:
            return i(d)
        _check_array(items)
        acc = i(d)
        for current in items:
            acc = f({"accumulator": acc, "current": current})
        return acc

    gen = codegen.reduce_gen(operand, lam, initial, _check_array)
    return fold(Node(reduce_, gen=gen), [operand, lam, initial])


def _check_array(items: Any) -> None:
    if not isinstance(items, list):
        raise CertLogicError(
            ErrorCode.CERTLOGIC_NOT_AN_ARRAY,
            f"operand of reduce evaluated to a non-null non-array: {js_str(items)}",
        )


def _extract(operand: Node, index: int) -> Node:
    f = operand.fn

    def extract(d: Any) -> str | None:
        s = f(d)
        if s is not None and not isinstance(s, str):
            raise CertLogicError(
                ErrorCode.CERTLOGIC_NOT_STRING,
                f'"UVCI" argument (#1) of "extractFromUVCI" must be either a string or null, '
                f"got {js_str(s)}",
            )
        return extract_from_uvci(s, index)

    return fold(Node(extract), [operand])


_BUILDERS: Final[dict[str, Callable[..., Node]]] = {
    "if": _if,
    "and": _and,
    "!": _not,
    "===": _equals,
    "in": _in,
    "+": _plus,
    "reduce": _reduce,
}
