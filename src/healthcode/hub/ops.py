"""What the national staff's dashboard shows (``/ops``, the hub's operator token), each an
aggregate over an indexed range (no scan of everyone's records):

- ``ingest``: records received per department and hour (``records.received_at``, indexed by
  migration ``0013``);
- ``reports``: colour states the provinces reported per province and hour
  (``code_status.reported_at``): the transcodings as the hub sees them, with how long each
  state took to reach the hub from its start;
- ``feeds``: each province's feed: the last entry, the cursor it last read with (what it has
  applied; kept in this process, ``Feeds.readers``), how many entries wait and how old the
  oldest of them is.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from healthcode.core.clock import Clock
from healthcode.core.facts import format_instant
from healthcode.hub.feeds import Feeds
from healthcode.store.db import Database
from healthcode.store.models import CodeStatus, FeedCounter, FeedEntry, Organisation, Record

__all__ = ["feeds", "hour_bucket", "ingest", "reports"]


def hour_bucket(column: Any, dialect: str) -> ColumnElement[Any]:
    """The hour an instant column falls in, in SQL (``date_trunc`` or ``strftime``)."""
    if dialect == "postgresql":
        return func.date_trunc("hour", column)
    return func.strftime("%Y-%m-%d %H:00:00", column)


def _hour(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.fromisoformat(str(value)).replace(tzinfo=UTC)


def _window(clock: Clock, hours: int) -> list[datetime]:
    end = clock.now().astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    return [end - timedelta(hours=hours - 1 - i) for i in range(hours)]


def _series(
    counts: dict[tuple[Any, datetime], int], keys: list[Any], window: list[datetime]
) -> dict[Any, list[int]]:
    return {k: [counts.get((k, h), 0) for h in window] for k in keys}


def ingest(db: Database, clock: Clock, *, hours: int = 24) -> dict[str, Any]:
    """Records received per department and hour, the busiest department first."""
    window = _window(clock, hours)
    with db.read() as s:
        bucket = hour_bucket(Record.received_at, db.dialect)
        rows = s.execute(
            select(Record.org_id, bucket, func.count())
            .where(Record.received_at >= window[0])
            .group_by(Record.org_id, bucket)
        )
        counts = {(org, _hour(h)): int(n) for org, h, n in rows}
        ids = sorted({org for org, _ in counts})
        orgs = {
            o.id: o
            for o in s.execute(select(Organisation).where(Organisation.id.in_(ids))).scalars()
        }
    series = _series(counts, ids, window)
    out: list[dict[str, Any]] = [
        {
            "org": orgs[i].name,
            "kind": orgs[i].kind,
            "region_code": orgs[i].region_code,
            "counts": series[i],
            "total": sum(series[i]),
        }
        for i in ids
        if i in orgs
    ]
    out.sort(key=lambda d: (-d["total"], d["org"]))
    return {"hours": [format_instant(h) for h in window], "departments": out}


def reports(db: Database, clock: Clock, *, hours: int = 24) -> dict[str, Any]:
    """Colour states reported per province and hour, and per hour the mean seconds from a
    state's start to its report."""
    window = _window(clock, hours)
    with db.read() as s:
        bucket = hour_bucket(CodeStatus.reported_at, db.dialect)
        rows = s.execute(
            select(CodeStatus.province, bucket, func.count())
            .where(CodeStatus.reported_at >= window[0])
            .group_by(CodeStatus.province, bucket)
        )
        counts = {(p, _hour(h)): int(n) for p, h, n in rows}
        delays = _delays(s, db.dialect, window[0])
    provinces = sorted({p for p, _ in counts})
    return {
        "hours": [format_instant(h) for h in window],
        "provinces": [
            {"province": p, "counts": c} for p, c in _series(counts, provinces, window).items()
        ],
        "mean_seconds": [delays.get(h) for h in window],
    }


def _seconds_between(later: Any, earlier: Any, dialect: str) -> ColumnElement[Any]:
    """``later - earlier`` in seconds, in SQL."""
    if dialect == "postgresql":
        return func.extract("epoch", later - earlier)
    return (func.julianday(later) - func.julianday(earlier)) * 86400.0


def _delays(s: Session, dialect: str, start: datetime) -> dict[datetime, float]:
    """Per hour, the mean seconds from a reported state's start to its report."""
    bucket = hour_bucket(CodeStatus.reported_at, dialect)
    mean = func.avg(_seconds_between(CodeStatus.reported_at, CodeStatus.since, dialect))
    rows = s.execute(select(bucket, mean).where(CodeStatus.reported_at >= start).group_by(bucket))
    return {_hour(h): round(max(0.0, float(m)), 3) for h, m in rows if m is not None}


def feeds(db: Database, clock: Clock, readers: Feeds) -> dict[str, Any]:
    """Each province's feed (one with entries, or read since this process started): its last
    entry, the last cursor read, entries waiting and the age in seconds of the oldest one
    (None: not read since this process started)."""
    now = clock.now()
    out = []
    with db.read() as s:
        lasts = {c.province: c.last_seq for c in s.execute(select(FeedCounter)).scalars()}
        for province in sorted(set(lasts) | set(readers.readers)):
            last = lasts.get(province, 0)
            read = readers.readers.get(province)
            row: dict[str, Any] = {
                "province": province,
                "last_seq": last,
                "read_after": None if read is None else read[0],
                "read_at": None,
                "waiting": None,
                "lag_seconds": None,
            }
            if read is not None:
                row["read_at"] = format_instant(datetime.fromtimestamp(read[1], UTC))
                row["waiting"] = waiting = max(0, last - read[0])
                row["lag_seconds"] = 0.0
                first = s.get(FeedEntry, (province, read[0] + 1)) if waiting else None
                if first is not None:
                    row["lag_seconds"] = max(0.0, (now - first.created_at).total_seconds())
            out.append(row)
    return {"at": format_instant(now), "provinces": out}
