"""The facts document the rules read: one flat record of scalars per person.

:func:`summarise` turns a person's typed facts (and the shared risk-area designations) into a
flat mapping ``field -> scalar`` that does not depend on the time of evaluation; the rules add
``now`` beside it. CertLogic reads it as ``{"now": ..., "facts": summary}`` (``{"var":
"facts.close_last_exposure"}``); the batch evaluator reads one column per field.
:data:`SUMMARY_FIELDS` names every field and its type; times are CertLogic date-time strings
(UTC, milliseconds, ``Z``), absent facts are ``None``.

>>> from datetime import datetime, timezone
>>> from healthcode.core.clock import FixedClock
>>> from healthcode.core.facts import PersonFacts
>>> clock = FixedClock(datetime(2022, 11, 20, 1, 0, tzinfo=timezone.utc))
>>> facts = PersonFacts.from_dict({"contacts": [{"kind": "close",
...     "last_exposure_at": "2022-11-18T20:00:00+08:00",
...     "identified_at": "2022-11-19T10:00:00+08:00"}]}, clock=clock)
>>> summarise(facts, ())["close_last_exposure"]
'2022-11-18T12:00:00.000Z'
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, Literal

from healthcode.core.facts import (
    PRECISE_SOURCES,
    ItineraryVisit,
    PersonFacts,
    RiskAreaDesignation,
    format_instant,
)
from healthcode.core.facts.scans import counted_visits

__all__ = [
    "AREA_FIELDS",
    "PERSON_FIELDS",
    "SUMMARY_FIELDS",
    "FieldType",
    "area_facts",
    "empty_summary",
    "summarise",
]

FieldType = Literal["time", "str", "int"]

#: Every field of the facts document, with its type and what it means.
SUMMARY_FIELDS: Mapping[str, tuple[FieldType, str]] = {
    "infection_status": ("str", "worst unreleased infection: confirmed > asymptomatic > suspected"),
    "infection_reported_at": ("time", "when that infection was reported"),
    "infection_released_at": ("time", "latest release of a case, when no infection is current"),
    "close_last_exposure": ("time", "last exposure as a close contact"),
    "secondary_last_exposure": ("time", "last exposure as a contact of a close contact"),
    "high_area_last_visit": ("time", "last precise visit in a high-risk area while designated"),
    "medium_area_last_visit": ("time", "last precise visit in a medium-risk area while designated"),
    # carrier-cell data places a person only roughly: a pending check, never a colour
    "coarse_risk_area_last_visit": ("time", "last cell visit, high/medium area while designated"),
    "nat_last_sample": ("time", "latest NAT sample, any result"),
    "nat_last_negative": ("time", "latest negative NAT sample with no later positive one"),
    "nat_last_positive": ("time", "latest positive NAT sample"),
    "mandated_test_due_at": ("time", "earliest due time of a NAT mandate not yet met"),
    "manual_red_until": ("time", "end of the longest-running red manual assignment"),
    "manual_red_basis": ("str", "its legal basis"),
    "manual_yellow_until": ("time", "end of the longest-running yellow manual assignment"),
    "manual_yellow_basis": ("str", "its legal basis"),
    "vaccine_doses": ("int", "number of distinct doses received (0 when none)"),
    "antibody_igg": ("str", "latest IgG result: positive / negative; None when untested"),
}

#: The fields the risk areas decide (from the person's counted visits, :func:`area_facts`):
#: they change when a designation does, with nothing new about the person.
AREA_FIELDS = ("high_area_last_visit", "medium_area_last_visit", "coarse_risk_area_last_visit")
#: The other fields: the person's own records alone decide them.
PERSON_FIELDS = tuple(name for name in SUMMARY_FIELDS if name not in AREA_FIELDS)

_SEVERITY = {"suspected": 1, "asymptomatic": 2, "confirmed": 3}


def empty_summary() -> dict[str, Any]:
    """The facts document of a person about whom nothing is known."""
    out: dict[str, Any] = dict.fromkeys(SUMMARY_FIELDS)
    out["vaccine_doses"] = 0
    return out


def _latest(values: Iterable[datetime | None]) -> datetime | None:
    present = [v for v in values if v is not None]
    return max(present) if present else None


def _t(value: datetime | None) -> str | None:
    return None if value is None else format_instant(value)


def summarise(facts: PersonFacts, risk_areas: Iterable[RiskAreaDesignation]) -> dict[str, Any]:
    """The flat facts document of one person; see :data:`SUMMARY_FIELDS`.

    Pure and independent of the time of evaluation. Raises nothing for validated facts
    (region codes were checked when the records were read).
    """
    out = empty_summary()
    out.update(_infections(facts))
    out["close_last_exposure"] = _t(_latest_contact(facts, "close"))
    out["secondary_last_exposure"] = _t(_latest_contact(facts, "secondary"))
    # a venue scan counts only when the person's own movement backs it (core/facts/scans.py)
    out.update(area_facts(counted_visits(facts.visits), risk_areas))
    out.update(_nat(facts))
    for colour in ("red", "yellow"):
        out.update(_manual(facts, colour))
    out["vaccine_doses"] = len({(v.product, v.dose, v.administered_at) for v in facts.vaccinations})
    igg = [a for a in facts.antibody_results if a.kind == "IgG"]
    if igg:
        out["antibody_igg"] = max(igg, key=lambda a: a.sampled_at).result
    return out


def _infections(facts: PersonFacts) -> dict[str, Any]:
    """The most severe current infection, or the latest release when none is current."""
    out: dict[str, Any] = {}
    current = [i for i in facts.infections if i.released_at is None]
    if current:
        worst = max(current, key=lambda i: (_SEVERITY[i.status], i.reported_at))
        out["infection_status"] = worst.status
        out["infection_reported_at"] = _t(worst.reported_at)
    if not any(i.status != "suspected" for i in current):
        out["infection_released_at"] = _t(
            _latest(i.released_at for i in facts.infections if i.status != "suspected")
        )
    return out


def _latest_contact(facts: PersonFacts, kind: str) -> datetime | None:
    return _latest(c.last_exposure_at for c in facts.contacts if c.kind == kind)


def area_facts(
    visits: Iterable[ItineraryVisit], risk_areas: Iterable[RiskAreaDesignation]
) -> dict[str, str | None]:
    """The :data:`AREA_FIELDS` of one person: the last visits inside high- and medium-risk
    areas while designated (precise sources), and inside either with a coarse source, among
    ``visits``, which must be the counted ones (``core.facts.scans.counted_visits``; the
    province's unflagged ``visits`` rows). The one derivation of these fields for one person:
    :func:`summarise` and every reader of a person's facts document use it; the columnar
    ``batch.areas.area_visits`` is kept equal to it by a property test."""
    areas = [a for a in risk_areas if a.level in ("high", "medium")]
    high: list[datetime] = []
    medium: list[datetime] = []
    coarse: list[datetime] = []
    for visit in visits:
        levels = {a.level for a in areas if a.covers(visit.region_code, visit.at)}
        if not levels:
            continue
        if visit.source not in PRECISE_SOURCES:
            coarse.append(visit.at)
        elif "high" in levels:
            high.append(visit.at)
        else:
            medium.append(visit.at)
    return {
        "high_area_last_visit": _t(_latest(high)),
        "medium_area_last_visit": _t(_latest(medium)),
        "coarse_risk_area_last_visit": _t(_latest(coarse)),
    }


def _nat(facts: PersonFacts) -> dict[str, Any]:
    """The latest sample, the latest negative one with no later positive, the next due test."""
    samples = [n.sampled_at for n in facts.nat_results]
    last_negative = _latest(n.sampled_at for n in facts.nat_results if n.result == "negative")
    last_positive = _latest(n.sampled_at for n in facts.nat_results if n.result == "positive")
    negative = last_negative is not None and (
        last_positive is None or last_negative > last_positive
    )
    dues = [m.due_at(samples) for m in facts.test_mandates]
    present = [d for d in dues if d is not None]
    return {
        "nat_last_sample": _t(_latest(samples)),
        "nat_last_negative": _t(last_negative) if negative else None,
        "nat_last_positive": _t(last_positive),
        "mandated_test_due_at": _t(min(present) if present else None),
    }


def _manual(facts: PersonFacts, colour: str) -> dict[str, Any]:
    """The end and legal basis of the longest-running manual assignment of ``colour``."""
    mine = [m for m in facts.manual_assignments if m.colour == colour]
    if not mine:
        return {}
    longest = max(mine, key=lambda m: (m.until, m.assigned_at))
    return {
        f"manual_{colour}_until": _t(longest.until),
        f"manual_{colour}_basis": longest.legal_basis,
    }
