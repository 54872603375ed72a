"""The fast path of CertLogic date-time parsing: the common forms, read by Python's C parser.

The plain reference is :func:`healthcode.core.certlogic.dates.parse_reference` (one regular
expression for every allowed form, then field by field). Colour rules read the time facts of
every person once per evaluation, almost all in one form (``2022-11-18T12:00:00.000Z``), so
:func:`parse_common` hands the forms ``YYYY-MM-DD`` and ``YYYY-MM-DDThh:mm:ss`` (optional
3-digit fraction, optional ``Z`` or ``[+-]hh:mm``) to ``datetime.fromisoformat`` once this
strict shape matches; docs/benchmarks.md gives what it saves. A property test keeps the two
equal.

>>> parse_common("2022-11-18T20:00:00.123+08:00").isoformat()
'2022-11-18T12:00:00.123000+00:00'
>>> parse_common("2022-11-18T20:00:00.1234") is None
True
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Final

__all__ = ["parse_common"]

_COMMON: Final = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
    r"(?:T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]{3})?"
    r"(?:Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])?)?"
)


def parse_common(text: str) -> datetime | None:
    """``text`` in UTC if it has one of the common forms and is a valid date-time; ``None``
    otherwise (the reference parser then reads it, or says what is wrong with it)."""
    if not _COMMON.fullmatch(text):
        return None
    try:
        dt = datetime.fromisoformat(text)
        return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)
    except (ValueError, OverflowError):
        return None
