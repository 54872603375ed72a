"""Change feeds: one ordered sequence of entries per province, read with a cursor.

Writers append in the same transaction as the change they announce. The sequence number comes
from a per-province counter row that the writer updates (and so locks) until it commits; hence
entries become visible in sequence order, and a reader that asks for ``seq > cursor`` never
skips an entry that commits later with a smaller number. Delivery is at-least-once: a consumer
stores its cursor after it has applied a page and may see the page again after a crash; every
entry carries ``seq`` (and the record id), so applying it twice is detectable.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from healthcode.core import regions
from healthcode.core.error_codes import ErrorCode
from healthcode.core.errors import InvalidInput
from healthcode.store.bulk import JsonText, insert_unnest, is_postgresql
from healthcode.store.models import FeedCounter, FeedEntry

__all__ = ["ALL_PROVINCES", "FeedPage", "NewEntry", "append", "hold_routing", "read_page"]

#: Every provincial unit of GB/T 2260: risk-area changes go to all of them.
ALL_PROVINCES: tuple[str, ...] = tuple(r.code for r in regions.all_regions("province"))


@dataclass(frozen=True, slots=True)
class NewEntry:
    province: str
    kind: str
    ref_id: int
    payload: dict[str, Any] | JsonText  # JsonText: already encoded (a batch's records)


@dataclass(frozen=True, slots=True)
class FeedPage:
    province: str
    entries: list[dict[str, Any]]
    next_cursor: int
    more: bool


#: The advisory lock key that orders routing against registrations (``hold_routing``).
ROUTING_LOCK = 0x68_63_72_6F_75_74  # "hcrout"


def hold_routing(session: Session, *, exclusive: bool = False) -> None:
    """Order this transaction against registrations, on PostgreSQL (SQLite writers are
    serialised already). Writers that route to a province (ingest, corrections) hold the lock
    shared, so they run side by side; a registration holds it exclusively, so it waits for
    every write in flight and replays what they stored, and writes that start later see the
    registration when they route. Without it, a record routed by the registration it could
    see, committed after the registration replayed the person's records, would never reach
    the person's new province. Taken first in the transaction, before anything is routed."""
    if not is_postgresql(session):
        return
    fn = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
    session.connection().exec_driver_sql(f"SELECT {fn}({ROUTING_LOCK})")


def _insert_ignore(session: Session, province: str) -> None:
    dialect = session.get_bind().dialect.name
    stmt: Any
    if dialect == "postgresql":
        stmt = postgresql.insert(FeedCounter).on_conflict_do_nothing()
    else:
        stmt = sqlite.insert(FeedCounter).on_conflict_do_nothing()
    session.execute(stmt.values(province=province, last_seq=0, purged_through=0))


def append(session: Session, entries: Sequence[NewEntry], *, now: datetime) -> None:
    """Append ``entries`` to their provinces' feeds, inside the caller's transaction."""
    by_province: dict[str, list[NewEntry]] = defaultdict(list)
    for entry in entries:
        by_province[entry.province].append(entry)
    rows: list[dict[str, Any]] = []
    postgres = is_postgresql(session)
    lasts = _bump_counters_pg(session, by_province) if postgres else {}
    for province in sorted(by_province):  # one lock order for every writer: no deadlocks
        group = by_province[province]
        if postgres:
            last = lasts[province]
        else:
            _insert_ignore(session, province)
            last = session.execute(
                update(FeedCounter)
                .where(FeedCounter.province == province)
                .values(last_seq=FeedCounter.last_seq + len(group))
                .returning(FeedCounter.last_seq)
            ).scalar_one()
        first = last - len(group) + 1
        rows.extend(
            {
                "province": province,
                "seq": first + i,
                "kind": e.kind,
                "ref_id": e.ref_id,
                "payload": e.payload,
                "created_at": now,
            }
            for i, e in enumerate(group)
        )
    if rows and postgres:
        insert_unnest(session, FeedEntry.__table__, rows)
    elif rows:
        for row in rows:
            if type(row["payload"]) is JsonText:
                row["payload"] = json.loads(row["payload"])
        session.execute(insert(FeedEntry), rows)


def _bump_counters_pg(session: Session, groups: dict[str, list[NewEntry]]) -> dict[str, int]:
    """PostgreSQL: every province's counter created or advanced in one statement; the rows
    are taken in province order (the order of the array), as the per-province path does."""
    provinces = sorted(groups)
    counters = [{"province": p, "last_seq": len(groups[p]), "purged_through": 0} for p in provinces]
    returned = insert_unnest(
        session,
        FeedCounter.__table__,
        counters,
        on_conflict=(
            "ON CONFLICT (province) DO UPDATE"
            " SET last_seq = feed_counters.last_seq + excluded.last_seq"
        ),
        returning=("province", "last_seq"),
    )
    return {province: int(last) for province, last in returned}


def read_page(session: Session, province: str, *, after: int, limit: int) -> FeedPage:
    """Entries of ``province`` with ``seq > after``, oldest first, at most ``limit``.

    Raises InvalidInput CURSOR_INVALID for a negative cursor or one beyond the end, and
    CURSOR_EXPIRED for one older than what the purge job has deleted (the province must
    re-synchronise instead of silently missing entries).
    """
    if after < 0:
        raise InvalidInput(
            ErrorCode.CURSOR_INVALID, "the cursor is a sequence number >= 0", field="after"
        )
    counter = session.get(FeedCounter, province)
    last, purged = (counter.last_seq, counter.purged_through) if counter else (0, 0)
    if after > last:
        raise InvalidInput(
            ErrorCode.CURSOR_INVALID,
            f"the cursor {after} is beyond the feed's end {last}",
            field="after",
        )
    if after < purged:
        raise InvalidInput(
            ErrorCode.CURSOR_EXPIRED,
            f"entries up to {purged} were purged; the cursor {after} cannot resume without a gap",
            field="after",
            purged_through=purged,
        )
    rows = (
        session.execute(
            select(FeedEntry)
            .where(FeedEntry.province == province, FeedEntry.seq > after)
            .order_by(FeedEntry.seq)
            .limit(limit + 1)
        )
        .scalars()
        .all()
    )
    more = len(rows) > limit
    rows = rows[:limit]
    entries = [
        {
            "seq": r.seq,
            "kind": r.kind,
            "ref_id": r.ref_id,
            "created_at": r.created_at.isoformat(),
            "data": r.payload,
        }
        for r in rows
    ]
    return FeedPage(
        province=province,
        entries=entries,
        next_cursor=rows[-1].seq if rows else after,
        more=more,
    )
