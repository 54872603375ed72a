"""CertLogic values: truthy/falsy, integers, strict equality, data access and UCI fragments.

These are the value semantics of CertLogic 1.3.x (the JS reference is ``internals.ts``),
written for Python's JSON values: ``None``, ``bool``, ``int``, ``float``, ``str``, ``list``,
``dict``, plus ``datetime`` for date-times made by ``plusTime``/``dccDateOfBirth``.

>>> boolsiness([]), boolsiness("0"), boolsiness(None)
(False, True, False)
>>> strict_equals(1, True), strict_equals(1, 1.0)
(False, True)
>>> access({"v": [{"mp": "EU/1/20/1528"}]}, compile_path("v.0.mp"))
'EU/1/20/1528'
>>> extract_from_uvci("URN:UVCI:01:NL:187/37512422923", 1)
'NL'
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from healthcode.core.error_codes import ErrorCode
from healthcode.core.errors import CertLogicError

__all__ = [
    "Fragment",
    "access",
    "boolsiness",
    "compile_path",
    "extract_from_uvci",
    "is_int",
    "js_str",
    "member",
    "require_boolsy",
    "require_int",
    "strict_equals",
]

#: Scalars compared by value by ``===`` (JS primitives); everything else by identity.
_SCALARS = frozenset({str, int, float, bool, type(None)})
_NUMBERS = frozenset({int, float})

#: A path fragment: (key for objects, index for arrays or None when not an integer).
Fragment = tuple[str, int | None]


def is_int(value: Any) -> bool:
    """Whether ``value`` is a CertLogic integer (JS ``Number.isInteger``; never a bool)."""
    if isinstance(value, bool):
        return False
    if isinstance(value, float):
        return value.is_integer()
    return isinstance(value, int)


def boolsiness(value: Any) -> bool | None:
    """``True`` if truthy, ``False`` if falsy, ``None`` if neither (e.g. a date-time).

    Falsy: ``False``, ``None``, ``""``, ``0``, ``[]``, ``{}``; truthy: ``True``, non-empty
    strings, arrays and objects, non-zero numbers.
    """
    if value is None:
        return False
    if isinstance(value, bool | str | list | dict | int | float):
        return bool(value)
    return None


def require_boolsy(value: Any, where: str) -> bool:
    """The boolsiness of ``value``.

    Raises:
        CertLogicError: ``CERTLOGIC_NOT_TRUTHY_OR_FALSY`` if it is neither truthy nor falsy.
    """
    b = boolsiness(value)
    if b is None:
        raise CertLogicError(
            ErrorCode.CERTLOGIC_NOT_TRUTHY_OR_FALSY,
            f"{where} evaluates to something neither truthy, nor falsy: {js_str(value)}",
        )
    return b


def require_int(value: Any, where: str) -> Any:
    """``value`` itself if it is a CertLogic integer.

    Raises:
        CertLogicError: ``CERTLOGIC_NOT_INTEGER`` otherwise.
    """
    if not is_int(value):
        raise CertLogicError(
            ErrorCode.CERTLOGIC_NOT_INTEGER, f"{where} must be integers, got {js_str(value)}"
        )
    return value


def strict_equals(a: Any, b: Any) -> bool:
    """JS ``===`` on JSON values: scalars by value (``1 === 1.0``, ``1 !== true``), arrays and
    objects by identity. Date-times are never equal: each ``plusTime`` makes a new one."""
    ta = type(a)
    tb = type(b)
    if ta is tb:
        if ta in _SCALARS:
            return bool(a == b)
        if ta is datetime:
            return False
        return a is b
    if ta in _NUMBERS and tb in _NUMBERS:
        return bool(a == b)
    return False


def member(x: Any, values: list[Any]) -> bool:
    """Whether ``x`` is strictly equal to an element of ``values`` (CertLogic ``in``)."""
    return any(strict_equals(x, v) for v in values)


def compile_path(path: str) -> tuple[Fragment, ...]:
    """Split a ``var`` path into fragments once; ``""`` gives ``()`` (the whole data).

    An all-digit fragment is an array index; on an object it reads the key of that integer
    (as JS does: ``"01"`` reads key ``"1"``).
    """
    if path == "":
        return ()
    out: list[Fragment] = []
    for frag in path.split("."):
        if frag.isascii() and frag.isdigit():
            out.append((str(int(frag)), int(frag)))
        else:
            out.append((frag, None))
    return tuple(out)


def access(data: Any, fragments: tuple[Fragment, ...]) -> Any:
    """Drill into ``data``; anything missing or undrillable gives ``None`` (never raises)."""
    cur = data
    for key, index in fragments:
        if cur is None:
            return None
        if isinstance(cur, dict):
            cur = cur.get(key)
        elif isinstance(cur, list | str):
            if index is None or index >= len(cur):
                return None
            cur = cur[index]
        else:
            return None
    return cur


_UVCI_PREFIX = "URN:UVCI:"
_UVCI_SEPARATORS = re.compile(r"[/#:]")


def extract_from_uvci(uvci: str | None, index: int) -> str | None:
    """The fragment ``index`` (0-based) of a UCI split on ``/``, ``#``, ``:``, after dropping an
    optional ``URN:UVCI:`` prefix; ``None`` if there is no such fragment or ``uvci`` is None."""
    if uvci is None or index < 0:
        return None
    if uvci.startswith(_UVCI_PREFIX):
        uvci = uvci[len(_UVCI_PREFIX) :]
    fragments = _UVCI_SEPARATORS.split(uvci)
    return fragments[index] if index < len(fragments) else None


def js_str(value: Any) -> str:
    """``String(value)`` as JavaScript writes it, for messages that match the reference."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list):
        return ",".join("" if v is None else js_str(v) for v in value)
    if isinstance(value, dict):
        return "[object Object]"
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)
