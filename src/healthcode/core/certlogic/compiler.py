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

import itertools
import operator
from collections.abc import Callable
from datetime import datetime
from typing import Any, Final

from healthcode.core.certlogic.dates import add_time, dcc_date_of_birth, instant_of, plus_time
from healthcode.core.certlogic.validator import check
from healthcode.core.certlogic.values import (
    Fragment,
    access,
    boolsiness,
    compile_path,
    extract_from_uvci,
    js_str,
    require_boolsy,
    require_int,
    strict_equals,
)
from healthcode.core.error_codes import ErrorCode
from healthcode.core.errors import CertLogicError

__all__ = ["Compiled", "compile", "evaluate"]

Fn = Callable[[Any], Any]
#: A compiled expression: call it with the data context.
Compiled = Callable[[Any], Any]

#: Per-node caches of parsed date strings are emptied when they reach this size.
DATE_CACHE_SIZE: Final = 256

# What a node is known to produce, so that its parent can skip checks.
ANY, BOOL, DATE = 0, 1, 2


#: Writes the statements that compute a node into a local: (writer, target name, indent).
Gen = Callable[["_Writer", str, int], None]


class _Node:
    """A compiled sub-expression: its closure, what it yields, its value if constant, and how
    to inline it into a generated function (``gen``, when it can be inlined)."""

    __slots__ = ("const", "fn", "gen", "is_var", "kind", "value")

    def __init__(
        self,
        fn: Fn,
        kind: int = ANY,
        const: bool = False,
        value: Any = None,
        gen: Gen | None = None,
    ) -> None:
        self.fn = fn
        self.kind = kind
        self.const = const
        self.value = value
        self.gen = gen
        self.is_var = False


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
        node = _Node(lambda d: d, gen=lambda w, target, indent: w.line(indent, f"{target} = d"))
        node.is_var = True
        return node
    frags = compile_path(path)

    def slow(d: Any) -> Any:
        return access(d, frags)

    shape = tuple(index is not None for _, index in frags)
    keys: list[Any] = []
    for key, index in frags:
        keys += [index, key] if index is not None else [key, key]
    inline = len(frags) <= 12 and sum(shape) <= 2  # each index doubles the inlined code
    node = _Node(_reader_factory(shape)(slow, *keys), gen=_var_gen(frags, slow) if inline else None)
    node.is_var = True
    return node


def _var_gen(frags: tuple[Fragment, ...], slow: Fn) -> Gen:
    """The reader above, inlined: the same steps, nested instead of returning early."""

    def gen(w: _Writer, target: str, indent: int) -> None:
        slow_name = w.bind(slow)
        w.line(indent, f"{target} = d")

        def level(i: int, ind: int) -> None:
            if i == len(frags):
                return
            key, index = frags[i]
            w.line(ind, f"if type({target}) is dict:")
            w.line(ind + 1, f"{target} = {target}.get({w.bind(key)})")
            level(i + 1, ind + 1)
            if index is not None:
                w.line(ind, f"elif type({target}) is list:")
                w.line(
                    ind + 1,
                    f"{target} = {target}[{index:d}] if {index:d} < len({target}) else None",
                )
                level(i + 1, ind + 1)
            w.line(ind, f"elif {target} is not None:")
            w.line(ind + 1, f"{target} = {slow_name}(d)")

        level(0, indent)

    return gen


# --- if, !, and ------------------------------------------------------------------------


def _if(guard: _Node, then: _Node, else_: _Node) -> _Node:
    node = _if_closure(guard, then, else_)
    if node is not then and node is not else_:
        node.gen = _if_gen(guard, then, else_)
    return node


def _if_gen(guard: _Node, then: _Node, else_: _Node) -> Gen:
    def gen(w: _Writer, target: str, indent: int) -> None:
        g = w.tmp()
        w.emit(guard, g, indent)
        w.line(indent, f"if {g if guard.kind == BOOL else w.truth(g, 'if-guard')}:")
        w.emit(then, target, indent + 1)
        w.line(indent, "else:")
        w.emit(else_, target, indent + 1)

    return gen


def _if_closure(guard: _Node, then: _Node, else_: _Node) -> _Node:
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

    def gen(w: _Writer, target: str, indent: int) -> None:
        v = w.tmp()
        w.emit(operand, v, indent)
        if operand.kind == BOOL:
            w.line(indent, f"{target} = not {v}")
        else:
            check = w.bind(require_boolsy)
            w.line(indent, f"{target} = not {check}({v}, {w.bind('operand of !')})")

    node.gen = gen
    return _fold(node, [operand])


def _and(operands: list[_Node]) -> _Node:
    node = _and_closure(operands)
    if not node.const and operands:
        node.gen = _and_gen(operands)
    return node


def _and_gen(operands: list[_Node]) -> Gen:
    bools = all(o.kind == BOOL for o in operands)

    def gen(w: _Writer, target: str, indent: int) -> None:
        ind = indent
        for i, operand in enumerate(operands):
            w.emit(operand, target, ind)
            cond = target if bools else w.truth(target, 'an operand of "and"')
            if i < len(operands) - 1:
                w.line(ind, f"if {cond}:")
                ind += 1
            elif not bools:  # the last value is returned, but it must be truthy or falsy
                w.line(ind, cond)

    return gen


def _and_closure(operands: list[_Node]) -> _Node:
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
    node.gen = _equals_gen(left, right)
    return _fold(node, [left, right])


def _equals_gen(left: _Node, right: _Node) -> Gen:
    def gen(w: _Writer, target: str, indent: int) -> None:
        y = w.tmp()
        if left.const and type(left.value) in (str, int, bool):
            w.emit(right, y, indent)
            c = w.bind(left.value)
            if type(left.value) is str:
                w.line(indent, f"{target} = {y} == {c}")
            elif type(left.value) is int:
                w.line(indent, f"{target} = {y} == {c} and type({y}) is not bool")
            else:
                w.line(indent, f"{target} = {y} is {c}")
            return
        x = w.tmp()
        w.emit(left, x, indent)
        w.emit(right, y, indent)
        w.line(indent, f"{target} = {w.bind(strict_equals)}({x}, {y})")

    return gen


def _in(item: _Node, array: _Node) -> _Node:
    a = item.fn
    if array.const and type(array.value) is list:
        values = array.value
        if all(type(v) is str for v in values):
            strings = frozenset(values)

            def in_strings(d: Any) -> bool:
                x = a(d)
                return type(x) is str and x in strings

            def gen_strings(w: _Writer, target: str, indent: int) -> None:
                v = w.tmp()
                w.emit(item, v, indent)
                w.line(indent, f"{target} = type({v}) is str and {v} in {w.bind(strings)}")

            return _fold(_Node(in_strings, BOOL, gen=gen_strings), [item, array])

        def in_const(d: Any) -> bool:
            return _member(a(d), values)

        def gen_const(w: _Writer, target: str, indent: int) -> None:
            v = w.tmp()
            w.emit(item, v, indent)
            w.line(indent, f"{target} = {w.bind(_member)}({v}, {w.bind(values)})")

        return _fold(_Node(in_const, BOOL, gen=gen_const), [item, array])
    b = array.fn

    def in_any(d: Any) -> bool:
        return _member_of_array(a(d), b(d))

    def gen_any(w: _Writer, target: str, indent: int) -> None:
        x, r = w.tmp(), w.tmp()
        w.emit(item, x, indent)
        w.emit(array, r, indent)
        w.line(indent, f"{target} = {w.bind(_member_of_array)}({x}, {r})")

    return _fold(_Node(in_any, BOOL, gen=gen_any), [item, array])


#: ``in`` against an array from the data (a value set): when the item is a string and the
#: array has at least this many elements, it is looked up in a set of the array's strings,
#: built once per array and reused while the array still equals a snapshot of it (one pointer
#: comparison per element instead of one string comparison).
VALUE_SET_MIN: Final = 16
#: At most this many arrays are kept (the cache is emptied when it is full).
VALUE_SET_CACHE_SIZE: Final = 64
_value_sets: dict[int, tuple[list[Any], list[Any], frozenset[str] | None]] = {}


def _member_of_array(x: Any, r: Any) -> bool:
    if type(r) is not list and not isinstance(r, list):
        raise CertLogicError(
            ErrorCode.CERTLOGIC_NOT_AN_ARRAY,
            f'right-hand side of an "in" operation must be an array, got {js_str(r)}',
        )
    if type(x) is not str or len(r) < VALUE_SET_MIN:
        return _member(x, r)
    entry = _value_sets.get(id(r))
    if entry is None or entry[0] is not r or entry[1] != r:
        strings = frozenset(r) if all(type(v) is str for v in r) else None
        entry = (r, list(r), strings)
        if len(_value_sets) >= VALUE_SET_CACHE_SIZE:
            _value_sets.clear()
        _value_sets[id(r)] = entry
    strings = entry[2]
    return x in r if strings is None else x in strings


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
                ErrorCode.CERTLOGIC_NOT_DATETIME,
                f'all operands of "{op}" must be date-times, got {js_str(v)}',
            )
        if v.tzinfo is None:
            raise CertLogicError(
                ErrorCode.CERTLOGIC_NOT_DATETIME, f'operands of "{op}" must be aware date-times'
            )


def naive(*values: Any) -> bool:
    """Whether any of these date-times (from the data) has no time zone."""
    return any(v.tzinfo is None for v in values)


def _compare(op: str, operands: list[_Node]) -> _Node:
    is_date = op in _DATE_CMP
    py_op = _DATE_CMP.get(op, op)
    trusted = all(o.kind == DATE for o in operands) if is_date else False
    check_types = _dates if is_date else _ints
    exact = datetime if is_date else int
    node = _compare_closure(op, operands, trusted)

    def gen(w: _Writer, target: str, indent: int) -> None:
        names = [w.tmp() for _ in operands]
        for operand, name in zip(operands, names, strict=True):
            w.emit(operand, name, indent)
        if not trusted:
            ex = w.bind(exact)
            odd = " or ".join(
                f"type({n}) is not {ex}" + (f" or {n}.tzinfo is None" if is_date else "")
                for n in names
            )
            w.line(indent, f"if {odd}:")
            w.line(indent + 1, f"{w.bind(check_types)}(({', '.join(names)},), {w.bind(op)})")
        sym = _SYMBOLS[py_op]
        pairs = [f"{x} {sym} {y}" for x, y in itertools.pairwise(names)]
        w.line(indent, f"{target} = {' and '.join(pairs)}")

    if not node.const:
        node.gen = gen
    return node


_SYMBOLS: Final = {"<": "<", ">": ">", "<=": "<=", ">=": ">="}


def _compare_closure(op: str, operands: list[_Node], trusted: bool) -> _Node:
    is_date = op in _DATE_CMP
    py_op = _DATE_CMP.get(op, op)
    cmp = _CMP[py_op]
    fns = [o.fn for o in operands]
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
                if type(x) is not exact or type(y) is not exact or (is_date and naive(x, y)):
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
                type(x) is not exact
                or type(y) is not exact
                or type(z) is not exact
                or (is_date and naive(x, y, z))
            ):
                check_types((x, y, z), op)
            return cmp(x, y) and cmp(y, z)

        node = _Node(cmp3, BOOL)
    return _fold(node, operands)


# --- dates -----------------------------------------------------------------------------


def _cached_date(
    operand: _Node,
    convert: Callable[[str], datetime],
    what: str,
    from_data: Callable[[datetime], datetime] | None = None,
) -> _Node:
    """A date-time made from a string (``convert``), cached per distinct value. With
    ``from_data``, an operand that is a ``var`` may also give an aware ``datetime``."""
    if operand.const and type(operand.value) is str:
        try:
            return _constant(convert(operand.value), DATE)
        except CertLogicError:
            pass  # fails when (and if) evaluated
    f = operand.fn
    cache: dict[Any, datetime] = {}
    accept = from_data if operand.is_var else None

    def date_of_value(s: Any) -> datetime:
        try:
            return cache[s]
        except (KeyError, TypeError):
            pass
        if type(s) is str:
            result = convert(s)
        elif accept is not None and isinstance(s, datetime):
            result = accept(s)
        else:
            raise CertLogicError(
                ErrorCode.CERTLOGIC_NOT_STRING, f"{what} must be a string, got {js_str(s)}"
            )
        if len(cache) >= DATE_CACHE_SIZE:
            cache.clear()
        cache[s] = result
        return result

    def date_of(d: Any) -> datetime:
        return date_of_value(f(d))

    def gen(w: _Writer, target: str, indent: int) -> None:
        s = w.tmp()
        w.emit(operand, s, indent)
        slow = w.bind(date_of_value)
        w.line(indent, f"if type({s}) is str:")
        w.line(indent + 1, f"{target} = {w.bind(cache)}.get({s})")
        w.line(indent + 1, f"if {target} is None:")
        w.line(indent + 2, f"{target} = {slow}({s})")
        w.line(indent, "else:")
        w.line(indent + 1, f"{target} = {slow}({s})")

    return _Node(date_of, DATE, gen=gen)


def _plus_time(operand: _Node, amount: int, unit: str) -> _Node:
    what = 'date argument of "plusTime"'

    def from_data(dt: datetime) -> datetime:
        return add_time(instant_of(dt), amount, unit)

    if amount == 0:
        return _cached_date(operand, lambda s: plus_time(s, 0, unit), what, from_data)
    return _cached_date(
        operand, lambda s: add_time(plus_time(s, 0, unit), amount, unit), what, from_data
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
                ErrorCode.CERTLOGIC_NOT_AN_ARRAY,
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
                ErrorCode.CERTLOGIC_NOT_STRING,
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
    root = _build(expr)
    generated = _generate(root)
    if generated is not None:
        return generated
    fn = root.fn

    def run(data: Any) -> Any:
        try:
            return fn(data)
        except CertLogicError:
            raise
        except (TypeError, ValueError, OverflowError, RecursionError) as exc:
            raise CertLogicError(ErrorCode.CERTLOGIC_EVALUATION_FAILED, str(exc)) from exc

    return run


# --- code generation ---------------------------------------------------------------------
#
# The closures above are then inlined into one generated function per expression: each node
# that has a ``gen`` writes the statements computing its value into a local variable, with the
# same checks as its closure; any other node (reduce, +, extractFromUVCI, array literals,
# sub-trees too deep to inline) is called as its closure. Every value (keys, constants,
# helpers) is a closure variable of the generated function: no data is written into source
# text. Errors are translated once, in the generated function.

#: Sub-trees below this indentation are called as closures (CPython's parser allows 100).
MAX_INDENT: Final = 40
#: Beyond this many lines, the remaining sub-trees are called as closures.
MAX_LINES: Final = 5000

_SIZED: Final = frozenset({dict, list, str})


class _Writer:
    """Collects the source of one generated function and the values it refers to."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}
        self.lines: list[str] = []
        self.count = 0

    def bind(self, value: Any) -> str:
        """A name for ``value`` in the generated function."""
        self.count += 1
        name = f"c{self.count}"
        self.values[name] = value
        return name

    def tmp(self) -> str:
        """A new local variable."""
        self.count += 1
        return f"t{self.count}"

    def line(self, indent: int, text: str) -> None:
        self.lines.append("    " * indent + text)

    def emit(self, node: _Node, target: str, indent: int) -> None:
        """Statements that store the value of ``node`` in local ``target``."""
        if node.const and not isinstance(node.value, list | dict):
            self.line(indent, f"{target} = {self.bind(node.value)}")
        elif node.gen is not None and indent < MAX_INDENT and len(self.lines) < MAX_LINES:
            node.gen(self, target, indent)
        else:
            self.line(indent, f"{target} = {self.bind(node.fn)}(d)")

    def truth(self, v: str, where: str) -> str:
        """A condition: the boolsiness of local ``v``, raising as ``require_boolsy`` does."""
        sized, check = self.bind(_SIZED), self.bind(require_boolsy)
        return (
            f"({v} is True or ({v} is not None and {v} is not False and "
            f"(len({v}) > 0 if type({v}) in {sized} else {check}({v}, {self.bind(where)}))))"
        )


def _generate(root: _Node) -> Compiled | None:
    """One function computing ``root``; ``None`` if it cannot be generated."""
    w = _Writer()
    w.emit(root, "result", 3)
    error, failed = w.bind(CertLogicError), w.bind(_evaluation_failed)
    names = list(w.values)
    source = "\n".join(
        [
            f"def make({', '.join(names)}):",
            "    def run(d):",
            "        try:",
            *w.lines,
            f"        except {error}:",
            "            raise",
            "        except (TypeError, ValueError, OverflowError, RecursionError) as exc:",
            f"            raise {failed}(exc) from exc",
            "        return result",
            "    return run",
        ]
    )
    make = _made.get(source)
    if make is None:
        namespace: dict[str, Any] = {}
        try:
            exec(source, namespace)  # our own text; every value is a closure variable
        except (SyntaxError, RecursionError, MemoryError):
            return None
        make = namespace["make"]
        if len(_made) >= GENERATED_CACHE_SIZE:
            _made.clear()
        _made[source] = make
    run: Compiled = make(*w.values.values())
    return run


#: Generated factories kept, keyed by their source text (which holds no data: the same
#: expression compiled again, or another of the same shape, skips Python's compiler).
GENERATED_CACHE_SIZE: Final = 512
_made: dict[str, Callable[..., Compiled]] = {}


def _evaluation_failed(exc: Exception) -> CertLogicError:
    return CertLogicError(ErrorCode.CERTLOGIC_EVALUATION_FAILED, str(exc))


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
