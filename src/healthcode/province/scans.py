"""Venue scans held by the province: each visit's flag kept current, flagged scans listed.

A visit's flag (``visits.flag``, ``core/facts/scans.py``) depends on the person's other
visits, so the feed refreshes the flags of everyone a page touched (:func:`refresh_flags`),
in the page's transaction, before they are re-evaluated. The scalar path judges the same visits
again from the records (``core.rules.summarise``); the columnar path reads only the visits
without a flag (``batch/reevaluate.py``): both count the same visits.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from typing import Any, cast

from sqlalchemy import select
from sqlalchemy.orm import Session

from healthcode.core.facts import ItineraryVisit, format_instant
from healthcode.core.facts.scans import scan_flags
from healthcode.province.models import Visit

__all__ = ["flagged_scans", "refresh_flags"]

_CHUNK = 500


def refresh_flags(session: Session, pseudonyms: Collection[str]) -> int:
    """Judge the visits of these people again and store the flags that changed; how many."""
    wanted = sorted(set(pseudonyms))
    changed = 0
    for start in range(0, len(wanted), _CHUNK):
        mine: dict[str, list[Visit]] = defaultdict(list)
        for row in session.execute(
            select(Visit)
            .where(Visit.pseudonym.in_(wanted[start : start + _CHUNK]))
            .order_by(Visit.pseudonym, Visit.record_id)
        ).scalars():
            mine[row.pseudonym].append(row)
        for rows in mine.values():
            flags = scan_flags(
                [ItineraryVisit(r.region_code, r.at, cast(Any, r.source)) for r in rows]
            )
            for row, flag in zip(rows, flags, strict=True):
                value = None if flag is None else str(flag)
                if row.flag != value:
                    row.flag = value
                    changed += 1
    session.flush()
    return changed


def flagged_scans(session: Session, pseudonym: str) -> list[dict[str, Any]]:
    """The person's venue scans that are left out, oldest first: the hub's record id, region,
    time and the reason code (``VENUE_SCAN_CONTRADICTED``, ``VENUE_SCAN_UNCORROBORATED``)."""
    rows = session.execute(
        select(Visit)
        .where(Visit.pseudonym == pseudonym, Visit.flag.is_not(None))
        .order_by(Visit.at, Visit.record_id)
    ).scalars()
    return [
        {
            "record": r.record_id,
            "region_code": r.region_code,
            "at": format_instant(r.at),
            "flag": r.flag,
        }
        for r in rows
    ]
