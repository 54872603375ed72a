"""Feed writes by dialect: the sequence counters, the entries, the routing lock.

``hub/feeds.py`` holds the rule (entries grouped by province, counters taken in province order,
numbered from the counter); a ``FeedWriter`` holds the SQL. ``feed_writer(dialect)`` gives the
one for a ``Database.dialect``: PostgreSQL writes each in one statement for the whole batch
(``store/bulk.py``) and orders routing with an advisory lock; SQLite takes a statement per
province and needs no lock (its writers are serialised by ``BEGIN IMMEDIATE``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from sqlalchemy import insert, text, update
from sqlalchemy.dialects import sqlite
from sqlalchemy.orm import Session

from healthcode.store.bulk import insert_rows
from healthcode.store.models import FeedCounter, FeedEntry

__all__ = [
    "CHANNEL",
    "ROUTING_LOCK",
    "FeedWriter",
    "PostgresFeedWriter",
    "SqliteFeedWriter",
    "feed_writer",
]

#: The PostgreSQL channel of feed notifications (``hub/feed_signal.py``); each payload is
#: ``<province> <origin>`` (the ``FeedSignal`` of the process that appended).
CHANNEL = "healthcode_feed"


#: Feed notifications of a transaction (delivered at its commit).
_NOTIFY = text(f"SELECT pg_notify('{CHANNEL}', p) FROM unnest(CAST(:payloads AS text[])) AS p")

#: The advisory lock key that orders routing against registrations (``hold_routing``).
ROUTING_LOCK = 0x68_63_72_6F_75_74  # "hcrout"


class FeedWriter(Protocol):
    def hold_routing(self, session: Session, *, exclusive: bool) -> None:
        """Order this transaction against registrations (see ``hub/feeds.hold_routing``)."""
        ...

    def advance(self, session: Session, counts: Mapping[str, int]) -> dict[str, int]:
        """Advance each province's counter by its count, in province order (one lock order for
        every writer: no deadlocks), creating it at 0 first; the new last sequence of each."""
        ...

    def insert(self, session: Session, rows: Sequence[dict[str, Any]]) -> None:
        """Insert ``feed_entries`` rows."""
        ...

    def notify(self, session: Session, provinces: Sequence[str], origin: str) -> None:
        """Tell the other server processes, once this transaction commits, that these
        provinces' feeds grew (``hub/feed_signal.py``); nothing to do on SQLite (one process)."""
        ...


class SqliteFeedWriter:
    def hold_routing(self, session: Session, *, exclusive: bool) -> None:
        return None  # SQLite writers are serialised already

    def advance(self, session: Session, counts: Mapping[str, int]) -> dict[str, int]:
        lasts: dict[str, int] = {}
        for province in sorted(counts):
            create = sqlite.insert(FeedCounter).on_conflict_do_nothing()
            session.execute(create.values(province=province, last_seq=0, purged_through=0))
            lasts[province] = session.execute(
                update(FeedCounter)
                .where(FeedCounter.province == province)
                .values(last_seq=FeedCounter.last_seq + counts[province])
                .returning(FeedCounter.last_seq)
            ).scalar_one()
        return lasts

    def insert(self, session: Session, rows: Sequence[dict[str, Any]]) -> None:
        if rows:
            session.execute(insert(FeedEntry), rows)

    def notify(self, session: Session, provinces: Sequence[str], origin: str) -> None:
        return None


class PostgresFeedWriter:
    def hold_routing(self, session: Session, *, exclusive: bool) -> None:
        fn = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
        session.connection().exec_driver_sql(f"SELECT {fn}({ROUTING_LOCK})")

    def advance(self, session: Session, counts: Mapping[str, int]) -> dict[str, int]:
        """Every province's counter created or advanced in one statement; the rows are taken
        in province order (the order of the array)."""
        counters = [
            {"province": p, "last_seq": counts[p], "purged_through": 0} for p in sorted(counts)
        ]
        returned = insert_rows(
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

    def insert(self, session: Session, rows: Sequence[dict[str, Any]]) -> None:
        insert_rows(session, FeedEntry.__table__, rows)

    def notify(self, session: Session, provinces: Sequence[str], origin: str) -> None:
        """One ``pg_notify`` per province in one statement; PostgreSQL delivers them when
        (and only if) the transaction commits."""
        if provinces:
            session.execute(_NOTIFY, {"payloads": [f"{p} {origin}" for p in provinces]})


_WRITERS: dict[str, FeedWriter] = {"sqlite": SqliteFeedWriter(), "postgresql": PostgresFeedWriter()}


def feed_writer(dialect: str) -> FeedWriter:
    """The writer for a ``Database.dialect`` (``sqlite`` or ``postgresql``)."""
    return _WRITERS[dialect]
