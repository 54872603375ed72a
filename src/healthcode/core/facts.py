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

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, TypeVar, cast

from healthcode.core import regions
from healthcode.core.clock import CHINA_TZ, Clock, parse_instant
from healthcode.core.error_codes import ErrorCode
from healthcode.core.errors import InvalidInput

__all__ = [
    "ANTIBODY_KINDS",
    "CONTACT_KINDS",
    "INFECTION_STATUSES",
    "ITINERARY_SOURCES",
    "MANUAL_COLOURS",
    "MAX_CLOCK_SKEW",
    "MAX_MANUAL_DAYS",
    "NAT_POOLING",
    "NAT_SAMPLE_TYPES",
    "PRECISE_SOURCES",
    "RISK_LEVELS",
    "TEST_RESULTS",
    "VACCINE_PRODUCTS",
    "AntibodyResult",
    "ContactRecord",
    "InfectionRecord",
    "ItineraryVisit",
    "ManualAssignment",
    "NatMandate",
    "NatResult",
    "PersonFacts",
    "RiskAreaDesignation",
    "Vaccination",
    "format_instant",
    "risk_areas_from_list",
]

#: How far in the future an observed time may lie: clocks of labs, phones and scanners drift.
#: Five minutes, as the checkpoint's claim check allows; anything later is a data error.
MAX_CLOCK_SKEW = timedelta(minutes=5)
#: The longest a manual assignment may last (the longest isolation of the 9th edition plus
#: monitoring is 10 days); a longer need is a new, newly approved assignment.
MAX_MANUAL_DAYS = 14
#: The longest interval of a test mandate, in hours (weekly tests of key groups).
MAX_MANDATE_INTERVAL_HOURS = 24 * 7

INFECTION_STATUSES = ("confirmed", "asymptomatic", "suspected")
RISK_LEVELS = ("high", "medium", "low")
TEST_RESULTS = ("positive", "negative")
NAT_SAMPLE_TYPES = ("oropharyngeal", "nasopharyngeal", "nasal", "saliva")
#: single-tube sampling, or pooled (混采, e.g. 10-in-1 / 20-in-1) with a pool size
NAT_POOLING = ("single", "pooled")
MAX_POOL_SIZE = 20
ANTIBODY_KINDS = ("IgM", "IgG", "total")
CONTACT_KINDS = ("close", "secondary")
ITINERARY_SOURCES = ("venue_scan", "transport_ticket", "declaration", "carrier_cell")
#: Sources precise enough to place a person in a designated area; carrier cell data is
#: city-level and only raises a pending check (a checkpoint asks), never a colour.
PRECISE_SOURCES = ("venue_scan", "transport_ticket", "declaration")
MANUAL_COLOURS = ("yellow", "red")
#: Grounds on which a manual assignment may rest; a venue scan alone is never enough.
MANUAL_GROUNDS = (
    "epidemiological_investigation",
    "contact_tracing",
    "lab_report",
    "venue_scan",
    "self_report",
)

#: COVID-19 vaccines approved (conditionally or for emergency use) in mainland China:
#: code -> (Chinese name, English name, doses in the primary series).
VACCINE_PRODUCTS: Mapping[str, tuple[str, str, int]] = {
    "BIBP": ("国药集团北京生物 新冠灭活疫苗(Vero细胞)", "Sinopharm BIBP inactivated", 2),
    "WIBP": ("国药集团武汉生物 新冠灭活疫苗(Vero细胞)", "Sinopharm WIBP inactivated", 2),
    "CoronaVac": ("北京科兴中维 新冠灭活疫苗(Vero细胞)", "Sinovac CoronaVac inactivated", 2),
    "KCONVAC": ("深圳康泰 新冠灭活疫苗(Vero细胞)", "Minhai KCONVAC inactivated", 2),
    "IMBCAMS": ("中国医学科学院医学生物学研究所 新冠灭活疫苗", "IMBCAMS inactivated", 2),
    "Ad5-nCoV": ("康希诺 重组新冠疫苗(5型腺病毒载体)", "CanSino Ad5-nCoV", 1),
    "Ad5-nCoV-IH": ("康希诺 吸入用重组新冠疫苗(5型腺病毒载体)", "CanSino Ad5-nCoV inhaled", 1),
    "ZF2001": ("智飞龙科马 重组新冠疫苗(CHO细胞)", "Zhifei ZF2001 recombinant protein", 3),
}

T = TypeVar("T")


def format_instant(value: datetime) -> str:
    """An instant as CertLogic reads it: UTC, millisecond precision, ``Z`` suffix.

    >>> format_instant(datetime(2022, 11, 20, 9, 0, tzinfo=CHINA_TZ))
    '2022-11-20T01:00:00.000Z'
    """
    utc = value if value.tzinfo is UTC else value.astimezone(UTC)
    if utc.year >= 1000:  # isoformat pads years to 4 digits; strftime's %Y does not
        # "YYYY-MM-DDTHH:MM:SS.mmm+00:00" -> "...mmmZ", without strftime (several times faster)
        return utc.isoformat(timespec="milliseconds")[:-6] + "Z"
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


# -- field readers: each raises InvalidInput(code, field=...) -------------------------------


def _missing(d: Mapping[str, Any], name: str, where: str) -> Any:
    if name not in d or d[name] is None:
        raise InvalidInput(
            ErrorCode.FIELD_MISSING, f"{where}{name} is required", field=where + name
        )
    return d[name]


def _str(d: Mapping[str, Any], name: str, where: str, *, required: bool = True) -> str | None:
    if not required and d.get(name) is None:
        return None
    value = _missing(d, name, where)
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(
            ErrorCode.FIELD_TYPE, f"{where}{name} must be a non-empty string", field=where + name
        )
    return value.strip()


def _choice(
    d: Mapping[str, Any],
    name: str,
    where: str,
    allowed: Sequence[str],
    *,
    default: str | None = None,
) -> str:
    value = d.get(name, default)
    if value is None:
        _missing(d, name, where)
    if value not in allowed:
        raise InvalidInput(
            ErrorCode.VALUE_NOT_IN_SET,
            f"{where}{name} is {value!r}, expected one of {', '.join(allowed)}",
            field=where + name,
            allowed=",".join(allowed),
        )
    return cast(str, value)


def _int(d: Mapping[str, Any], name: str, where: str, lo: int, hi: int) -> int:
    value = _missing(d, name, where)
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(
            ErrorCode.FIELD_TYPE, f"{where}{name} must be an integer", field=where + name
        )
    if not lo <= value <= hi:
        raise InvalidInput(
            ErrorCode.VALUE_OUT_OF_RANGE,
            f"{where}{name} is {value}, expected {lo}..{hi}",
            field=where + name,
        )
    return value


def _region(d: Mapping[str, Any], name: str, where: str) -> str:
    code = _str(d, name, where)
    assert code is not None
    try:
        regions.lookup(code)
    except InvalidInput as exc:
        raise InvalidInput(exc.code, exc.message, field=where + name) from exc
    return code


def _time(
    d: Mapping[str, Any],
    name: str,
    where: str,
    clock: Clock,
    skew: timedelta,
    *,
    required: bool = True,
    observed: bool = True,
) -> datetime | None:
    raw = d.get(name)
    if raw is None:
        if required:
            _missing(d, name, where)
        return None
    if type(raw) is str:
        # Fast path: the text as sent (datetime.fromisoformat reads a trailing "Z" itself);
        # anything it refuses (surrounding blanks...) goes through parse_instant as before.
        try:
            value = datetime.fromisoformat(raw)
        except ValueError:
            value = None
        if value is None or value.tzinfo is None:
            try:
                value = parse_instant(raw)
            except ValueError as exc:
                raise InvalidInput(
                    ErrorCode.TIME_FORMAT,
                    f"{where}{name} is not an ISO 8601 time: {raw!r}",
                    field=where + name,
                ) from exc
    elif isinstance(raw, datetime):
        value = raw if raw.tzinfo else raw.replace(tzinfo=CHINA_TZ)
    elif isinstance(raw, str):
        try:
            value = parse_instant(raw)
        except ValueError as exc:
            raise InvalidInput(
                ErrorCode.TIME_FORMAT,
                f"{where}{name} is not an ISO 8601 time: {raw!r}",
                field=where + name,
            ) from exc
    else:
        raise InvalidInput(
            ErrorCode.TIME_FORMAT, f"{where}{name} must be a time", field=where + name
        )
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    if value.microsecond % 1000:
        value = value.replace(microsecond=value.microsecond // 1000 * 1000)
    if observed and value > clock.now() + skew:
        raise InvalidInput(
            ErrorCode.TIME_IN_FUTURE,
            f"{where}{name} {value.isoformat()} is later than now plus {skew}",
            field=where + name,
        )
    return value


def _order(
    earlier: datetime | None,
    later: datetime | None,
    where: str,
    name: str,
    code: ErrorCode,
    what: str,
) -> None:
    if earlier is not None and later is not None and later < earlier:
        raise InvalidInput(code, f"{where}{name}: {what}", field=where + name)


def _iso(value: datetime | None) -> str | None:
    return None if value is None else format_instant(value)


# -- the records -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class InfectionRecord:
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
    def from_dict(
        cls,
        d: Mapping[str, Any],
        *,
        clock: Clock,
        skew: timedelta = MAX_CLOCK_SKEW,
        where: str = "",
    ) -> InfectionRecord:
        status = _choice(d, "status", where, INFECTION_STATUSES)
        reported = _time(d, "reported_at", where, clock, skew)
        onset = _time(d, "onset_at", where, clock, skew, required=False)
        released = _time(d, "released_at", where, clock, skew, required=False)
        _order(
            onset,
            reported,
            where,
            "onset_at",
            ErrorCode.ONSET_AFTER_REPORT,
            "onset is after the report",
        )
        _order(
            reported,
            released,
            where,
            "released_at",
            ErrorCode.RELEASE_BEFORE_REPORT,
            "release is before the report",
        )
        assert reported is not None
        return cls(
            cast(Any, status), reported, onset, released, _str(d, "case_id", where, required=False)
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "reported_at": _iso(self.reported_at),
            "onset_at": _iso(self.onset_at),
            "released_at": _iso(self.released_at),
            "case_id": self.case_id,
        }


@dataclass(frozen=True, slots=True)
class RiskAreaDesignation:
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
    def from_dict(
        cls,
        d: Mapping[str, Any],
        *,
        clock: Clock,
        skew: timedelta = MAX_CLOCK_SKEW,
        where: str = "",
    ) -> RiskAreaDesignation:
        region = _region(d, "region_code", where)
        level = _choice(d, "level", where, RISK_LEVELS)
        # Designations are announced ahead ("from tomorrow 00:00"), and so are planned ends:
        # these are scheduled times, not observations, so no TIME_IN_FUTURE for them.
        start = _time(d, "effective_from", where, clock, skew, observed=False)
        lifted = _time(d, "lifted_at", where, clock, skew, required=False, observed=False)
        if start is not None and lifted is not None and lifted <= start:
            raise InvalidInput(
                ErrorCode.LIFTED_BEFORE_EFFECTIVE,
                f"{where}lifted_at is not after effective_from",
                field=where + "lifted_at",
            )
        assert start is not None
        return cls(
            region, cast(Any, level), start, lifted, _str(d, "authority", where, required=False)
        )

    def covers(self, region_code: str, at: datetime) -> bool:
        """Whether a person in ``region_code`` at ``at`` was inside this designation."""
        if at < self.effective_from or (self.lifted_at is not None and at >= self.lifted_at):
            return False
        return region_code == self.region_code or regions.is_within(region_code, self.region_code)

    def to_dict(self) -> dict[str, Any]:
        return {
            "region_code": self.region_code,
            "level": self.level,
            "effective_from": _iso(self.effective_from),
            "lifted_at": _iso(self.lifted_at),
            "authority": self.authority,
        }


@dataclass(frozen=True, slots=True)
class NatResult:
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
    def from_dict(
        cls,
        d: Mapping[str, Any],
        *,
        clock: Clock,
        skew: timedelta = MAX_CLOCK_SKEW,
        where: str = "",
    ) -> NatResult:
        sampled = _time(d, "sampled_at", where, clock, skew)
        result = _choice(d, "result", where, TEST_RESULTS)
        lab = _str(d, "lab", where)
        sample_type = _choice(d, "sample_type", where, NAT_SAMPLE_TYPES, default="oropharyngeal")
        pooling = _choice(d, "pooling", where, NAT_POOLING, default="single")
        pool_size = _int(d, "pool_size", where, 2, MAX_POOL_SIZE) if pooling == "pooled" else 1
        resulted = _time(d, "resulted_at", where, clock, skew, required=False)
        _order(
            sampled,
            resulted,
            where,
            "resulted_at",
            ErrorCode.RESULT_BEFORE_SAMPLE,
            "the result is dated before the sample",
        )
        assert sampled is not None and lab is not None
        return cls(
            sampled, cast(Any, result), lab, sample_type, cast(Any, pooling), pool_size, resulted
        )

    def to_dict(self) -> dict[str, Any]:
        resulted = self.resulted_at
        return {
            "sampled_at": format_instant(self.sampled_at),
            "result": self.result,
            "lab": self.lab,
            "sample_type": self.sample_type,
            "pooling": self.pooling,
            "pool_size": self.pool_size,
            "resulted_at": None if resulted is None else format_instant(resulted),
        }


@dataclass(frozen=True, slots=True)
class AntibodyResult:
    """An antibody test (IgM, IgG or total antibody), positive or negative.

    Raises InvalidInput from ``from_dict``: ``FIELD_MISSING``, ``VALUE_NOT_IN_SET``, ``TIME_*``.
    """

    sampled_at: datetime
    kind: Literal["IgM", "IgG", "total"]
    result: Literal["positive", "negative"]
    lab: str

    @classmethod
    def from_dict(
        cls,
        d: Mapping[str, Any],
        *,
        clock: Clock,
        skew: timedelta = MAX_CLOCK_SKEW,
        where: str = "",
    ) -> AntibodyResult:
        sampled = _time(d, "sampled_at", where, clock, skew)
        kind = _choice(d, "kind", where, ANTIBODY_KINDS)
        result = _choice(d, "result", where, TEST_RESULTS)
        lab = _str(d, "lab", where)
        assert sampled is not None and lab is not None
        return cls(sampled, cast(Any, kind), cast(Any, result), lab)

    def to_dict(self) -> dict[str, Any]:
        return {
            "sampled_at": _iso(self.sampled_at),
            "kind": self.kind,
            "result": self.result,
            "lab": self.lab,
        }


@dataclass(frozen=True, slots=True)
class Vaccination:
    """One vaccine dose: product code (see :data:`VACCINE_PRODUCTS`), dose number, time, site.

    Raises InvalidInput from ``from_dict``: ``FIELD_MISSING``, ``VALUE_NOT_IN_SET``,
    ``VALUE_OUT_OF_RANGE`` (dose 1..5), ``TIME_*``.
    """

    product: str
    dose: int
    administered_at: datetime
    site: str

    @classmethod
    def from_dict(
        cls,
        d: Mapping[str, Any],
        *,
        clock: Clock,
        skew: timedelta = MAX_CLOCK_SKEW,
        where: str = "",
    ) -> Vaccination:
        product = _choice(d, "product", where, tuple(VACCINE_PRODUCTS))
        dose = _int(d, "dose", where, 1, 5)
        at = _time(d, "administered_at", where, clock, skew)
        site = _str(d, "site", where)
        assert at is not None and site is not None
        return cls(product, dose, at, site)

    def to_dict(self) -> dict[str, Any]:
        return {
            "product": self.product,
            "dose": self.dose,
            "administered_at": _iso(self.administered_at),
            "site": self.site,
        }


@dataclass(frozen=True, slots=True)
class ContactRecord:
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
    def from_dict(
        cls,
        d: Mapping[str, Any],
        *,
        clock: Clock,
        skew: timedelta = MAX_CLOCK_SKEW,
        where: str = "",
    ) -> ContactRecord:
        kind = _choice(d, "kind", where, CONTACT_KINDS)
        exposure = _time(d, "last_exposure_at", where, clock, skew)
        identified = _time(d, "identified_at", where, clock, skew)
        _order(
            exposure,
            identified,
            where,
            "identified_at",
            ErrorCode.IDENTIFIED_BEFORE_EXPOSURE,
            "identified before the exposure",
        )
        assert exposure is not None and identified is not None
        return cls(
            cast(Any, kind), exposure, identified, _str(d, "source_case", where, required=False)
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "last_exposure_at": _iso(self.last_exposure_at),
            "identified_at": _iso(self.identified_at),
            "source_case": self.source_case,
        }


@dataclass(frozen=True, slots=True)
class ItineraryVisit:
    """The person was in a region at a time, according to a source.

    Raises InvalidInput from ``from_dict``: ``FIELD_MISSING``, ``VALUE_NOT_IN_SET``,
    ``REGION_FORMAT``, ``REGION_UNKNOWN``, ``TIME_*``.
    """

    region_code: str
    at: datetime
    source: Literal["venue_scan", "transport_ticket", "declaration", "carrier_cell"]

    @classmethod
    def from_dict(
        cls,
        d: Mapping[str, Any],
        *,
        clock: Clock,
        skew: timedelta = MAX_CLOCK_SKEW,
        where: str = "",
    ) -> ItineraryVisit:
        region = _region(d, "region_code", where)
        at = _time(d, "at", where, clock, skew)
        source = _choice(d, "source", where, ITINERARY_SOURCES)
        assert at is not None
        return cls(region, at, cast(Any, source))

    def to_dict(self) -> dict[str, Any]:
        return {"region_code": self.region_code, "at": _iso(self.at), "source": self.source}


@dataclass(frozen=True, slots=True)
class ManualAssignment:
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
    def from_dict(
        cls,
        d: Mapping[str, Any],
        *,
        clock: Clock,
        skew: timedelta = MAX_CLOCK_SKEW,
        where: str = "",
    ) -> ManualAssignment:
        colour = _choice(d, "colour", where, MANUAL_COLOURS)
        assigned = _time(d, "assigned_at", where, clock, skew)
        until = _time(d, "until", where, clock, skew, observed=False)
        assert assigned is not None and until is not None
        if until <= assigned:
            raise InvalidInput(
                ErrorCode.MANUAL_UNTIL_ORDER,
                f"{where}until is not after assigned_at",
                field=where + "until",
            )
        if until - assigned > timedelta(days=MAX_MANUAL_DAYS):
            raise InvalidInput(
                ErrorCode.MANUAL_TOO_LONG,
                f"{where}until is more than {MAX_MANUAL_DAYS} days after assigned_at",
                field=where + "until",
            )
        basis, reason = _str(d, "legal_basis", where), _str(d, "reason", where)
        official, approver = _str(d, "official", where), _str(d, "approver", where)
        if official == approver:
            raise InvalidInput(
                ErrorCode.MANUAL_SELF_APPROVED,
                f"{where}approver must differ from the official",
                field=where + "approver",
            )
        raw = _missing(d, "grounds", where)
        if not isinstance(raw, list) or not raw:
            raise InvalidInput(
                ErrorCode.FIELD_TYPE,
                f"{where}grounds must be a non-empty list",
                field=where + "grounds",
            )
        grounds = tuple(_choice({"g": g}, "g", f"{where}grounds.", MANUAL_GROUNDS) for g in raw)
        if set(grounds) == {"venue_scan"}:
            raise InvalidInput(
                ErrorCode.MANUAL_VENUE_SCAN_ONLY,
                f"{where}a venue scan alone is no ground for a manual assignment",
                field=where + "grounds",
            )
        assert basis and reason and official and approver
        return cls(cast(Any, colour), assigned, until, basis, reason, official, approver, grounds)

    def to_dict(self) -> dict[str, Any]:
        return {
            "colour": self.colour,
            "assigned_at": _iso(self.assigned_at),
            "until": _iso(self.until),
            "legal_basis": self.legal_basis,
            "reason": self.reason,
            "official": self.official,
            "approver": self.approver,
            "grounds": list(self.grounds),
        }


@dataclass(frozen=True, slots=True)
class NatMandate:
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
    def from_dict(
        cls,
        d: Mapping[str, Any],
        *,
        clock: Clock,
        skew: timedelta = MAX_CLOCK_SKEW,
        where: str = "",
    ) -> NatMandate:
        issued = _time(d, "issued_at", where, clock, skew)
        interval = _int(d, "interval_hours", where, 1, MAX_MANDATE_INTERVAL_HOURS)
        ends = _time(d, "ends_at", where, clock, skew, required=False, observed=False)
        assert issued is not None
        if ends is not None and ends <= issued:
            raise InvalidInput(
                ErrorCode.MANDATE_ENDS_ORDER,
                f"{where}ends_at is not after issued_at",
                field=where + "ends_at",
            )
        basis, by = _str(d, "legal_basis", where), _str(d, "issued_by", where)
        assert basis and by
        return cls(issued, interval, basis, by, ends)

    def due_at(self, samples: Sequence[datetime]) -> datetime | None:
        """When the next sample is due given these sample times; None once the mandate ended."""
        taken = [s for s in samples if s >= self.issued_at]
        due = max([self.issued_at, *taken]) + timedelta(hours=self.interval_hours)
        return None if self.ends_at is not None and due > self.ends_at else due

    def to_dict(self) -> dict[str, Any]:
        return {
            "issued_at": _iso(self.issued_at),
            "interval_hours": self.interval_hours,
            "legal_basis": self.legal_basis,
            "issued_by": self.issued_by,
            "ends_at": _iso(self.ends_at),
        }


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
    "infections": InfectionRecord,
    "nat_results": NatResult,
    "antibody_results": AntibodyResult,
    "vaccinations": Vaccination,
    "contacts": ContactRecord,
    "visits": ItineraryVisit,
    "manual_assignments": ManualAssignment,
    "test_mandates": NatMandate,
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
    infections: tuple[InfectionRecord, ...] = ()
    nat_results: tuple[NatResult, ...] = ()
    antibody_results: tuple[AntibodyResult, ...] = ()
    vaccinations: tuple[Vaccination, ...] = ()
    contacts: tuple[ContactRecord, ...] = ()
    visits: tuple[ItineraryVisit, ...] = ()
    manual_assignments: tuple[ManualAssignment, ...] = ()
    test_mandates: tuple[NatMandate, ...] = ()

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
        return cls(person=_str(d, "person", "", required=False), **kinds)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"person": self.person}
        for name in _KINDS:
            out[name] = [r.to_dict() for r in getattr(self, name)]
        return out


def risk_areas_from_list(
    raw: Any, *, clock: Clock, skew: timedelta = MAX_CLOCK_SKEW
) -> tuple[RiskAreaDesignation, ...]:
    """Parse a list of risk-area designations (as in a facts file's ``risk_areas``).

    Raises InvalidInput as :meth:`RiskAreaDesignation.from_dict`, ``field`` naming the item.
    """
    return _records({"risk_areas": raw}, "risk_areas", RiskAreaDesignation.from_dict, clock, skew)
