"""Reading a record's fields: one reader per field type, each failing with a stable code.

Every record kind reads its JSON form through a :class:`Fields` bound to the mapping, the
prefix of its place in the document (``where``, e.g. ``nat_results[2].``), the clock and the
allowed skew; each reader raises :class:`~healthcode.core.errors.InvalidInput` with the
``field`` at fault. :class:`Record` gives every kind the same ``from_dict`` and ``to_dict``.

>>> from datetime import datetime, timezone
>>> from healthcode.core.clock import FixedClock
>>> f = Fields({"lab": " GZ-LAB-01 ", "n": 3}, clock=FixedClock(datetime.now(timezone.utc)))
>>> f.text("lab"), f.integer("n", 1, 5)
('GZ-LAB-01', 3)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import KW_ONLY, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Self

from healthcode.core import regions
from healthcode.core.clock import CHINA_TZ, Clock, parse_instant
from healthcode.core.error_codes import ErrorCode
from healthcode.core.errors import InvalidInput
from healthcode.core.facts.vocabulary import MAX_CLOCK_SKEW

__all__ = ["Fields", "Record", "format_instant"]


def format_instant(value: datetime) -> str:
    """An instant as CertLogic reads it: UTC, millisecond precision, ``Z`` suffix.

    >>> format_instant(datetime(2022, 11, 20, 9, 0, tzinfo=CHINA_TZ))
    '2022-11-20T01:00:00.000Z'
    """
    utc = value.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


@dataclass(frozen=True)
class Fields:
    """The fields of one record (the mapping ``d``, at ``where`` in its document), read and
    checked one by one; times are checked against ``clock`` with ``skew``."""

    d: Mapping[str, Any]
    _: KW_ONLY
    clock: Clock
    skew: timedelta = MAX_CLOCK_SKEW
    where: str = ""

    def fail(self, code: ErrorCode, name: str, message: str, **details: Any) -> InvalidInput:
        """The error for field ``name``; ``message`` is prefixed with the record's place."""
        return InvalidInput(code, self.where + message, field=self.where + name, **details)

    def required(self, name: str) -> Any:
        """The raw value of ``name``. Raises ``FIELD_MISSING`` when absent or null."""
        value = self.d.get(name)
        if value is None:
            raise self.fail(ErrorCode.FIELD_MISSING, name, f"{name} is required")
        return value

    def text(self, name: str) -> str:
        """A non-empty string, stripped. Raises ``FIELD_MISSING``, ``FIELD_TYPE``."""
        value = self.required(name)
        if not isinstance(value, str) or not value.strip():
            raise self.fail(ErrorCode.FIELD_TYPE, name, f"{name} must be a non-empty string")
        return value.strip()

    def optional_text(self, name: str) -> str | None:
        """:meth:`text`, or ``None`` when absent or null."""
        return None if self.d.get(name) is None else self.text(name)

    def choice(self, name: str, allowed: Sequence[str], *, default: str | None = None) -> Any:
        """One of ``allowed`` (``default`` when absent). Raises ``FIELD_MISSING``,
        ``VALUE_NOT_IN_SET``."""
        value = self.d.get(name, default)
        if value is None:
            self.required(name)
        if value not in allowed:
            raise self.fail(
                ErrorCode.VALUE_NOT_IN_SET,
                name,
                f"{name} is {value!r}, expected one of {', '.join(allowed)}",
                allowed=",".join(allowed),
            )
        return value

    def integer(self, name: str, lo: int, hi: int) -> int:
        """An integer in ``lo..hi``. Raises ``FIELD_MISSING``, ``FIELD_TYPE``,
        ``VALUE_OUT_OF_RANGE``."""
        value = self.required(name)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(ErrorCode.FIELD_TYPE, name, f"{name} must be an integer")
        if not lo <= value <= hi:
            raise self.fail(
                ErrorCode.VALUE_OUT_OF_RANGE, name, f"{name} is {value}, expected {lo}..{hi}"
            )
        return value

    def region(self, name: str) -> str:
        """A known region code. Raises ``FIELD_*``, ``REGION_FORMAT``, ``REGION_UNKNOWN``."""
        code = self.text(name)
        try:
            regions.lookup(code)
        except InvalidInput as exc:
            raise InvalidInput(exc.code, exc.message, field=self.where + name) from exc
        return code

    def time(self, name: str, *, observed: bool = True) -> datetime:
        """An instant in UTC, cut to milliseconds; without an offset it is China Standard Time.

        An ``observed`` time (a sample, a scan...) may not lie later than now plus the skew; a
        scheduled one may. Raises ``FIELD_MISSING``, ``TIME_FORMAT``, ``TIME_IN_FUTURE``.
        """
        raw = self.required(name)
        if isinstance(raw, datetime):
            value = raw if raw.tzinfo else raw.replace(tzinfo=CHINA_TZ)
        elif isinstance(raw, str):
            try:
                value = parse_instant(raw)
            except ValueError as exc:
                message = f"{name} is not an ISO 8601 time: {raw!r}"
                raise self.fail(ErrorCode.TIME_FORMAT, name, message) from exc
        else:
            raise self.fail(ErrorCode.TIME_FORMAT, name, f"{name} must be a time")
        value = value.astimezone(UTC)
        value = value.replace(microsecond=value.microsecond // 1000 * 1000)
        if observed and value > self.clock.now() + self.skew:
            message = f"{name} {value.isoformat()} is later than now plus {self.skew}"
            raise self.fail(ErrorCode.TIME_IN_FUTURE, name, message)
        return value

    def optional_time(self, name: str, *, observed: bool = True) -> datetime | None:
        """:meth:`time`, or ``None`` when absent or null."""
        return None if self.d.get(name) is None else self.time(name, observed=observed)

    def order(
        self,
        earlier: datetime | None,
        later: datetime | None,
        name: str,
        code: ErrorCode,
        what: str,
    ) -> None:
        """Raises ``code`` on field ``name`` when both times are known and ``later`` is
        before ``earlier``."""
        if earlier is not None and later is not None and later < earlier:
            raise self.fail(code, name, f"{name}: {what}")


class Record:
    """What every record kind shares: ``from_dict`` reads it through :class:`Fields` (the
    kind's ``read``), ``to_dict`` gives the same JSON form back (times as
    :func:`format_instant`, tuples as lists)."""

    __slots__ = ()

    @classmethod
    def from_dict(
        cls,
        d: Mapping[str, Any],
        *,
        clock: Clock,
        skew: timedelta = MAX_CLOCK_SKEW,
        where: str = "",
    ) -> Self:
        """The record of ``d``. Raises InvalidInput (see the kind's docstring)."""
        return cls.read(Fields(d, clock=clock, skew=skew, where=where))

    @classmethod
    def read(cls, f: Fields) -> Self:
        """The record, its fields read from ``f``: each record kind defines it (every subclass
        in ``facts/records.py`` does; ``Record`` itself is never read)."""
        raise NotImplementedError(f"{cls.__name__} does not define read()")

    def to_dict(self) -> dict[str, Any]:
        """The JSON form that :meth:`from_dict` reads."""
        assert dataclasses.is_dataclass(self)
        return {f.name: _json(getattr(self, f.name)) for f in dataclasses.fields(self)}


def _json(value: Any) -> Any:
    if isinstance(value, datetime):
        return format_instant(value)
    if isinstance(value, tuple):
        return list(value)
    return value
