"""The record kinds that decide a health code, each a frozen dataclass read by :class:`Fields`.

Each kind's docstring lists the codes its ``from_dict`` raises (as
:class:`~healthcode.core.errors.InvalidInput`, with the ``field`` at fault).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from healthcode.core import regions
from healthcode.core.error_codes import ErrorCode
from healthcode.core.facts import vocabulary as vocab
from healthcode.core.facts.fields import Fields, Record

__all__ = [
    "AntibodyResult",
    "ContactRecord",
    "InfectionRecord",
    "ItineraryVisit",
    "ManualAssignment",
    "NatMandate",
    "NatResult",
    "RiskAreaDesignation",
    "Vaccination",
]


@dataclass(frozen=True, slots=True)
class InfectionRecord(Record):
    """A reported case (confirmed, asymptomatic or suspected) and, once over, its release.

    ``released_at`` is discharge or release from isolation (a suspected case excluded counts
    as released). Raises InvalidInput from ``from_dict``: ``FIELD_MISSING``, ``VALUE_NOT_IN_SET``,
    ``TIME_FORMAT``, ``TIME_IN_FUTURE``, ``RELEASE_BEFORE_REPORT``, ``ONSET_AFTER_REPORT``.
    """

    status: Literal["confirmed", "asymptomatic", "suspected"]
    reported_at: datetime
    onset_at: datetime | None = None
    released_at: datetime | None = None
    case_id: str | None = None

    @classmethod
    def read(cls, f: Fields) -> InfectionRecord:
        status = f.choice("status", vocab.INFECTION_STATUSES)
        reported = f.time("reported_at")
        onset = f.optional_time("onset_at")
        released = f.optional_time("released_at")
        onset_after = ErrorCode.ONSET_AFTER_REPORT
        f.order(onset, reported, "onset_at", onset_after, "onset is after the report")
        release_before = ErrorCode.RELEASE_BEFORE_REPORT
        f.order(reported, released, "released_at", release_before, "release is before the report")
        return cls(status, reported, onset, released, f.optional_text("case_id"))


@dataclass(frozen=True, slots=True)
class RiskAreaDesignation(Record):
    """An area risk level for a region code from ``effective_from`` until ``lifted_at``.

    Both times may lie in the future (a designation announced ahead of time).

    Raises InvalidInput from ``from_dict``: ``VALUE_NOT_IN_SET``, ``REGION_FORMAT``,
    ``REGION_UNKNOWN``, ``TIME_*``, ``LIFTED_BEFORE_EFFECTIVE``.
    """

    region_code: str
    level: Literal["high", "medium", "low"]
    effective_from: datetime
    lifted_at: datetime | None = None
    authority: str | None = None

    @classmethod
    def read(cls, f: Fields) -> RiskAreaDesignation:
        region = f.region("region_code")
        level = f.choice("level", vocab.RISK_LEVELS)
        # Designations are announced ahead ("from tomorrow 00:00"), and so are planned ends:
        # these are scheduled times, not observations, so no TIME_IN_FUTURE for them.
        start = f.time("effective_from", observed=False)
        lifted = f.optional_time("lifted_at", observed=False)
        if lifted is not None and lifted <= start:
            code = ErrorCode.LIFTED_BEFORE_EFFECTIVE
            raise f.fail(code, "lifted_at", "lifted_at is not after effective_from")
        return cls(region, level, start, lifted, f.optional_text("authority"))

    def covers(self, region_code: str, at: datetime) -> bool:
        """Whether a person in ``region_code`` at ``at`` was inside this designation."""
        if at < self.effective_from or (self.lifted_at is not None and at >= self.lifted_at):
            return False
        return region_code == self.region_code or regions.is_within(region_code, self.region_code)


@dataclass(frozen=True, slots=True)
class NatResult(Record):
    """A nucleic acid test: sample time, result, lab, sample type, single or pooled.

    A pooled sample names its pool size (2..20). Raises InvalidInput from ``from_dict``:
    ``FIELD_MISSING``, ``VALUE_NOT_IN_SET``, ``VALUE_OUT_OF_RANGE``, ``TIME_*``,
    ``RESULT_BEFORE_SAMPLE``.
    """

    sampled_at: datetime
    result: Literal["positive", "negative"]
    lab: str
    sample_type: str = "oropharyngeal"
    pooling: Literal["single", "pooled"] = "single"
    pool_size: int = 1
    resulted_at: datetime | None = None

    @classmethod
    def read(cls, f: Fields) -> NatResult:
        sampled = f.time("sampled_at")
        result = f.choice("result", vocab.TEST_RESULTS)
        lab = f.text("lab")
        sample_type = f.choice("sample_type", vocab.NAT_SAMPLE_TYPES, default="oropharyngeal")
        pooling = f.choice("pooling", vocab.NAT_POOLING, default="single")
        pool_size = f.integer("pool_size", 2, vocab.MAX_POOL_SIZE) if pooling == "pooled" else 1
        resulted = f.optional_time("resulted_at")
        what = "the result is dated before the sample"
        f.order(sampled, resulted, "resulted_at", ErrorCode.RESULT_BEFORE_SAMPLE, what)
        return cls(sampled, result, lab, sample_type, pooling, pool_size, resulted)


@dataclass(frozen=True, slots=True)
class AntibodyResult(Record):
    """An antibody test (IgM, IgG or total antibody), positive or negative.

    Raises InvalidInput from ``from_dict``: ``FIELD_MISSING``, ``VALUE_NOT_IN_SET``, ``TIME_*``.
    """

    sampled_at: datetime
    kind: Literal["IgM", "IgG", "total"]
    result: Literal["positive", "negative"]
    lab: str

    @classmethod
    def read(cls, f: Fields) -> AntibodyResult:
        sampled = f.time("sampled_at")
        kind = f.choice("kind", vocab.ANTIBODY_KINDS)
        return cls(sampled, kind, f.choice("result", vocab.TEST_RESULTS), f.text("lab"))


@dataclass(frozen=True, slots=True)
class Vaccination(Record):
    """One vaccine dose: product code (see :data:`VACCINE_PRODUCTS`), dose number, time, site.

    Raises InvalidInput from ``from_dict``: ``FIELD_MISSING``, ``VALUE_NOT_IN_SET``,
    ``VALUE_OUT_OF_RANGE`` (dose 1..5), ``TIME_*``.
    """

    product: str
    dose: int
    administered_at: datetime
    site: str

    @classmethod
    def read(cls, f: Fields) -> Vaccination:
        product = f.choice("product", tuple(vocab.VACCINE_PRODUCTS))
        dose = f.integer("dose", 1, 5)
        return cls(product, dose, f.time("administered_at"), f.text("site"))


@dataclass(frozen=True, slots=True)
class ContactRecord(Record):
    """A close contact, or a contact of a close contact (``secondary``), from tracing.

    ``last_exposure_at`` is the last contact with the case (or with the close contact).
    Raises InvalidInput from ``from_dict``: ``FIELD_MISSING``, ``VALUE_NOT_IN_SET``, ``TIME_*``,
    ``IDENTIFIED_BEFORE_EXPOSURE``.
    """

    kind: Literal["close", "secondary"]
    last_exposure_at: datetime
    identified_at: datetime
    source_case: str | None = None

    @classmethod
    def read(cls, f: Fields) -> ContactRecord:
        kind = f.choice("kind", vocab.CONTACT_KINDS)
        exposure = f.time("last_exposure_at")
        identified = f.time("identified_at")
        code, what = ErrorCode.IDENTIFIED_BEFORE_EXPOSURE, "identified before the exposure"
        f.order(exposure, identified, "identified_at", code, what)
        return cls(kind, exposure, identified, f.optional_text("source_case"))


@dataclass(frozen=True, slots=True)
class ItineraryVisit(Record):
    """The person was in a region at a time, according to a source.

    Raises InvalidInput from ``from_dict``: ``FIELD_MISSING``, ``VALUE_NOT_IN_SET``,
    ``REGION_FORMAT``, ``REGION_UNKNOWN``, ``TIME_*``.
    """

    region_code: str
    at: datetime
    source: Literal["venue_scan", "transport_ticket", "declaration", "carrier_cell"]

    @classmethod
    def read(cls, f: Fields) -> ItineraryVisit:
        region = f.region("region_code")
        at = f.time("at")
        return cls(region, at, f.choice("source", vocab.ITINERARY_SOURCES))


@dataclass(frozen=True, slots=True)
class ManualAssignment(Record):
    """A colour set by an authorised official: the system's most dangerous power.

    It needs a legal basis, a reason, an official and a *different* approver, an end
    (``until``, at most :data:`MAX_MANUAL_DAYS` after ``assigned_at``), and grounds that are
    not a venue scan alone. Raises InvalidInput from ``from_dict``: ``FIELD_MISSING``,
    ``VALUE_NOT_IN_SET``, ``TIME_*``, ``MANUAL_SELF_APPROVED``, ``MANUAL_UNTIL_ORDER``,
    ``MANUAL_TOO_LONG``, ``MANUAL_VENUE_SCAN_ONLY``.
    """

    colour: Literal["yellow", "red"]
    assigned_at: datetime
    until: datetime
    legal_basis: str
    reason: str
    official: str
    approver: str
    grounds: tuple[str, ...]

    @classmethod
    def read(cls, f: Fields) -> ManualAssignment:
        colour = f.choice("colour", vocab.MANUAL_COLOURS)
        assigned = f.time("assigned_at")
        until = f.time("until", observed=False)
        if until <= assigned:
            raise f.fail(ErrorCode.MANUAL_UNTIL_ORDER, "until", "until is not after assigned_at")
        if until - assigned > timedelta(days=vocab.MAX_MANUAL_DAYS):
            message = f"until is more than {vocab.MAX_MANUAL_DAYS} days after assigned_at"
            raise f.fail(ErrorCode.MANUAL_TOO_LONG, "until", message)
        basis, reason = f.text("legal_basis"), f.text("reason")
        official, approver = f.text("official"), f.text("approver")
        if official == approver:
            message = "approver must differ from the official"
            raise f.fail(ErrorCode.MANUAL_SELF_APPROVED, "approver", message)
        grounds = _grounds(f)
        return cls(colour, assigned, until, basis, reason, official, approver, grounds)


def _grounds(f: Fields) -> tuple[str, ...]:
    raw = f.required("grounds")
    if not isinstance(raw, list) or not raw:
        raise f.fail(ErrorCode.FIELD_TYPE, "grounds", "grounds must be a non-empty list")
    each = f"{f.where}grounds."
    grounds = tuple(
        Fields({"g": g}, clock=f.clock, skew=f.skew, where=each).choice("g", vocab.MANUAL_GROUNDS)
        for g in raw
    )
    if set(grounds) == {"venue_scan"}:
        message = "a venue scan alone is no ground for a manual assignment"
        raise f.fail(ErrorCode.MANUAL_VENUE_SCAN_ONLY, "grounds", message)
    return grounds


@dataclass(frozen=True, slots=True)
class NatMandate(Record):
    """An order to take a NAT sample at least every ``interval_hours`` from ``issued_at``.

    It ends at ``ends_at`` (none: until revoked by a new record). A one-off "test within 24 h"
    is ``interval_hours=24`` with ``ends_at = issued_at + 24 h``. Raises InvalidInput from
    ``from_dict``: ``FIELD_MISSING``, ``VALUE_OUT_OF_RANGE``, ``TIME_*``, ``MANDATE_ENDS_ORDER``.
    """

    issued_at: datetime
    interval_hours: int
    legal_basis: str
    issued_by: str
    ends_at: datetime | None = None

    @classmethod
    def read(cls, f: Fields) -> NatMandate:
        issued = f.time("issued_at")
        interval = f.integer("interval_hours", 1, vocab.MAX_MANDATE_INTERVAL_HOURS)
        ends = f.optional_time("ends_at", observed=False)
        if ends is not None and ends <= issued:
            raise f.fail(ErrorCode.MANDATE_ENDS_ORDER, "ends_at", "ends_at is not after issued_at")
        return cls(issued, interval, f.text("legal_basis"), f.text("issued_by"), ends)

    def due_at(self, samples: Sequence[datetime]) -> datetime | None:
        """When the next sample is due given these sample times; None once the mandate ended."""
        taken = [s for s in samples if s >= self.issued_at]
        due = max([self.issued_at, *taken]) + timedelta(hours=self.interval_hours)
        return None if self.ends_at is not None and due > self.ends_at else due
