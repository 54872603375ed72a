"""``in`` with a string against an array from the data (a value set): a set lookup.

The plain reference is :func:`healthcode.core.certlogic.values.member` (one strict comparison
per element). The DCC business rules test a code against value sets of a few hundred codes on
every evaluation, so for a string and an array of at least :data:`VALUE_SET_MIN` elements the
array's strings are put in a ``frozenset`` once per distinct content and looked up; a shorter
array is searched by Python's ``in`` (for JSON values a string equals only the same string).
docs/benchmarks.md gives what it saves; a property test keeps the two equal.

>>> member_of_array("b", ["a", "b"]), member_of_array(1, [1.0])
(True, True)
"""

from __future__ import annotations

import functools
from typing import Any, Final

from healthcode.core.certlogic.values import js_str, member
from healthcode.core.error_codes import ErrorCode
from healthcode.core.errors import CertLogicError

__all__ = ["VALUE_SET_MIN", "member_of_array"]

#: Arrays shorter than this are searched one element at a time.
VALUE_SET_MIN: Final = 16


@functools.lru_cache(maxsize=64)
def _strings(values: tuple[Any, ...]) -> frozenset[str] | None:
    """The set of an all-string array; ``None`` when it holds anything else."""
    return frozenset(values) if all(type(v) is str for v in values) else None


def member_of_array(x: Any, array: Any) -> bool:
    """Whether ``x`` is strictly equal to an element of ``array`` (CertLogic ``in``).

    Raises:
        CertLogicError: ``CERTLOGIC_NOT_AN_ARRAY`` if ``array`` is not an array.
    """
    if not isinstance(array, list):
        raise CertLogicError(
            ErrorCode.CERTLOGIC_NOT_AN_ARRAY,
            f'right-hand side of an "in" operation must be an array, got {js_str(array)}',
        )
    if type(x) is not str:
        return member(x, array)
    if len(array) < VALUE_SET_MIN:
        return x in array  # a string equals nothing but the same string (JSON values)
    try:
        strings = _strings(tuple(array))
    except TypeError:  # an unhashable element (an array or object)
        return member(x, array)
    return member(x, array) if strings is None else x in strings
