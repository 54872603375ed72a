"""Everything known about one person, and the shared list of risk-area designations."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar

from healthcode.core.clock import Clock
from healthcode.core.error_codes import ErrorCode
from healthcode.core.errors import InvalidInput
from healthcode.core.facts import records
from healthcode.core.facts.fields import Fields
from healthcode.core.facts.vocabulary import MAX_CLOCK_SKEW

__all__ = ["PersonFacts", "risk_areas_from_list"]

T = TypeVar("T")


def _records(
    d: Mapping[str, Any], name: str, parse: Callable[..., T], clock: Clock, skew: timedelta
) -> tuple[T, ...]:
    raw = d.get(name) or []
    if not isinstance(raw, list):
        raise InvalidInput(ErrorCode.FIELD_TYPE, f"{name} must be a list", field=name)
    out = []
    for i, item in enumerate(raw):
        if not isinstance(item, Mapping):
            raise InvalidInput(
                ErrorCode.FIELD_TYPE, f"{name}[{i}] must be an object", field=f"{name}[{i}]"
            )
        out.append(parse(item, clock=clock, skew=skew, where=f"{name}[{i}]."))
    return tuple(out)


_KINDS: dict[str, Any] = {
    "infections": records.InfectionRecord,
    "nat_results": records.NatResult,
    "antibody_results": records.AntibodyResult,
    "vaccinations": records.Vaccination,
    "contacts": records.ContactRecord,
    "visits": records.ItineraryVisit,
    "manual_assignments": records.ManualAssignment,
    "test_mandates": records.NatMandate,
}


@dataclass(frozen=True, slots=True)
class PersonFacts:
    """Everything known about one person; risk areas are shared and passed beside it.

    >>> from datetime import datetime, timezone
    >>> from healthcode.core.clock import FixedClock
    >>> clock = FixedClock(datetime(2022, 11, 20, 1, 0, tzinfo=timezone.utc))
    >>> PersonFacts.from_dict({"person": "p1", "vaccinations": []}, clock=clock).person
    'p1'

    Raises InvalidInput from ``from_dict``: ``UNKNOWN_FIELD`` for a key it does not know, and
    every code of the record kinds (``field`` says which record, e.g. ``nat_results[2].lab``).
    """

    person: str | None = None
    infections: tuple[records.InfectionRecord, ...] = ()
    nat_results: tuple[records.NatResult, ...] = ()
    antibody_results: tuple[records.AntibodyResult, ...] = ()
    vaccinations: tuple[records.Vaccination, ...] = ()
    contacts: tuple[records.ContactRecord, ...] = ()
    visits: tuple[records.ItineraryVisit, ...] = ()
    manual_assignments: tuple[records.ManualAssignment, ...] = ()
    test_mandates: tuple[records.NatMandate, ...] = ()

    @classmethod
    def from_dict(
        cls, d: Mapping[str, Any], *, clock: Clock, skew: timedelta = MAX_CLOCK_SKEW
    ) -> PersonFacts:
        unknown = sorted(set(d) - set(_KINDS) - {"person", "risk_areas"})
        if unknown:
            raise InvalidInput(
                ErrorCode.UNKNOWN_FIELD, f"unknown field {unknown[0]!r}", field=unknown[0]
            )
        kinds = {
            name: _records(d, name, kind.from_dict, clock, skew) for name, kind in _KINDS.items()
        }
        person = Fields(d, clock=clock, skew=skew).optional_text("person")
        return cls(person=person, **kinds)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"person": self.person}
        for name in _KINDS:
            out[name] = [r.to_dict() for r in getattr(self, name)]
        return out


def risk_areas_from_list(
    raw: Any, *, clock: Clock, skew: timedelta = MAX_CLOCK_SKEW
) -> tuple[records.RiskAreaDesignation, ...]:
    """Parse a list of risk-area designations (as in a facts file's ``risk_areas``).

    Raises InvalidInput as :meth:`RiskAreaDesignation.from_dict`, ``field`` naming the item.
    """
    return _records(
        {"risk_areas": raw}, "risk_areas", records.RiskAreaDesignation.from_dict, clock, skew
    )
