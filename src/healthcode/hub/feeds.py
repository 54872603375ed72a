"""Change feeds: one ordered sequence of entries per province, read with a cursor.

Writers append in the same transaction as the change they announce. The sequence number comes
from a per-province counter row that the writer updates (and so locks) until it commits; hence
entries become visible in sequence order, and a reader that asks for ``seq > cursor`` never
skips an entry that commits later with a smaller number. Delivery is at-least-once: a consumer
stores its cursor after it has applied a page and may see the page again after a crash; every
entry carries ``seq`` (and the record id), so applying it twice is detectable.

A reader may wait for entries (``wait_page``, a long poll): it waits on the event loop for the
province's ``FeedSignal`` (``hub/feed_signal.py``), which a commit that appended to the
province moves on, and reads again in the thread pool.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from anyio import to_thread
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from healthcode.core import regions
from healthcode.core.error_codes import ErrorCode
from healthcode.core.errors import InvalidInput
from healthcode.hub.access import require, require_own_feed
from healthcode.hub.feed_signal import FeedSignal
from healthcode.hub.orgs import Principal
from healthcode.store.db import Database
from healthcode.store.feed_pages import json_page
from healthcode.store.feed_writer import FeedWriter, feed_writer
from healthcode.store.models import FeedCounter, FeedEntry

__all__ = [
    "ALL_PROVINCES",
    "WAIT_MAX_SECONDS",
    "FeedPage",
    "Feeds",
    "NewEntry",
    "check_cursor",
    "read_page",
    "render",
]

#: Every provincial unit of GB/T 2260: risk-area changes go to all of them.
ALL_PROVINCES: tuple[str, ...] = tuple(r.code for r in regions.all_regions("province"))
#: The longest a feed reader may ask to wait for entries (seconds).
WAIT_MAX_SECONDS = 30.0
#: ``Session.info`` key: the signal and the provinces this transaction appended to.
_APPENDED = "healthcode_feed_appended"


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    appended = session.info.pop(_APPENDED, None)
    if appended is not None:
        signal, provinces = appended
        signal.notify(provinces)


@event.listens_for(Session, "after_rollback")
def _rolled_back(session: Session) -> None:
    session.info.pop(_APPENDED, None)


@dataclass(frozen=True, slots=True)
class NewEntry:
    province: str
    kind: str
    ref_id: int
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class FeedPage:
    province: str
    entries: list[dict[str, Any]]
    next_cursor: int
    more: bool


class Feeds:
    """Every province's feed: appended to by the writing services in their transactions, read
    by provinces. Its SQL is the store's ``FeedWriter`` for the database's dialect."""

    def __init__(self, *, db: Database, page_max: int, signal: FeedSignal | None = None) -> None:
        self.db = db
        self.page_max = page_max
        self.writer: FeedWriter = feed_writer(db.dialect)
        self.signal = signal or FeedSignal()
        #: Each province's last read in this process: the cursor it gave (what it has
        #: applied) and when, for the dashboard's feed lag (``hub/ops.py``).
        self.readers: dict[str, tuple[int, float]] = {}

    def hold_routing(self, session: Session, *, exclusive: bool = False) -> None:
        """Order this transaction against registrations, on PostgreSQL (SQLite writers are
        serialised already). Writers that route to a province (ingest, corrections) hold the
        lock shared, so they run side by side; a registration holds it exclusively, so it waits
        for every write in flight and replays what they stored, and writes that start later see
        the registration when they route. Without it, a record routed by the registration it
        could see, committed after the registration replayed the person's records, would never
        reach the person's new province. Taken first in the transaction, before anything is
        routed."""
        self.writer.hold_routing(session, exclusive=exclusive)

    def append(self, session: Session, entries: Sequence[NewEntry], *, now: datetime) -> None:
        """Append ``entries`` to their provinces' feeds, inside the caller's transaction: each
        province's entries numbered on from its counter, in the order given."""
        by_province: dict[str, list[NewEntry]] = defaultdict(list)
        for entry in entries:
            by_province[entry.province].append(entry)
        lasts = self.writer.advance(session, {p: len(g) for p, g in by_province.items()})
        self.writer.notify(session, sorted(by_province), self.signal.origin)
        self.appended(session, by_province)
        rows: list[dict[str, Any]] = []
        for province in sorted(by_province):
            group = by_province[province]
            first = lasts[province] - len(group) + 1
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
        self.writer.insert(session, rows)

    def appended(self, session: Session, provinces: Iterable[str]) -> None:
        """Move this process's signal on for ``provinces`` once ``session``'s transaction
        commits (their feeds grew in it)."""
        appended = session.info.setdefault(_APPENDED, (self.signal, set()))
        appended[1].update(provinces)

    def page_json(
        self, principal: Principal, province: str, *, after: int, limit: int
    ) -> tuple[bytes, int]:
        """``page``'s answer as the JSON bytes to send, and its number of entries. On
        PostgreSQL the server writes the entries' JSON (``store/feed_pages.py``: no Python
        object per entry); elsewhere it is ``page`` rendered. Raises what ``page`` raises."""
        if self.db.dialect != "postgresql":
            answer = self.page(principal, province, after=after, limit=limit)
            return render(answer), len(answer["entries"])
        require(principal, "feed:read")
        require_own_feed(principal, province)
        limit = min(limit, self.page_max)
        with self.db.reader() as conn:
            page = json_page(conn, province, after=after, limit=limit)
        check_cursor(after, page.last_seq, page.purged_through)
        self.readers[province] = (after, time.time())
        shown = min(page.fetched, limit)
        body = (
            f'{{"province":{json.dumps(province)},"entries":{page.entries},'
            f'"next":{after if page.last_shown is None else page.last_shown},'
            f'"more":{"true" if page.fetched > limit else "false"}}}'
        )
        return body.encode(), shown

    def page(
        self, principal: Principal, province: str, *, after: int, limit: int
    ) -> dict[str, Any]:
        """The answer to a province reading its feed: ``{"province", "entries", "next",
        "more"}``, at most ``limit`` (and the configured page maximum) entries.

        Raises AccessDenied KIND_NOT_ALLOWED, FEED_NOT_OWN; what ``read_page`` raises.
        """
        require(principal, "feed:read")
        require_own_feed(principal, province)
        with self.db.read() as s:
            page = read_page(s, province, after=after, limit=min(limit, self.page_max))
        self.readers[province] = (after, time.time())
        return {
            "province": page.province,
            "entries": page.entries,
            "next": page.next_cursor,
            "more": page.more,
        }

    async def wait_page(
        self, principal: Principal, province: str, *, after: int, limit: int, wait: float
    ) -> bytes:
        """``page_json``, but when it has no entries wait up to ``wait`` seconds (at most
        ``WAIT_MAX_SECONDS``) for some: answered as soon as they are committed. Waits on the
        event loop; each read runs in the thread pool. Raises what ``page`` raises."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + min(max(wait, 0.0), WAIT_MAX_SECONDS)
        while True:
            seen = self.signal.generation(province)
            body, count = await to_thread.run_sync(
                lambda: self.page_json(principal, province, after=after, limit=limit)
            )
            left = deadline - loop.time()
            if count or left <= 0:
                return body
            if not await self.signal.wait(province, seen, left):
                return body


def read_page(session: Session, province: str, *, after: int, limit: int) -> FeedPage:
    """Entries of ``province`` with ``seq > after``, oldest first, at most ``limit``.

    Raises InvalidInput CURSOR_INVALID for a negative cursor or one beyond the end, and
    CURSOR_EXPIRED for one older than what the purge job has deleted (the province must
    re-synchronise instead of silently missing entries).
    """
    counter = session.get(FeedCounter, province)
    last, purged = (counter.last_seq, counter.purged_through) if counter else (0, 0)
    check_cursor(after, last, purged)
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


def check_cursor(after: int, last: int, purged: int) -> None:
    """A cursor must lie within the feed: at most its ``last`` sequence, at least what was
    ``purged``. Raises InvalidInput CURSOR_INVALID (negative, or beyond the end),
    CURSOR_EXPIRED (before what the purge job deleted)."""
    if after < 0:
        raise InvalidInput(
            ErrorCode.CURSOR_INVALID, "the cursor is a sequence number >= 0", field="after"
        )
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


def render(answer: dict[str, Any]) -> bytes:
    """An answer as the hub's JSON responses write it (Starlette's ``JSONResponse``)."""
    return json.dumps(
        answer, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":")
    ).encode("utf-8")
