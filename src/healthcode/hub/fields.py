"""Fields of the hub's request bodies that are not records: required texts and times.

Every time the hub reads from a request (a status's ``since``, a risk area's ``until``, a lift's
``at``) goes through :func:`time_field`: ISO 8601 by ``core.clock.parse_instant`` (a time
without an offset is China Standard Time), and one error, ``TIME_FORMAT`` naming the field.

>>> time_field({"at": "2022-11-20T09:00"}, "at").isoformat()
'2022-11-20T09:00:00+08:00'
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from healthcode.core.clock import parse_instant
from healthcode.core.error_codes import ErrorCode
from healthcode.core.errors import InvalidInput

__all__ = ["required_text", "time_field"]


def time_field(raw: Mapping[str, Any], name: str, *, required: bool = False) -> datetime | None:
    """The instant in field ``name`` of ``raw``; None when it is absent (or null) and not
    ``required``. Raises InvalidInput TIME_FORMAT (field ``name``)."""
    value = raw.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str):
        raise InvalidInput(ErrorCode.TIME_FORMAT, f"{name} must be an ISO 8601 time", field=name)
    try:
        return parse_instant(value)
    except ValueError as exc:
        raise InvalidInput(
            ErrorCode.TIME_FORMAT, f"{name} is not ISO 8601: {value!r}", field=name
        ) from exc


def required_text(raw: Mapping[str, Any], name: str, limit: int, *, what: str = "") -> str:
    """The stripped text of field ``name`` (``what`` says what it is, in the error).

    Raises InvalidInput FIELD_MISSING (absent, not text or blank), FIELD_TOO_LONG.
    """
    value = raw.get(name)
    if not isinstance(value, str) or not value.strip():
        explained = f" ({what})" if what else ""
        raise InvalidInput(ErrorCode.FIELD_MISSING, f"{name} is required{explained}", field=name)
    if len(value.strip()) > limit:
        raise InvalidInput(ErrorCode.FIELD_TOO_LONG, f"{name} is longer than {limit}", field=name)
    return value.strip()
