"""The fast path of the CertLogic compiler: one generated Python function per expression.

:mod:`.closures` compiles an expression into a tree of closures, one per node; that tree is the
reference. Calling a closure per node is most of the cost of evaluating a rule, so
:func:`generate` then writes the whole tree as the statements of one function: each node with a
``gen`` writes the statements that compute its value into a local variable, with the same
checks as its closure; any other node (``extractFromUVCI``, sub-trees too deep or too long to
inline) is called as its closure. Every value (keys, constants, helpers)
is a closure variable of the generated function: no data is written into source text. Errors
are translated once, in the generated function. docs/benchmarks.md gives what this saves;
``tests/core/certlogic/test_properties.py`` keeps the two evaluators equal.

>>> from healthcode.core.certlogic.closures import build
>>> run = generate(build({"!": [{"var": "a"}]}))
>>> run({"a": 0}), run({"a": "x"})
(True, False)
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable
from datetime import datetime
from typing import Any, Final

from healthcode.core.certlogic.nodes import BOOL, Fn, Gen, Node
from healthcode.core.certlogic.value_sets import member_of_array
from healthcode.core.certlogic.values import (
    Fragment,
    member,
    require_boolsy,
    strict_equals,
)
from healthcode.core.error_codes import ErrorCode
from healthcode.core.errors import CertLogicError

__all__ = [
    "Writer",
    "and_gen",
    "array_gen",
    "compare_gen",
    "date_gen",
    "equals_gen",
    "generate",
    "if_gen",
    "in_gen",
    "not_gen",
    "plus_gen",
    "reduce_gen",
    "var_gen",
]

#: Sub-trees below this indentation are called as closures (CPython's parser allows 100).
MAX_INDENT: Final = 40
#: Beyond this many lines, the remaining sub-trees are called as closures.
MAX_LINES: Final = 5000

_SIZED: Final = frozenset({dict, list, str})
_SYMBOLS: Final = {"<": "<", ">": ">", "<=": "<=", ">=": ">="}


class Writer:
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

    def emit(self, node: Node, target: str, indent: int) -> None:
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


# --- one writer per kind of node -----------------------------------------------------------


def var_gen(frags: tuple[Fragment, ...], slow: Fn) -> Gen:
    """``var``: one type check and one lookup per fragment; anything unusual (strings,
    subclasses) goes to the closure ``slow``."""

    def gen(w: Writer, target: str, indent: int) -> None:
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


def if_gen(guard: Node, then: Node, else_: Node) -> Gen:
    def gen(w: Writer, target: str, indent: int) -> None:
        g = w.tmp()
        w.emit(guard, g, indent)
        w.line(indent, f"if {g if guard.kind == BOOL else w.truth(g, 'if-guard')}:")
        w.emit(then, target, indent + 1)
        w.line(indent, "else:")
        w.emit(else_, target, indent + 1)

    return gen


def not_gen(operand: Node) -> Gen:
    def gen(w: Writer, target: str, indent: int) -> None:
        v = w.tmp()
        w.emit(operand, v, indent)
        if operand.kind == BOOL:
            w.line(indent, f"{target} = not {v}")
        else:
            check = w.bind(require_boolsy)
            w.line(indent, f"{target} = not {check}({v}, {w.bind('operand of !')})")

    return gen


def and_gen(operands: list[Node]) -> Gen:
    bools = all(o.kind == BOOL for o in operands)

    def gen(w: Writer, target: str, indent: int) -> None:
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


def equals_gen(left: Node, right: Node) -> Gen:
    """``===``; a string, integer or boolean constant on the left is compared inline."""

    def gen(w: Writer, target: str, indent: int) -> None:
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


def in_gen(item: Node, array: Node) -> Gen:
    """``in``; a literal array of strings becomes a set lookup."""
    values = array.value if array.const and type(array.value) is list else None

    def gen(w: Writer, target: str, indent: int) -> None:
        x = w.tmp()
        w.emit(item, x, indent)
        if values is None:
            r = w.tmp()
            w.emit(array, r, indent)
            w.line(indent, f"{target} = {w.bind(member_of_array)}({x}, {r})")
        elif all(type(v) is str for v in values):
            strings = w.bind(frozenset(values))
            w.line(indent, f"{target} = type({x}) is str and {x} in {strings}")
        else:
            w.line(indent, f"{target} = {w.bind(member)}({x}, {w.bind(values)})")

    return gen


def compare_gen(
    op: str, operands: list[Node], trusted: bool, check_types: Callable[..., None]
) -> Gen:
    """A chained comparison; the type checks are skipped when the operands are known to be
    date-times (``trusted``), and otherwise only run when a value is not of the exact type."""
    is_date = op in ("before", "after", "not-before", "not-after")
    py_op = {"before": "<", "after": ">", "not-after": "<=", "not-before": ">="}.get(op, op)

    def gen(w: Writer, target: str, indent: int) -> None:
        names = [w.tmp() for _ in operands]
        for operand, name in zip(operands, names, strict=True):
            w.emit(operand, name, indent)
        if not trusted:
            ex = w.bind(datetime if is_date else int)
            odd = " or ".join(
                f"type({n}) is not {ex}" + (f" or {n}.tzinfo is None" if is_date else "")
                for n in names
            )
            w.line(indent, f"if {odd}:")
            w.line(indent + 1, f"{w.bind(check_types)}(({', '.join(names)},), {w.bind(op)})")
        sym = _SYMBOLS[py_op]
        pairs = [f"{x} {sym} {y}" for x, y in itertools.pairwise(names)]
        w.line(indent, f"{target} = {' and '.join(pairs)}")

    return gen


def date_gen(operand: Node, cached: Fn, date_of_value: Fn) -> Gen:
    """A date-time made from a string: the node's cache is called inline for a string."""

    def gen(w: Writer, target: str, indent: int) -> None:
        s = w.tmp()
        w.emit(operand, s, indent)
        w.line(indent, f"if type({s}) is str:")
        w.line(indent + 1, f"{target} = {w.bind(cached)}({s})")
        w.line(indent, "else:")
        w.line(indent + 1, f"{target} = {w.bind(date_of_value)}({s})")

    return gen


def array_gen(items: list[Node]) -> Gen:
    """An array literal with parts that are not constants: a new list each time."""

    def gen(w: Writer, target: str, indent: int) -> None:
        names = [w.tmp() for _ in items]
        for item, name in zip(items, names, strict=True):
            w.emit(item, name, indent)
        w.line(indent, f"{target} = [{', '.join(names)}]")

    return gen


def plus_gen(left: Node, right: Node, check: Callable[[Any, Any], Any]) -> Gen:
    """``+``: the integer check (``check``) only runs when an operand is not an ``int``."""

    def gen(w: Writer, target: str, indent: int) -> None:
        x, y = w.tmp(), w.tmp()
        w.emit(left, x, indent)
        w.emit(right, y, indent)
        w.line(indent, f"if type({x}) is not int or type({y}) is not int:")
        w.line(indent + 1, f"{w.bind(check)}({x}, {y})")
        w.line(indent, f"{target} = {x} + {y}")

    return gen


def reduce_gen(operand: Node, lam: Node, initial: Node, check: Callable[[Any], Any]) -> Gen:
    """``reduce``: the loop inline; the lambda, evaluated once per element, as a generated
    function of its own (``check`` refuses an operand that is not an array)."""

    def gen(w: Writer, target: str, indent: int) -> None:
        items, current = w.tmp(), w.tmp()
        step = w.bind(generate(lam) or lam.fn)
        w.emit(operand, items, indent)
        w.line(indent, f"if {items} is None:")
        w.emit(initial, target, indent + 1)
        w.line(indent, "else:")
        w.line(indent + 1, f"{w.bind(check)}({items})")
        w.emit(initial, target, indent + 1)
        w.line(indent + 1, f"for {current} in {items}:")
        w.line(indent + 2, f'{target} = {step}({{"accumulator": {target}, "current": {current}}})')

    return gen


# --- the generated function ----------------------------------------------------------------


def generate(root: Node) -> Fn | None:
    """One function computing ``root``; ``None`` if it cannot be generated."""
    w = Writer()
    w.emit(root, "result", 3)
    error, failed = w.bind(CertLogicError), w.bind(_evaluation_failed)
    source = "\n".join(
        [
            f"def make({', '.join(w.values)}):",
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
    make = _factory(source)
    if make is None:
        return None
    run: Fn = make(*w.values.values())
    return run


@functools.lru_cache(maxsize=512)
def _factory(source: str) -> Callable[..., Fn] | None:
    """The factory defined by ``source``, kept by its text (which holds no data: the same
    expression compiled again, or another of the same shape, skips Python's compiler)."""
    namespace: dict[str, Any] = {}
    try:
        exec(source, namespace)  # our own text; every value is a closure variable
    except (SyntaxError, RecursionError, MemoryError):
        return None
    made: Callable[..., Fn] = namespace["make"]
    return made


def _evaluation_failed(exc: Exception) -> CertLogicError:
    return CertLogicError(ErrorCode.CERTLOGIC_EVALUATION_FAILED, str(exc))
