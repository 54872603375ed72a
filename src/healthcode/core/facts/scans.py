"""Venue scans are weak evidence: a scan counts only when the person's own movement backs it.

A venue code can be photographed and forwarded: whoever scans the copy is "in" the venue
without having been there (Zhengzhou, June 2022). So a ``venue_scan`` visit never places a
person anywhere on its own. Each of a person's scans is judged against their *witnesses*, the
visits of every other source (``carrier_cell``: the phone's itinerary; ``transport_ticket``;
``declaration``):

- **contradicted** (:data:`CONTRADICTED`): a witness within :data:`CONTRADICTION_WINDOW` of the
  scan places the person in another place, and none within that window in the scan's place;
  the scan is flagged and left out;
- **counted** (no flag): a witness within :data:`CORROBORATION_WINDOW` of the scan places the
  person in the scan's place;
- **uncorroborated** (:data:`UNCORROBORATED`): neither; left out (not suspicious as such,
  only not enough).

Two regions are in the same *place* when one's city-level prefix (GB/T 2260: ``4401`` for any
code of Guangzhou, ``44`` for Guangdong itself) starts with the other's: a witness that says
only "Guangdong" agrees with a scan in Guangzhou, one in Shenzhen does not.

The judgement depends on the person's visits alone (not on risk areas or on the time of
evaluation). ``core.rules.summarise`` reads only :func:`counted_visits`; the province stores
each visit's flag (``visits.flag``) with the same :func:`scan_flags`, and the columnar path
reads only unflagged visits, so both paths count the same visits.

>>> from datetime import datetime, timedelta, timezone
>>> t = datetime(2022, 6, 13, 2, 0, tzinfo=timezone.utc)
>>> scan = ItineraryVisit("410105", t, "venue_scan")
>>> scan_flags([scan])
[UNCORROBORATED]
>>> scan_flags([scan, ItineraryVisit("410100", t + timedelta(hours=5), "carrier_cell")])
[None, None]
>>> scan_flags([scan, ItineraryVisit("440106", t + timedelta(hours=1), "carrier_cell")])
[CONTRADICTED, None]
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from enum import StrEnum

from healthcode.core.facts.records import ItineraryVisit

__all__ = [
    "CONTRADICTED",
    "CONTRADICTION_WINDOW",
    "CORROBORATION_WINDOW",
    "UNCORROBORATED",
    "ScanFlag",
    "counted_visits",
    "same_place",
    "scan_flags",
]

#: A witness this close to a scan in time decides whether the person could have been there.
CONTRADICTION_WINDOW = timedelta(hours=2)
#: A witness in the scan's place this close to it in time backs it.
CORROBORATION_WINDOW = timedelta(hours=24)
_SCAN = "venue_scan"


class ScanFlag(StrEnum):
    """Why a venue scan is left out (stable codes shown to the person and to staff)."""

    UNCORROBORATED = "VENUE_SCAN_UNCORROBORATED"
    CONTRADICTED = "VENUE_SCAN_CONTRADICTED"

    def __repr__(self) -> str:
        return self.name


UNCORROBORATED = ScanFlag.UNCORROBORATED
CONTRADICTED = ScanFlag.CONTRADICTED


def _place(code: str) -> str:
    """The city-level prefix of a region code (the province's for a province's own code)."""
    return code[:2] if code[2:] == "0000" else code[:4]


def same_place(a: str, b: str) -> bool:
    """Whether two region codes may name the same city (see the module)."""
    pa, pb = _place(a), _place(b)
    return pa.startswith(pb) or pb.startswith(pa)


def _judge(scan: ItineraryVisit, witnesses: Sequence[ItineraryVisit]) -> ScanFlag | None:
    near = [w for w in witnesses if abs(w.at - scan.at) <= CONTRADICTION_WINDOW]
    if near and not any(same_place(w.region_code, scan.region_code) for w in near):
        return CONTRADICTED
    backed = any(
        abs(w.at - scan.at) <= CORROBORATION_WINDOW and same_place(w.region_code, scan.region_code)
        for w in witnesses
    )
    return None if backed else UNCORROBORATED


def scan_flags(visits: Sequence[ItineraryVisit]) -> list[ScanFlag | None]:
    """The flag of each of one person's visits, in order: None for a visit that counts (every
    visit of another source, a corroborated scan), else why the scan is left out."""
    witnesses = [v for v in visits if v.source != _SCAN]
    return [_judge(v, witnesses) if v.source == _SCAN else None for v in visits]


def counted_visits(visits: Sequence[ItineraryVisit]) -> tuple[ItineraryVisit, ...]:
    """The visits that may place the person in a risk area (those :func:`scan_flags` does
    not flag)."""
    return tuple(v for v, flag in zip(visits, scan_flags(visits), strict=True) if flag is None)
