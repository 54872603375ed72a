"""Typed core data: every field validated, every refusal with its stable code and field."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from healthcode.core.clock import FixedClock
from healthcode.core.errors import InvalidInput
from healthcode.core.facts import (
    MAX_CLOCK_SKEW,
    AntibodyResult,
    ContactRecord,
    InfectionRecord,
    ItineraryVisit,
    ManualAssignment,
    NatMandate,
    NatResult,
    PersonFacts,
    RiskAreaDesignation,
    Vaccination,
    format_instant,
    risk_areas_from_list,
)

NOW = datetime(2022, 11, 20, 1, 0, tzinfo=UTC)
CLOCK = FixedClock(NOW)


def refused(kind: Any, d: dict[str, Any]) -> InvalidInput:
    with pytest.raises(InvalidInput) as info:
        kind.from_dict(d, clock=CLOCK)
    return info.value


NAT = {"sampled_at": "2022-11-19T08:00:00+08:00", "result": "negative", "lab": "GZ-LAB-01"}


def test_nat_defaults_and_round_trip() -> None:
    nat = NatResult.from_dict(NAT, clock=CLOCK)
    assert nat.sampled_at == datetime(2022, 11, 19, 0, 0, tzinfo=UTC)
    assert (nat.pooling, nat.pool_size, nat.sample_type) == ("single", 1, "oropharyngeal")
    assert NatResult.from_dict(nat.to_dict(), clock=CLOCK) == nat


def test_nat_pooled_needs_pool_size() -> None:
    e = refused(NatResult, {**NAT, "pooling": "pooled"})
    assert (e.code, e.details["field"]) == ("FIELD_MISSING", "pool_size")
    e = refused(NatResult, {**NAT, "pooling": "pooled", "pool_size": 50})
    assert e.code == "VALUE_OUT_OF_RANGE"
    ok = NatResult.from_dict({**NAT, "pooling": "pooled", "pool_size": 10}, clock=CLOCK)
    assert ok.pool_size == 10


@pytest.mark.parametrize(
    ("change", "code", "field"),
    [
        ({"result": "maybe"}, "VALUE_NOT_IN_SET", "result"),
        ({"sample_type": "blood"}, "VALUE_NOT_IN_SET", "sample_type"),
        ({"lab": ""}, "FIELD_TYPE", "lab"),
        ({"lab": None}, "FIELD_MISSING", "lab"),
        ({"sampled_at": "yesterday"}, "TIME_FORMAT", "sampled_at"),
        ({"sampled_at": 12}, "TIME_FORMAT", "sampled_at"),
        ({"resulted_at": "2022-11-18T08:00:00+08:00"}, "RESULT_BEFORE_SAMPLE", "resulted_at"),
    ],
)
def test_nat_field_errors(change: dict[str, Any], code: str, field: str) -> None:
    e = refused(NatResult, {**NAT, **change})
    assert (e.code, e.details["field"]) == (code, field)


def test_time_skew_boundary() -> None:
    at_limit = format_instant(NOW + MAX_CLOCK_SKEW)
    assert NatResult.from_dict({**NAT, "sampled_at": at_limit}, clock=CLOCK)
    beyond = format_instant(NOW + MAX_CLOCK_SKEW + timedelta(milliseconds=1))
    assert refused(NatResult, {**NAT, "sampled_at": beyond}).code == "TIME_IN_FUTURE"
    # a smaller stated skew refuses what the default allows
    with pytest.raises(InvalidInput, match="TIME_IN_FUTURE"):
        NatResult.from_dict({**NAT, "sampled_at": at_limit}, clock=CLOCK, skew=timedelta(0))


def test_time_without_offset_is_china_time_and_truncated_to_ms() -> None:
    nat = NatResult.from_dict({**NAT, "sampled_at": "2022-11-19T08:00:00.123456"}, clock=CLOCK)
    assert nat.sampled_at == datetime(2022, 11, 19, 0, 0, 0, 123000, tzinfo=UTC)


def test_infection_order_and_values() -> None:
    base = {"status": "confirmed", "reported_at": "2022-11-15T10:00:00+08:00"}
    rec = InfectionRecord.from_dict({**base, "onset_at": "2022-11-14T10:00:00+08:00"}, clock=CLOCK)
    assert rec.status == "confirmed" and rec.released_at is None
    assert refused(InfectionRecord, {**base, "status": "recovered"}).code == "VALUE_NOT_IN_SET"
    e = refused(InfectionRecord, {**base, "onset_at": "2022-11-16T10:00:00+08:00"})
    assert e.code == "ONSET_AFTER_REPORT"
    e = refused(InfectionRecord, {**base, "released_at": "2022-11-14T10:00:00+08:00"})
    assert e.code == "RELEASE_BEFORE_REPORT"
    assert InfectionRecord.from_dict(rec.to_dict(), clock=CLOCK) == rec


def test_risk_area_region_and_window() -> None:
    d = {"region_code": "440106", "level": "high", "effective_from": "2022-11-10T00:00:00+08:00"}
    area = RiskAreaDesignation.from_dict(d, clock=CLOCK)
    assert area.covers("440106", NOW) and not area.covers(
        "440106", datetime(2022, 11, 1, tzinfo=UTC)
    )
    assert not area.covers("110105", NOW)
    prefecture = RiskAreaDesignation.from_dict({**d, "region_code": "440100"}, clock=CLOCK)
    assert prefecture.covers("440106", NOW)
    assert refused(RiskAreaDesignation, {**d, "region_code": "449999"}).code == "REGION_UNKNOWN"
    assert refused(RiskAreaDesignation, {**d, "region_code": "44"}).code == "REGION_FORMAT"
    assert refused(RiskAreaDesignation, {**d, "level": "severe"}).code == "VALUE_NOT_IN_SET"
    e = refused(RiskAreaDesignation, {**d, "lifted_at": "2022-11-09T00:00:00+08:00"})
    assert e.code == "LIFTED_BEFORE_EFFECTIVE"
    lifted = RiskAreaDesignation.from_dict(
        {**d, "lifted_at": "2022-11-15T00:00:00+08:00"}, clock=CLOCK
    )
    assert not lifted.covers("440106", lifted.lifted_at)  # type: ignore[arg-type]
    assert risk_areas_from_list([d], clock=CLOCK) == (area,)


def test_risk_area_designation_announced_ahead_is_accepted() -> None:
    """Regression: an area designated from tomorrow 00:00 was refused with TIME_IN_FUTURE."""
    tomorrow = "2022-11-21T00:00:00+08:00"
    d = {"region_code": "440106", "level": "medium", "effective_from": tomorrow}
    area = RiskAreaDesignation.from_dict(d, clock=CLOCK)
    assert area.effective_from == datetime(2022, 11, 20, 16, 0, tzinfo=UTC)
    assert not area.covers("440106", NOW) and area.covers("440106", area.effective_from)
    planned = RiskAreaDesignation.from_dict(
        {**d, "lifted_at": "2022-11-28T00:00:00+08:00"}, clock=CLOCK
    )
    assert planned.lifted_at is not None and planned.lifted_at > NOW
    # observed times keep their sanity check
    assert refused(NatResult, {**NAT, "sampled_at": tomorrow}).code == "TIME_IN_FUTURE"
    visit = {"region_code": "440106", "at": tomorrow, "source": "venue_scan"}
    assert refused(ItineraryVisit, visit).code == "TIME_IN_FUTURE"


def test_antibody_and_vaccination() -> None:
    ab = {
        "sampled_at": "2022-11-01T08:00:00+08:00",
        "kind": "IgG",
        "result": "positive",
        "lab": "L",
    }
    assert AntibodyResult.from_dict(ab, clock=CLOCK).kind == "IgG"
    assert refused(AntibodyResult, {**ab, "kind": "IgA"}).code == "VALUE_NOT_IN_SET"
    vac = {
        "product": "CoronaVac",
        "dose": 3,
        "administered_at": "2022-03-01T09:00:00+08:00",
        "site": "GZ-CDC-07",
    }
    assert Vaccination.from_dict(vac, clock=CLOCK).dose == 3
    assert refused(Vaccination, {**vac, "product": "Comirnaty"}).code == "VALUE_NOT_IN_SET"
    assert refused(Vaccination, {**vac, "dose": 0}).code == "VALUE_OUT_OF_RANGE"
    assert refused(Vaccination, {**vac, "dose": True}).code == "FIELD_TYPE"
    for product in ("BIBP", "Ad5-nCoV-IH", "ZF2001"):
        assert Vaccination.from_dict({**vac, "product": product}, clock=CLOCK).product == product


def test_contact_and_visit() -> None:
    c = {
        "kind": "close",
        "last_exposure_at": "2022-11-18T20:00:00+08:00",
        "identified_at": "2022-11-19T10:00:00+08:00",
    }
    assert ContactRecord.from_dict(c, clock=CLOCK).kind == "close"
    assert refused(ContactRecord, {**c, "kind": "casual"}).code == "VALUE_NOT_IN_SET"
    e = refused(ContactRecord, {**c, "identified_at": "2022-11-18T10:00:00+08:00"})
    assert e.code == "IDENTIFIED_BEFORE_EXPOSURE"
    v = {"region_code": "110105", "at": "2022-11-18T20:00:00+08:00", "source": "venue_scan"}
    assert ItineraryVisit.from_dict(v, clock=CLOCK).region_code == "110105"
    assert refused(ItineraryVisit, {**v, "source": "rumour"}).code == "VALUE_NOT_IN_SET"
    assert refused(ItineraryVisit, {**v, "region_code": "999999"}).code == "REGION_UNKNOWN"


MANUAL = {
    "colour": "red",
    "assigned_at": "2022-11-19T10:00:00+08:00",
    "until": "2022-11-26T10:00:00+08:00",
    "legal_basis": "传染病防治法 第三十九条",
    "reason": "epidemiological investigation",
    "official": "official-17",
    "approver": "approver-03",
    "grounds": ["epidemiological_investigation"],
}


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"colour": "green"}, "VALUE_NOT_IN_SET"),
        ({"approver": "official-17"}, "MANUAL_SELF_APPROVED"),
        ({"until": "2022-11-19T09:00:00+08:00"}, "MANUAL_UNTIL_ORDER"),
        ({"until": "2022-12-19T10:00:00+08:00"}, "MANUAL_TOO_LONG"),
        ({"grounds": ["venue_scan"]}, "MANUAL_VENUE_SCAN_ONLY"),
        ({"grounds": []}, "FIELD_TYPE"),
        ({"grounds": ["hunch"]}, "VALUE_NOT_IN_SET"),
        ({"legal_basis": None}, "FIELD_MISSING"),
        ({"assigned_at": "2022-11-21T10:00:00+08:00"}, "TIME_IN_FUTURE"),
    ],
)
def test_manual_assignment_refusals(change: dict[str, Any], code: str) -> None:
    assert refused(ManualAssignment, {**MANUAL, **change}).code == code


def test_manual_assignment_ok_with_scan_among_other_grounds() -> None:
    m = ManualAssignment.from_dict(
        {**MANUAL, "grounds": ["venue_scan", "contact_tracing"]}, clock=CLOCK
    )
    assert m.until > m.assigned_at  # the end may lie in the future
    assert ManualAssignment.from_dict(m.to_dict(), clock=CLOCK) == m


def test_mandate_due_times() -> None:
    d = {
        "issued_at": "2022-11-18T08:00:00+08:00",
        "interval_hours": 48,
        "legal_basis": "区防控指挥部通告",
        "issued_by": "GZ-TH",
    }
    m = NatMandate.from_dict(d, clock=CLOCK)
    issued = m.issued_at
    assert m.due_at([]) == issued + timedelta(hours=48)
    assert m.due_at([issued - timedelta(hours=1)]) == issued + timedelta(hours=48)
    assert m.due_at([issued + timedelta(hours=30)]) == issued + timedelta(hours=78)
    one_off = NatMandate.from_dict({**d, "ends_at": "2022-11-20T08:00:00+08:00"}, clock=CLOCK)
    assert one_off.due_at([]) == issued + timedelta(hours=48)
    assert one_off.due_at([issued + timedelta(hours=1)]) is None
    assert refused(NatMandate, {**d, "interval_hours": 0}).code == "VALUE_OUT_OF_RANGE"
    assert refused(NatMandate, {**d, "ends_at": "2022-11-17T08:00:00+08:00"}).code == (
        "MANDATE_ENDS_ORDER"
    )


def test_person_facts_names_the_record_at_fault() -> None:
    doc = {"person": "p1", "nat_results": [NAT, {**NAT, "lab": 5}]}
    with pytest.raises(InvalidInput) as info:
        PersonFacts.from_dict(doc, clock=CLOCK)
    assert (info.value.code, info.value.details["field"]) == ("FIELD_TYPE", "nat_results[1].lab")
    with pytest.raises(InvalidInput, match="UNKNOWN_FIELD"):
        PersonFacts.from_dict({"passport": "x"}, clock=CLOCK)
    with pytest.raises(InvalidInput, match="FIELD_TYPE"):
        PersonFacts.from_dict({"visits": {"a": 1}}, clock=CLOCK)
    facts = PersonFacts.from_dict({"person": "p1", "nat_results": [NAT]}, clock=CLOCK)
    assert PersonFacts.from_dict(facts.to_dict(), clock=CLOCK) == facts


# --- fast paths give what the general ones give -----------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        datetime(2022, 11, 20, 9, 0, 0, 123456, tzinfo=UTC),
        datetime(2022, 11, 20, 9, 0, tzinfo=timezone(timedelta(hours=8))),
        datetime(1, 1, 1, tzinfo=UTC),
        datetime(999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
        datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
    ],
)
def test_format_instant_as_strftime(value: datetime) -> None:
    utc = value.astimezone(UTC)
    expected = utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"
    assert format_instant(value) == expected


@pytest.mark.parametrize(
    "text",
    [
        "2022-11-19T08:00:00Z",
        "2022-11-19T08:00:00.123456Z",
        "2022-11-19T08:00:00+08:00",
        " 2022-11-19T08:00:00+08:00 ",
        "2022-11-19T08:00",
        "2022-11-19 08:00:00.5-05:00",
    ],
)
def test_times_read_as_parse_instant_reads_them(text: str) -> None:
    from healthcode.core.clock import parse_instant

    nat = NatResult.from_dict({"sampled_at": text, "result": "negative", "lab": "L"}, clock=CLOCK)
    expected = parse_instant(text).astimezone(UTC)
    expected = expected.replace(microsecond=expected.microsecond // 1000 * 1000)
    assert nat.sampled_at == expected
    assert nat.sampled_at.tzinfo is not None and nat.sampled_at.utcoffset() == timedelta(0)


def test_format_instant_of_a_utc_value_is_that_of_the_same_instant_elsewhere() -> None:
    from datetime import UTC, datetime, timedelta, timezone

    from healthcode.core.facts import format_instant

    utc = datetime(2022, 11, 20, 1, 2, 3, 456789, tzinfo=UTC)
    for tz in (timezone(timedelta(hours=8)), timezone(timedelta(0)), timezone(timedelta(hours=-5))):
        assert format_instant(utc) == format_instant(utc.astimezone(tz))
    assert format_instant(utc) == "2022-11-20T01:02:03.456Z"


def test_public_surface() -> None:
    from types import ModuleType

    import healthcode.core.facts as package

    assert sorted(package.__all__) == sorted(
        name
        for name, value in vars(package).items()
        if not name.startswith("_") and not isinstance(value, ModuleType)
    )
