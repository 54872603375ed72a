"""The province over an in-process hub: applying, registering, pulling the feed, summaries and
colours, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from province_testdata import applicant, nat_record, province_settings
from sqlalchemy import func, select

from healthcode.core.clock import FixedClock
from healthcode.core.errors import AccessDenied, HealthcodeError, InvalidInput
from healthcode.hub.batches import Located
from healthcode.hub.services import Hub
from healthcode.province.changes import ColourChange
from healthcode.province.models import (
    Colour,
    FactRecord,
    Person,
    StatusOutbox,
    Visit,
    person_summaries,
)
from healthcode.province.service import ProvinceService
from healthcode.store.crypto import FieldCipher


def _submit(
    hub: Hub, org: Callable[..., str], *records: dict[str, object], kind: str = "nat"
) -> None:
    who = {"nat": "lab", "contact": "disease-control"}[kind]
    principal = hub.orgs.authenticate(org(who, "440106"))
    hub.ingest.submit(principal, kind, [Located({"index": i}, r) for i, r in enumerate(records)])


def test_apply_registers_with_the_hub_and_stores_identity_encrypted(
    province: ProvinceService, hub: Hub
) -> None:
    answer = province.applications.apply(applicant())
    assert answer["masked_name"] == "张*丰"
    assert "*" in answer["masked_id"]
    assert answer["token"].startswith("hcp1.")
    with province.db.read() as s:
        person = s.get(Person, answer["pseudonym"])
        colour = s.get(Colour, answer["pseudonym"])
        outbox = s.execute(select(func.count()).select_from(StatusOutbox)).scalar_one()
    assert person is not None and colour is not None
    assert colour.colour == "green"
    assert outbox == 1  # the first status report
    cipher = FieldCipher(key=province.settings.field_key)
    context = f"people.name_enc|{answer['pseudonym']}"
    assert cipher.decrypt(person.name_enc, context=context) == "张三丰"
    assert b"\xe5\xbc\xa0" not in person.name_enc  # not in clear
    # the hub knows the registration
    with hub.db.read() as s:
        from healthcode.store.models import Registration

        assert s.get(Registration, (answer["pseudonym"], "440000")) is not None


def test_applying_twice_answers_the_first_application(province: ProvinceService) -> None:
    first = province.applications.apply(applicant())
    again = province.applications.apply(applicant(residence_region="440103"))
    assert again == first
    with province.db.read() as s:
        assert s.execute(select(func.count()).select_from(Person)).scalar_one() == 1


@pytest.mark.parametrize("change", [{"name": "李四"}, {"phone": "13900000000"}])
def test_an_id_number_alone_gives_out_no_token(
    province: ProvinceService, change: dict[str, str]
) -> None:
    province.applications.apply(applicant())
    with pytest.raises(AccessDenied) as err:
        province.applications.apply(applicant(**change))
    assert err.value.code == "APPLICATION_MISMATCH"
    assert "token" not in err.value.details
    with province.db.read() as s:
        assert s.execute(select(func.count()).select_from(Person)).scalar_one() == 1


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"id_number": "440106199003071230"}, "ID_CHECK_DIGIT"),
        ({"residence_region": "110105"}, "RESIDENCE_OUTSIDE_PROVINCE"),
        ({"residence_region": "110105", "reason": "residence"}, "RESIDENCE_OUTSIDE_PROVINCE"),
        ({"residence_region": "110105", "reason": "holiday"}, "REGISTRATION_REASON"),
        ({"residence_region": "999999", "reason": "stay"}, "REGION_UNKNOWN"),
        ({"residence_region": "999999"}, "REGION_UNKNOWN"),
        ({"name": ""}, "FIELD_MISSING"),
        ({"phone": "1" * 33}, "FIELD_TOO_LONG"),
        ({"id_type": "nonsense"}, "ID_TYPE_UNKNOWN"),
    ],
)
def test_bad_applications_are_refused_and_nothing_is_stored(
    province: ProvinceService, change: dict[str, str], code: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        province.applications.apply({**applicant(), **change})
    assert caught.value.code == code
    with province.db.read() as s:
        assert s.execute(select(func.count()).select_from(Person)).scalar_one() == 0


def test_someone_living_elsewhere_applies_for_a_stay(province: ProvinceService) -> None:
    answer = province.applications.apply(
        {**applicant(region="110105"), "reason": "stay", "residence_region": "110105"}
    )
    assert answer["residence_region"] == "110105"
    assert province.codes.explain(answer["pseudonym"])["colour"] == "green"


def test_an_unreachable_hub_refuses_the_application_and_stores_nothing(
    province_db: object, clock: FixedClock
) -> None:
    settings = province_settings(
        "no-token",
        HEALTHCODE_PROVINCE_HUB_URL="http://127.0.0.1:9",
        HEALTHCODE_PROVINCE_HUB_TIMEOUT_SECONDS=2,
    )
    service = ProvinceService.build(settings=settings, db=province_db, clock=clock)
    with pytest.raises(HealthcodeError) as caught:
        service.applications.apply(applicant())
    assert caught.value.code == "HUB_UNREACHABLE"
    with service.db.read() as s:
        assert s.execute(select(func.count()).select_from(Person)).scalar_one() == 0


def test_a_positive_nat_at_the_hub_turns_the_person_red(
    province: ProvinceService, hub: Hub, org: Callable[..., str]
) -> None:
    person = province.applications.apply(applicant())
    _submit(hub, org, nat_record("S1", applicant()["id_number"]))
    page = province.pull_once()
    assert page.applied == 1 and page.people == 1
    with province.db.read() as s:
        colour = s.get(Colour, person["pseudonym"])
        summary = s.execute(
            select(person_summaries).where(person_summaries.c.pseudonym == person["pseudonym"])
        ).one()
        reports = s.execute(select(StatusOutbox).order_by(StatusOutbox.id)).scalars().all()
    assert colour is not None and colour.colour == "red"
    assert colour.ruleset_digest == province.rules.current().digest
    assert summary.nat_last_sample is not None
    assert [r.colour for r in reports] == ["green", "red"]
    # the same page again changes nothing (at-least-once delivery, applied once)
    assert province.pull_once().applied == 0


def test_an_entry_seen_again_is_not_applied_twice(
    province: ProvinceService, hub: Hub, org: Callable[..., str]
) -> None:
    province.applications.apply(applicant())
    _submit(hub, org, nat_record("S1", applicant()["id_number"], result="negative"))
    page = province.hub.feed(after=0, limit=100)
    now = province.clock.now()
    with province.db.write() as s:
        first = province.feed.apply(s, page["entries"], now)
    with province.db.write() as s:
        again = province.feed.apply(s, page["entries"], now)
    assert first.applied == 1 and again.applied == 0
    with province.db.read() as s:
        assert s.execute(select(func.count()).select_from(FactRecord)).scalar_one() == 1


def test_a_withdrawn_record_turns_the_person_back(
    province: ProvinceService, hub: Hub, org: Callable[..., str]
) -> None:
    person = province.applications.apply(applicant())
    principal = hub.orgs.authenticate(org("lab", "440106"))
    hub.ingest.submit(
        principal, "nat", [Located({"index": 0}, nat_record("S1", applicant()["id_number"]))]
    )
    province.pull_all()
    hub.corrections.submit(
        principal, "nat", {"record_id": "S1", "action": "withdraw", "reason": "mixed-up sample"}
    )
    province.pull_all()
    with province.db.read() as s:
        colour = s.get(Colour, person["pseudonym"])
    assert colour is not None and colour.colour == "green"


def test_the_colour_returns_by_itself_at_until(
    province: ProvinceService, hub: Hub, org: Callable[..., str], clock: FixedClock
) -> None:
    person = province.applications.apply(applicant())
    contact = {
        "record_id": "C1",
        "id_number": applicant()["id_number"],
        "kind": "close",
        "last_exposure_at": "2022-11-19T08:00:00+08:00",
        "identified_at": "2022-11-19T20:00:00+08:00",
    }
    _submit(hub, org, contact, kind="contact")
    province.pull_all()
    with province.db.read() as s:
        colour = s.get(Colour, person["pseudonym"])
    assert colour is not None and colour.colour == "red" and colour.until is not None
    until = colour.until
    assert province.sweep_once() == 0  # not yet
    clock.advance(until - clock.now())
    assert province.sweep_once() == 1
    assert province.sweep_once() == 0  # fired once: the new until is later (or none)
    with province.db.read() as s:
        after = s.get(Colour, person["pseudonym"])
    assert after is not None and after.colour != "red"
    assert after.until is None or after.until > until
    assert clock.now() - until < timedelta(seconds=1)


def test_a_risk_area_reevaluates_exactly_the_people_with_a_visit_there(
    province: ProvinceService, hub: Hub, org: Callable[..., str], clock: FixedClock
) -> None:
    there, elsewhere = applicant(seq="201"), applicant(seq="202")
    a = province.applications.apply(there)
    b = province.applications.apply(elsewhere)
    scans = [
        {
            "record_id": "V1",
            "id_number": there["id_number"],
            "region_code": "440106",
            "at": "2022-11-19T10:00:00+08:00",
            "source": "venue_scan",
        },
        {
            "record_id": "V2",
            "id_number": elsewhere["id_number"],
            "region_code": "440303",
            "at": "2022-11-19T10:00:00+08:00",
            "source": "venue_scan",
        },
    ]
    # each scan backed by the phone's itinerary in the same city (a scan alone never counts)
    scans += [
        {
            **scan,
            "record_id": f"{scan['record_id']}C",
            "region_code": scan["region_code"][:4] + "00",
            "at": "2022-11-19T11:00:00+08:00",
            "source": "carrier_cell",
        }
        for scan in scans
    ]
    principal = hub.orgs.authenticate(org("itinerary", "440000"))
    hub.ingest.submit(
        principal, "itinerary", [Located({"index": i}, r) for i, r in enumerate(scans)]
    )
    province.pull_all()
    with province.db.read() as s:
        assert s.execute(select(func.count()).select_from(Visit)).scalar_one() == 4
        before = s.get(Colour, b["pseudonym"])
    assert before is not None
    reports = _reports(province)
    clock.advance(timedelta(minutes=1))
    _designate_high_risk(hub, org, "440106", "穗防控〔2022〕1号")
    page = province.pull_once()
    assert (page.applied, page.people) == (1, 1)
    with province.db.read() as s:
        red = s.get(Colour, a["pseudonym"])
        other = s.get(Colour, b["pseudonym"])
    assert red is not None and red.colour == "red"
    assert red.reasons[0]["rule"] == "RED_HIGH_RISK_OUTFLOW"
    assert other is not None and other.evaluated_at == before.evaluated_at  # not touched
    # one report, for the changed person, committed with the page
    assert _reports(province) == {**reports, a["pseudonym"]: reports[a["pseudonym"]] + ["red"]}
    province.pull_all()  # nothing new: nothing reported twice
    assert _reports(province)[a["pseudonym"]] == reports[a["pseudonym"]] + ["red"]


def _designate_high_risk(hub: Hub, org: Callable[..., str], region: str, document: str) -> None:
    authority = hub.orgs.authenticate(org("risk-authority", region))
    hub.risk_areas.designate(
        authority,
        {
            "region_code": region,
            "level": "high",
            "effective_from": "2022-11-19T00:00:00+08:00",
            "document": document,
        },
    )


def _reports(province: ProvinceService) -> dict[str, list[str]]:
    with province.db.read() as s:
        rows = s.execute(
            select(StatusOutbox.pseudonym, StatusOutbox.colour).order_by(StatusOutbox.id)
        ).all()
    out: dict[str, list[str]] = {}
    for p, colour in rows:
        out.setdefault(p, []).append(colour)
    return out


def test_an_overlay_of_another_province_is_refused(
    hub: Hub, province_db: Any, clock: FixedClock, org: Callable[..., str]
) -> None:
    from pathlib import Path

    overlay = Path(__file__).resolve().parents[2] / "examples" / "overlay-guangdong.yaml"
    settings = province_settings(
        org("province", "110000"), "110000", HEALTHCODE_PROVINCE_OVERLAY=str(overlay)
    )
    with pytest.raises(HealthcodeError) as caught:
        ProvinceService.build(settings=settings, db=province_db, clock=clock)
    assert caught.value.code == "OVERLAY_OTHER_PROVINCE"


def test_every_colour_change_reaches_the_listeners_in_its_transaction(
    province: ProvinceService, hub: Hub, org: Callable[..., str], clock: FixedClock
) -> None:
    """The scalar path (an application, a feed page) and the columnar one (a risk area) hand
    the same kind of change to the listeners; a new ``until`` alone is no colour change."""
    seen: list[ColourChange] = []
    province.changes.add(lambda session, changes, now: seen.extend(changes))
    person = province.applications.apply(applicant())
    visitor = province.applications.apply(applicant(seq="203"))
    assert [(c.pseudonym, c.before, c.colour) for c in seen] == [
        (person["pseudonym"], None, "green"),
        (visitor["pseudonym"], None, "green"),
    ]
    seen.clear()
    _submit(hub, org, nat_record("S1", applicant()["id_number"]))
    scan = {
        "record_id": "V9",
        "id_number": applicant(seq="203")["id_number"],
        "region_code": "440106",
        "at": "2022-11-19T10:00:00+08:00",
        "source": "venue_scan",
    }
    cell = {**scan, "record_id": "V9C", "region_code": "440100", "source": "carrier_cell"}
    principal = hub.orgs.authenticate(org("itinerary", "440000"))
    hub.ingest.submit(
        principal, "itinerary", [Located({"index": 0}, scan), Located({"index": 1}, cell)]
    )
    province.pull_all()
    assert [(c.pseudonym, c.before, c.colour, c.basis) for c in seen] == [
        (person["pseudonym"], "green", "red", "rule")
    ]
    seen.clear()
    clock.advance(timedelta(minutes=1))
    _designate_high_risk(hub, org, "440106", "穗防控〔2022〕2号")
    province.pull_all()
    assert [(c.pseudonym, c.before, c.colour) for c in seen] == [
        (visitor["pseudonym"], "green", "red")
    ]


def test_a_failing_listener_rolls_the_colour_back(
    province: ProvinceService, hub: Hub, org: Callable[..., str]
) -> None:
    person = province.applications.apply(applicant())

    def refuse(session: object, changes: object, now: object) -> None:
        raise RuntimeError("the log is full")

    province.changes.add(refuse)
    _submit(hub, org, nat_record("S1", applicant()["id_number"]))
    with pytest.raises(RuntimeError):
        province.pull_once()
    with province.db.read() as s:
        colour = s.get(Colour, person["pseudonym"])
    assert colour is not None and colour.colour == "green"
