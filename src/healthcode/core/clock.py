"""The injected clock: every time-dependent check takes a Clock, never reads the system time.

>>> from datetime import datetime, timezone
>>> c = FixedClock(datetime(2022, 11, 20, 1, 0, tzinfo=timezone.utc))
>>> c.now().isoformat()
'2022-11-20T01:00:00+00:00'
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Protocol

__all__ = ["CHINA_TZ", "Clock", "FixedClock", "SystemClock", "parse_instant"]

#: China Standard Time (UTC+8, no daylight saving): the zone of days and "within N days".
CHINA_TZ = timezone(timedelta(hours=8), "CST")


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware."""
        ...


class SystemClock:
    """The real clock, in UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """A clock that says what it is told; ``advance`` moves it."""

    def __init__(self, instant: datetime) -> None:
        if instant.tzinfo is None:
            raise ValueError("FixedClock needs a timezone-aware datetime")
        self._instant = instant

    def now(self) -> datetime:
        return self._instant

    def advance(self, delta: timedelta) -> None:
        self._instant += delta


def parse_instant(text: str) -> datetime:
    """Parse an ISO 8601 instant; a time without an offset is taken as China Standard Time.

    >>> parse_instant("2022-11-20T09:00").isoformat()
    '2022-11-20T09:00:00+08:00'

    Raises ValueError when the text is not ISO 8601.
    """
    value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=CHINA_TZ)
