"""Typed core data: the records that decide a health code, each validated on the way in.

Every record kind is a frozen dataclass with ``from_dict(d, *, clock, skew=MAX_CLOCK_SKEW)``
that checks every field (value sets, region codes, time sanity) and raises
:class:`~healthcode.core.errors.InvalidInput` with a stable code and the ``field`` at fault, and
``to_dict()`` that gives the same JSON form back.

>>> from datetime import datetime, timezone
>>> from healthcode.core.clock import FixedClock
>>> clock = FixedClock(datetime(2022, 11, 20, 1, 0, tzinfo=timezone.utc))
>>> nat = NatResult.from_dict(
...     {"sampled_at": "2022-11-19T08:00:00+08:00", "result": "negative", "lab": "GZ-LAB-01"},
...     clock=clock)
>>> (nat.result, nat.pooling, nat.sampled_at.isoformat())
('negative', 'single', '2022-11-19T00:00:00+00:00')

Time sanity: no observed time (a sample, an onset, a scan, an assignment) may lie further in the
future than :data:`MAX_CLOCK_SKEW` (scheduled times, such as when a risk-area designation takes
effect, may); every time is kept in UTC, truncated to the millisecond
(the resolution of CertLogic date-times).
"""

from healthcode.core.facts.fields import Fields, Record, format_instant
from healthcode.core.facts.person import PersonFacts, risk_areas_from_list
from healthcode.core.facts.records import (
    AntibodyResult,
    ContactRecord,
    InfectionRecord,
    ItineraryVisit,
    ManualAssignment,
    NatMandate,
    NatResult,
    RiskAreaDesignation,
    Vaccination,
)
from healthcode.core.facts.vocabulary import (
    ANTIBODY_KINDS,
    CONTACT_KINDS,
    INFECTION_STATUSES,
    ITINERARY_SOURCES,
    MANUAL_COLOURS,
    MANUAL_GROUNDS,
    MAX_CLOCK_SKEW,
    MAX_MANDATE_INTERVAL_HOURS,
    MAX_MANUAL_DAYS,
    MAX_POOL_SIZE,
    NAT_POOLING,
    NAT_SAMPLE_TYPES,
    PRECISE_SOURCES,
    RISK_LEVELS,
    TEST_RESULTS,
    VACCINE_PRODUCTS,
)

__all__ = [
    "ANTIBODY_KINDS",
    "CONTACT_KINDS",
    "INFECTION_STATUSES",
    "ITINERARY_SOURCES",
    "MANUAL_COLOURS",
    "MANUAL_GROUNDS",
    "MAX_CLOCK_SKEW",
    "MAX_MANDATE_INTERVAL_HOURS",
    "MAX_MANUAL_DAYS",
    "MAX_POOL_SIZE",
    "NAT_POOLING",
    "NAT_SAMPLE_TYPES",
    "PRECISE_SOURCES",
    "RISK_LEVELS",
    "TEST_RESULTS",
    "VACCINE_PRODUCTS",
    "AntibodyResult",
    "ContactRecord",
    "Fields",
    "InfectionRecord",
    "ItineraryVisit",
    "ManualAssignment",
    "NatMandate",
    "NatResult",
    "PersonFacts",
    "Record",
    "RiskAreaDesignation",
    "Vaccination",
    "format_instant",
    "risk_areas_from_list",
]
