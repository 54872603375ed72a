"""The compiled form of a CertLogic sub-expression, shared by the two compiled evaluators.

A :class:`Node` holds the closure that computes the sub-expression (:mod:`.closures`), what it
is known to yield (so that a parent can skip type checks), its value when it is a constant, and
optionally the writer that inlines it into a generated function (:mod:`.codegen`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import KW_ONLY, dataclass
from datetime import datetime
from typing import Any

from healthcode.core.errors import CertLogicError

__all__ = ["ANY", "BOOL", "DATE", "Fn", "Gen", "Node", "constant", "fold", "kind_of"]

#: A compiled sub-expression: call it with the data context.
Fn = Callable[[Any], Any]
#: Writes the statements that compute a node into a local: (a ``codegen.Writer``, the name of
#: the local, the indentation).
Gen = Callable[[Any, str, int], None]

# What a node is known to produce, so that its parent can skip checks.
ANY, BOOL, DATE = 0, 1, 2


@dataclass(slots=True)
class Node:
    """A compiled sub-expression: its closure, what it yields, its value if constant, and how
    to inline it into a generated function (``gen``, when it can be inlined)."""

    fn: Fn
    kind: int = ANY
    _: KW_ONLY
    const: bool = False
    value: Any = None
    gen: Gen | None = None
    is_var: bool = False


def kind_of(value: Any) -> int:
    """What a constant is known to be."""
    return BOOL if type(value) is bool else DATE if type(value) is datetime else ANY


def constant(value: Any, kind: int = ANY) -> Node:
    """A node that always yields ``value`` (a fresh copy of an array or object, as in JS)."""
    if isinstance(value, list | dict):
        return Node(lambda _d: _deep_copy(value), kind, const=True, value=value)
    return Node(lambda _d: value, kind, const=True, value=value)


def _deep_copy(value: Any) -> Any:
    if isinstance(value, list):
        return [_deep_copy(v) for v in value]
    if isinstance(value, dict):
        return {k: _deep_copy(v) for k, v in value.items()}
    return value


def fold(node: Node, operands: list[Node]) -> Node:
    """Evaluate a node whose operands are all constants now; keep it if that fails (an error
    must only happen if and when the node is evaluated)."""
    if not all(o.const for o in operands):
        return node
    try:
        value = node.fn(None)
    except CertLogicError:
        return node
    return constant(value, node.kind)
