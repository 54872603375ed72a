"""Compile a CertLogic expression once, then run it many times.

There are two compiled evaluators, and the tests hold a third:

- :mod:`.closures` builds one closure per node of the expression: the reference, written as the
  spec reads, and the fallback for whatever the generated code does not inline;
- :mod:`.codegen` writes that closure tree as one generated Python function per expression (the
  fast path: calling a closure per node is most of the cost of a rule, docs/benchmarks.md);
- ``tests/core/certlogic/test_properties.py`` holds a tree-walking interpreter written from the
  spec, and checks both compiled evaluators against it and against each other.

``compile`` validates the whole expression first, so an invalid one fails before any data is
seen.

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

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from healthcode.core.certlogic.closures import build
from healthcode.core.certlogic.codegen import generate
from healthcode.core.certlogic.validator import check
from healthcode.core.error_codes import ErrorCode
from healthcode.core.errors import CertLogicError

__all__ = ["Compiled", "compile", "evaluate"]

#: A compiled expression: call it with the data context.
Compiled = Callable[[Any], Any]


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
    root = build(expr)
    generated = generate(root)
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


@dataclass(frozen=True)
class _ByRepr:
    """An expression as a cache key: its ``repr`` (which tells ``1`` from ``True`` and
    ``1.0``, and lists from tuples)."""

    text: str
    expr: Any = field(compare=False, hash=False)


@functools.lru_cache(maxsize=512)
def _compiled(key: _ByRepr) -> Compiled:
    return compile(key.expr)


def evaluate(expr: Any, data: Any) -> Any:
    """Evaluate ``expr`` on ``data``. The compiled form of the last few hundred expressions is
    kept, so a loop over ``evaluate`` does not compile each time; :func:`compile` is still the
    way to hold on to a rule.

    Raises:
        CertLogicError: if ``expr`` is invalid or its evaluation fails.
    """
    return _compiled(_ByRepr(repr(expr), expr))(data)
