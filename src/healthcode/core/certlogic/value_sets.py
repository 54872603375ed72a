"""``in`` with a string against an array from the data (a value set): Python's ``in``.

The plain reference is :func:`healthcode.core.certlogic.values.member` (one strict comparison
per element, in Python). For a string the same answer is Python's own ``in``: among JSON values
a string equals only the same string, so the scan runs in C. The DCC business rules test a code
against value sets of a few hundred codes on every evaluation; docs/benchmarks.md gives what
this saves, and a property test keeps the two equal.

>>> member_of_array("b", ["a", "b"]), member_of_array(1, [1.0])
(True, True)
"""

from __future__ import annotations

from typing import Any

from healthcode.core.certlogic.values import js_str, member
from healthcode.core.error_codes import ErrorCode
from healthcode.core.errors import CertLogicError

__all__ = ["member_of_array"]


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
    return x in array  # a string equals nothing but the same string (JSON values)
