"""CertLogic date-times: parsing the allowed formats, ``plusTime`` offsets, ``dccDateOfBirth``.

Every date-time is an aware ``datetime`` in UTC with millisecond precision. Accepted strings:
``YYYY``, ``YYYY-MM`` (only for ``plusTime``/``dccDateOfBirth``: the last day consistent with
them), ``YYYY-MM-DD`` (midnight UTC), and ``YYYY-MM-DDThh:mm:ss`` with optional fraction (any
number of digits, truncated to milliseconds) and optional offset ``Z``, ``[+-]h``, ``[+-]hh``,
``[+-]hmm``, ``[+-]hhmm``, ``[+-]h:mm``, ``[+-]hh:mm`` (missing means ``Z``).

Offsets follow the JS ``Date.setUTC*`` methods named by the spec: a month or year that lands
on a day the month does not have rolls over (2020-02-29 plus one year is 2021-03-01).

>>> plus_time("2021-06-01T00:00:00+02:00", 40, "hour").isoformat()
'2021-06-02T14:00:00+00:00'
>>> dcc_date_of_birth("2004-02").isoformat()
'2004-02-29T00:00:00+00:00'
>>> plus_time("2020-02-29", 1, "year").date().isoformat()
'2021-03-01'
"""

from __future__ import annotations

import functools
import re
from datetime import UTC, datetime, timedelta
from typing import Final

from healthcode.core.certlogic.fast_dates import parse_common
from healthcode.core.error_codes import ErrorCode
from healthcode.core.errors import CertLogicError

__all__ = [
    "TIME_UNITS",
    "add_time",
    "dcc_date_of_birth",
    "instant_of",
    "parse_date_time",
    "parse_reference",
    "plus_time",
]

TIME_UNITS: Final = ("year", "month", "day", "hour")

_YEAR = re.compile(r"([0-9]{4})")
_YEAR_MONTH = re.compile(r"([0-9]{4})-([0-9]{2})")
_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_DATE_TIME = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})"
    r"(?:\.([0-9]+))?(Z|([+-])([0-9]{1,2}):?([0-9]{2})?)?"
)


#: How many distinct date-time strings :func:`parse_date_time` keeps parsed (a rule's condition
#: and its ``until`` read the same facts).
PARSE_CACHE_SIZE: Final = 4096


def _invalid(text: str, why: str = "not an allowed date or date-time format") -> CertLogicError:
    return CertLogicError(ErrorCode.CERTLOGIC_INVALID_DATE, f"{why}: {text}", value=text)


def _utc(text: str, y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0) -> datetime:
    try:
        if h == 24 and mi == 0 and s == 0:  # ISO 8601 end of day, as JS Date accepts it
            return datetime(y, mo, d, tzinfo=UTC) + timedelta(days=1)
        return datetime(y, mo, d, h, mi, s, tzinfo=UTC)
    except (ValueError, OverflowError) as exc:
        raise _invalid(text, "date-time out of range") from exc


@functools.lru_cache(maxsize=PARSE_CACHE_SIZE)
def parse_date_time(text: str) -> datetime:
    """Parse a full date (``YYYY-MM-DD``) or a date-time string to an aware UTC datetime.

    The common forms take the fast path of :mod:`.fast_dates`; every other one (and any it
    refuses) is read by :func:`parse_reference`.

    Raises:
        CertLogicError: ``CERTLOGIC_INVALID_DATE`` if the format is not allowed or a field is
            out of range.
    """
    return parse_common(text) or parse_reference(text)


def parse_reference(text: str) -> datetime:
    """:func:`parse_date_time` without its fast path or cache: every allowed form, read field
    by field.

    Raises:
        CertLogicError: as :func:`parse_date_time`.
    """
    m = _DATE.fullmatch(text)
    if m:
        return _utc(text, int(m[1]), int(m[2]), int(m[3]))
    m = _DATE_TIME.fullmatch(text)
    if not m:
        raise _invalid(text)
    dt = _utc(text, int(m[1]), int(m[2]), int(m[3]), int(m[4]), int(m[5]), int(m[6]))
    if m[7]:
        dt = dt.replace(microsecond=int((m[7] + "00")[:3]) * 1000)
    if m[9]:
        hours, minutes = int(m[10]), int(m[11] or 0)
        if hours > 23 or minutes > 59:
            raise _invalid(text, "timezone offset out of range")
        offset = timedelta(hours=hours, minutes=minutes)
        try:
            dt = dt - offset if m[9] == "+" else dt + offset
        except OverflowError as exc:
            raise _invalid(text, "date-time out of range") from exc
    return dt


def _last_day(text: str, year: int, month: int) -> datetime:
    if not 1 <= month <= 12:
        raise _invalid(text, "month out of range")
    if month == 12:
        return _utc(text, year, 12, 31)
    return _utc(text, year, month + 1, 1) - timedelta(days=1)


def dcc_date_of_birth(text: str) -> datetime:
    """The last date-time consistent with a DCC date of birth ``YYYY``, ``YYYY-MM`` or
    ``YYYY-MM-DD`` (at midnight UTC).

    Raises:
        CertLogicError: ``CERTLOGIC_INVALID_DATE`` for any other string or an impossible date.
    """
    m = _DATE.fullmatch(text)
    if m:
        return _utc(text, int(m[1]), int(m[2]), int(m[3]))
    m = _YEAR_MONTH.fullmatch(text)
    if m:
        return _last_day(text, int(m[1]), int(m[2]))
    m = _YEAR.fullmatch(text)
    if m:
        return _utc(text, int(m[1]), 12, 31)
    raise _invalid(text, "not a DCC date of birth (YYYY, YYYY-MM or YYYY-MM-DD)")


def add_time(dt: datetime, amount: int, unit: str) -> datetime:
    """``dt`` offset by ``amount`` units, with the JS ``setUTC*`` roll-over semantics.

    Raises:
        CertLogicError: ``CERTLOGIC_INVALID_DATE`` if the result is out of range,
            ``CERTLOGIC_INVALID_ARGUMENT`` for an unknown unit.
    """
    if amount == 0:
        return dt
    try:
        if unit == "day":
            return dt + timedelta(days=amount)
        if unit == "hour":
            return dt + timedelta(hours=amount)
        if unit == "month":
            total = dt.month - 1 + amount
            year, month = dt.year + total // 12, total % 12 + 1
        elif unit == "year":
            year, month = dt.year + amount, dt.month
        else:
            raise CertLogicError(
                ErrorCode.CERTLOGIC_INVALID_ARGUMENT, f"unknown time unit {unit!r}"
            )
        return dt.replace(year=year, month=month, day=1) + timedelta(days=dt.day - 1)
    except (ValueError, OverflowError) as exc:
        raise _invalid(dt.isoformat(), f"{amount} {unit}(s) later is out of range") from exc


def instant_of(value: datetime) -> datetime:
    """An aware ``datetime`` as CertLogic holds date-times: in UTC, truncated to milliseconds
    (what parsing its ISO 8601 rendering would give).

    Raises:
        CertLogicError: ``CERTLOGIC_NOT_DATETIME`` if ``value`` is naive,
            ``CERTLOGIC_INVALID_DATE`` if it cannot be expressed in UTC.
    """
    if value.utcoffset() is None:
        raise CertLogicError(
            ErrorCode.CERTLOGIC_NOT_DATETIME, f"a date-time from the data must be aware: {value!r}"
        )
    try:
        utc = value.astimezone(UTC)
    except (ValueError, OverflowError) as exc:
        raise _invalid(value.isoformat(), "date-time out of range") from exc
    if type(utc) is not datetime:
        utc = datetime(*utc.timetuple()[:6], utc.microsecond, tzinfo=UTC)
    us = utc.microsecond
    return utc if us % 1000 == 0 else utc.replace(microsecond=us - us % 1000)


def plus_time(text: str, amount: int, unit: str) -> datetime:
    """Parse ``text`` (partial dates as :func:`dcc_date_of_birth` does) and offset it.

    Raises:
        CertLogicError: ``CERTLOGIC_INVALID_DATE`` if ``text`` cannot be parsed or the result
            is out of range.
    """
    if len(text) <= 7:
        return add_time(dcc_date_of_birth(text), amount, unit)
    return add_time(parse_date_time(text), amount, unit)
