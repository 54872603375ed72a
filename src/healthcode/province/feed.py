"""Applying the hub's feed: each page's effects and the cursor in one transaction.

Delivery is at-least-once: an entry at or below the stored cursor is skipped, so a page read
again after a crash (the hub sends what follows the cursor the province committed) takes
effect once. An entry's effect is idempotent as well: a record is kept at its highest version,
a risk area at its highest version. Within the transaction the people whose facts changed are
re-evaluated (``evaluation.reevaluate``), and the people a risk-area change concerns by the
columnar pipeline (``bulk.reevaluate_area``, chunk by chunk), so their colour and
status report commit with the entry that caused them. A huge area makes a long transaction
(about the pipeline's rate, ``docs/benchmarks.md``): the feed waits for it, nothing stalls
for good, and a crash meanwhile re-applies the page.

An entry that can never take effect (a field missing or of the wrong type, a region code the
region table does not know, a time that does not read) is not retried forever: it is kept in
``feed_dead_letters`` with a stable code (``FIELD_MISSING``, ``FIELD_TYPE``, ``REGION_UNKNOWN``),
logged, and the cursor moves past it (``GET /v1/jobs`` counts them).

Entry kinds (``hub/feeds.py``): ``record`` (a new record, or one replayed on registration),
``correction`` (a record's next version, ``fact`` None when withdrawn), ``risk_area`` (a
designation, change, lift or cancellation); kinds with a handler in ``FeedApplier.handlers``
(``grid_task``: a task handed over by another province, ``grid/``). Other kinds move the
cursor only.

**When a fact arrived.** Each entry carries the time the hub appended it (``created_at``):
the page records, in ``session.info``, the earliest arrival of each person's applied entries
and of its risk-area entries, so a listener of the colour changes the page makes can tell
how long the fact took (``arrival_of``; the grid's "four early" timeliness).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from healthcode.core import regions
from healthcode.core.clock import parse_instant
from healthcode.core.error_codes import ErrorCode
from healthcode.core.errors import InvalidInput
from healthcode.core.facts import RISK_LEVELS
from healthcode.province.models import FactRecord, FeedCursor, FeedDeadLetter, RiskAreaRow, Visit
from healthcode.province.scans import refresh_flags

__all__ = [
    "ARRIVALS",
    "AppliedPage",
    "EntryHandler",
    "FeedApplier",
    "affected_by_area",
    "arrival_of",
    "check_entry",
    "read_cursor",
]

log = logging.getLogger("healthcode.province")

#: Re-evaluates the given people inside the session's transaction (``evaluation.reevaluate``
#: bound to the rule set and the clock); replaceable by a columnar evaluator.
Reevaluator = Callable[[Session, Collection[str], datetime], Any]
#: Re-evaluates the people a risk-area change concerns inside the session's transaction
#: (``bulk.reevaluate_area`` bound): (region, designation start) before and after the change.
AreaReevaluator = Callable[[Session, Sequence[tuple[str, datetime]], datetime], Any]
#: Applies one entry of another kind (its data) inside the page's transaction.
EntryHandler = Callable[[Session, Mapping[str, Any], datetime], Any]
#: ``Session.info`` key: {pseudonym: earliest arrival at the hub} of the page being applied,
#: and ``""`` for its risk-area entries.
ARRIVALS = "healthcode_fact_arrivals"


def arrival_of(session: Session, pseudonym: str) -> datetime | None:
    """When the fact behind this person's change in this transaction reached the hub (their
    own entry, else a risk-area entry of the page); None outside a feed page."""
    arrivals: dict[str, datetime] = session.info.get(ARRIVALS) or {}
    return arrivals.get(pseudonym) or arrivals.get("")


@dataclass(frozen=True, slots=True)
class AppliedPage:
    applied: int  # entries that took effect (not seen before)
    cursor: int  # the cursor stored with them
    people: int  # people re-evaluated


def read_cursor(session: Session, *, lock: bool = False) -> int:
    """The stored cursor; ``lock``: held until the transaction ends (two processes pulling
    the same province's feed then apply a page one after the other)."""
    row = session.get(FeedCursor, 1, with_for_update=lock)
    return 0 if row is None else row.seq


def _time(value: Any) -> datetime | None:
    return None if value in (None, "") else parse_instant(str(value))


@dataclass(kw_only=True, eq=False)
class FeedApplier:
    reevaluate: Reevaluator
    reevaluate_area: AreaReevaluator | None = None
    #: entry kind -> its handler (kinds the applier does not know itself)
    handlers: dict[str, EntryHandler] = field(default_factory=dict)

    def apply(
        self, session: Session, entries: Sequence[Mapping[str, Any]], now: datetime
    ) -> AppliedPage:
        """Apply ``entries`` (one page, oldest first) and advance the cursor, in ``session``'s
        transaction. Raises what ``reevaluate`` raises (nothing is kept then)."""
        cursor = read_cursor(session, lock=True)
        touched: set[str] = set()
        windows: list[tuple[str, datetime]] = []
        applied = 0
        arrivals: dict[str, datetime] = {}
        session.info[ARRIVALS] = arrivals  # for the listeners of this page's changes
        for entry in entries:
            seq = int(entry["seq"])
            if seq <= cursor:
                continue  # delivered again: already applied
            kind, data = str(entry["kind"]), entry.get("data") or {}
            try:
                check_entry(kind, data)
            except InvalidInput as exc:
                _dead_letter(session, seq, kind, entry, exc, now)
                cursor, applied = seq, applied + 1
                continue
            if kind == "risk_area":
                windows += _risk_area(session, data)
                _arrived(arrivals, "", entry)
            else:
                whom = self._one(session, kind, data, now)
                touched |= whom
                for pseudonym in whom:
                    _arrived(arrivals, pseudonym, entry)
            cursor, applied = seq, applied + 1
        people = len(touched)
        if applied:
            self._store_cursor(session, cursor, now)
            refresh_flags(session, touched)  # a new visit may back or contradict a scan
            self.reevaluate(session, touched, now)
            if windows and self.reevaluate_area is not None:
                done = self.reevaluate_area(session, windows, now)
                people += getattr(done, "evaluated", 0)
            elif windows:
                found = affected_by_area(session, windows)
                self.reevaluate(session, found, now)
                people += len(found)
        session.info.pop(ARRIVALS, None)
        return AppliedPage(applied=applied, cursor=cursor, people=people)

    @staticmethod
    def _store_cursor(session: Session, seq: int, now: datetime) -> None:
        row = session.get(FeedCursor, 1)
        if row is None:
            session.add(FeedCursor(id=1, seq=seq, updated_at=now))
        else:
            row.seq, row.updated_at = seq, now
        session.flush()

    def _one(self, session: Session, kind: str, data: Mapping[str, Any], now: datetime) -> set[str]:
        """One entry's effect; the people whose facts it may change."""
        if kind == "record":
            return _record(session, data, now, version=1, replaces=False)
        if kind == "correction":
            return _record(session, data, now, version=int(data["version"]), replaces=True)
        handler = self.handlers.get(kind)
        if handler is not None:
            handler(session, data, now)
        else:
            log.info("feed entry of kind %s ignored", kind)
        return set()


def _arrived(arrivals: dict[str, datetime], key: str, entry: Mapping[str, Any]) -> None:
    at = _time(entry.get("created_at"))
    if at is not None and (key not in arrivals or at < arrivals[key]):
        arrivals[key] = at


def check_entry(kind: str, data: Any) -> None:
    """Whether an entry can take effect. Raises InvalidInput ``FIELD_MISSING``, ``FIELD_TYPE``
    (a field of the wrong type, a time that does not read), ``REGION_FORMAT`` /
    ``REGION_UNKNOWN`` (a region code the region table does not know)."""
    try:
        if not isinstance(data, Mapping):
            raise TypeError("data is not an object")
        if kind in ("record", "correction"):
            _check_record(kind, data)
        elif kind == "risk_area":
            _check_risk_area(data)
    except KeyError as exc:
        raise InvalidInput(ErrorCode.FIELD_MISSING, f"a {kind} entry lacks {exc}"[:300]) from exc
    except (TypeError, ValueError) as exc:
        raise InvalidInput(
            ErrorCode.FIELD_TYPE, f"a {kind} entry does not read: {exc}"[:300]
        ) from exc


def _check_risk_area(data: Mapping[str, Any]) -> None:
    numbers = [int(data["id"]), int(data.get("version") or 0)]
    regions.lookup(str(data["region_code"]))
    times = [_time(data[k]) for k in ("effective_from", "until", "lifted_at") if k in data]
    if data["level"] not in RISK_LEVELS or _time(data["effective_from"]) is None:
        raise ValueError(f"level or effective_from of area {numbers[0]} at {times[:1]}")


def _check_record(kind: str, data: Mapping[str, Any]) -> None:
    if int(data["record"]) < 0:
        raise ValueError("record")
    if not isinstance(data["pseudonym"], str) or not isinstance(data["kind"], str):
        raise TypeError("pseudonym or kind")
    if kind == "correction":
        int(data["version"])
    fact = data.get("fact")
    if data["kind"] == "itinerary" and isinstance(fact, Mapping):
        str(fact["region_code"])
        parse_instant(str(fact["at"]))
        str(fact["source"])


def _dead_letter(
    session: Session,
    seq: int,
    kind: str,
    entry: Mapping[str, Any],
    exc: InvalidInput,
    now: datetime,
) -> None:
    """Keep an entry that can never take effect aside, with its code; the cursor moves on."""
    log.error("feed entry %d (%s) set aside: %s %s", seq, kind, exc.code, exc.message)
    if session.get(FeedDeadLetter, seq) is None:
        session.add(
            FeedDeadLetter(
                seq=seq,
                kind=kind[:32],
                code=str(exc.code),
                message=exc.message[:300],
                entry=dict(entry),
                recorded_at=now,
            )
        )


def _record(
    session: Session, data: Mapping[str, Any], now: datetime, *, version: int, replaces: bool
) -> set[str]:
    """Keep a record at its highest version (a correction replaces, a first version only fills
    a gap), with its visit row for an itinerary."""
    record_id = int(data["record"])
    pseudonym = str(data["pseudonym"])
    fact = data.get("fact")
    row = session.get(FactRecord, record_id)
    if row is not None and (row.version >= version or not replaces):
        return set()
    if row is None:
        row = FactRecord(record_id=record_id, pseudonym=pseudonym, kind=str(data["kind"]))
        session.add(row)
    row.version, row.fact = version, fact
    row.updated_at = now
    session.execute(delete(Visit).where(Visit.record_id == record_id))
    if row.kind == "itinerary" and isinstance(fact, Mapping):
        session.add(
            Visit(
                record_id=record_id,
                pseudonym=pseudonym,
                region_code=str(fact["region_code"]),
                at=parse_instant(str(fact["at"])),
                source=str(fact["source"]),
            )
        )
    session.flush()
    return {pseudonym}


def _risk_area(session: Session, data: Mapping[str, Any]) -> list[tuple[str, datetime]]:
    """Keep a designation at its highest version; the (region, start) windows whose visitors
    it may concern, before and after the change (none when the entry is not new)."""
    area_id = int(data["id"])
    version = int(data.get("version") or 0)
    row = session.get(RiskAreaRow, area_id)
    if row is not None and row.version >= version:
        return []
    earlier = None if row is None else (row.region_code, row.effective_from)
    if row is None:
        row = RiskAreaRow(id=area_id)
        session.add(row)
    row.region_code, row.level = str(data["region_code"]), str(data["level"])
    start = _time(data["effective_from"])
    assert start is not None
    row.effective_from, row.until, row.lifted_at = (
        start,
        _time(data.get("until")),
        _time(data.get("lifted_at")),
    )
    row.cancelled, row.version = data.get("cancelled_at") is not None, version
    session.flush()
    windows = [(row.region_code, row.effective_from)]
    if earlier is not None:
        windows.append(earlier)
    return windows


def _prefix(region_code: str) -> str:
    """The code prefix shared by every region inside ``region_code`` (GB/T 2260: 44 for a
    province, 4401 for a city, the whole code for a county)."""
    if region_code.endswith("0000"):
        return region_code[:2]
    if region_code.endswith("00"):
        return region_code[:4]
    return region_code


def affected_by_area(session: Session, windows: Sequence[tuple[str, datetime]]) -> set[str]:
    """People with a visit inside one of the regions at or after its start: found through the
    ``(region_code, at)`` index, never a scan of everyone."""
    conditions = []
    for region_code, start in windows:
        prefix = _prefix(region_code)
        if len(prefix) == 6:
            region = Visit.region_code == prefix
        else:
            region = Visit.region_code.between(
                prefix + "0000"[: 6 - len(prefix)], prefix + "9999"[: 6 - len(prefix)]
            )
        conditions.append(region & (Visit.at >= start))
    rows = session.execute(select(Visit.pseudonym).where(or_(*conditions)).distinct())
    return set(rows.scalars())
