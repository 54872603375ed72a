"""Decisions remember the regions they were made in, and staff read only their region.

- The proposer's and the approver's served region and the people's region at the proposal are
  stored on the decision (migration p0015; rows held before it are filled from the current
  staff and residences); a member or a person moving later changes nothing published.
- An approver serves the region the people lived in at the proposal, as the log says.
- ``GET /v1/decisions`` lists a county member only the decisions whose people all live inside
  their county; the ``/ops`` counts (waiting decisions, appeals, colour tallies,
  transcodings) are their region's; a province-level member sees everything.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from hub_testdata import ASGISyncTransport
from province_testdata import applicant, pg_schema, province_settings
from sqlalchemy import update

from healthcode.core.clock import FixedClock
from healthcode.core.errors import HealthcodeError
from healthcode.core.facts import format_instant
from healthcode.hub.app import create_app as create_hub_app
from healthcode.hub.services import Hub
from healthcode.province.app import create_app
from healthcode.province.models import Appeal, Person, StaffMember
from healthcode.province.schema import downgrade, upgrade
from healthcode.province.service import ProvinceService
from healthcode.province.staff import Staff
from healthcode.store.db import Database

PLACES = ("proposer_region", "approver_region", "people_region")


def _member(province: ProvinceService, region: str, *roles: str) -> tuple[Staff, str]:
    return province.staff.add(name=f"m{region}{roles[0]}", roles=list(roles), region_code=region)


def _person(province: ProvinceService, seq: str, region: str) -> str:
    return str(province.applications.apply(applicant(seq=seq, region=region))["pseudonym"])


def _body(province: ProvinceService, subjects: list[str]) -> dict[str, Any]:
    return {
        "subjects": subjects,
        "colour": "red",
        "legal_basis": "IDL-39-1-3",
        "evidence": [{"kind": "contact_tracing", "ref": "CT-2022-0042"}],
        "expires_at": format_instant(province.clock.now() + timedelta(days=7)),
    }


def _places(view: dict[str, Any]) -> tuple[str | None, ...]:
    return tuple(view[k] for k in PLACES)


def _move(province: ProvinceService, *, staff: str = "", person: str = "", to: str) -> None:
    with province.db.write() as s:
        if staff:
            s.execute(update(StaffMember).where(StaffMember.id == staff).values(region_code=to))
        if person:
            s.execute(update(Person).where(Person.pseudonym == person).values(residence_region=to))


def test_the_log_shows_the_regions_of_when_staff_acted(province: ProvinceService) -> None:
    person = _person(province, "101", "440106")
    operator, _ = _member(province, "440106", "operator")
    approver, _ = _member(province, "440100", "approver")
    proposed = province.decisions.propose(operator, _body(province, [person]))
    assert _places(proposed) == ("440106", None, "440106")
    approved = province.decisions.approve(approver, proposed["id"])
    assert _places(approved) == ("440106", "440100", "440106")
    _move(province, staff=operator.id, to="440303")
    _move(province, staff=approver.id, to="440300")
    _move(province, person=person, to="440303")
    [published] = province.decisions.public()["decisions"]
    assert _places(published) == ("440106", "440100", "440106")
    assert _places(province.decisions.get(province.staff.get(approver.id), proposed["id"])) == (
        "440106",
        "440100",
        "440106",
    )


def test_an_approver_serves_where_the_people_lived_when_it_was_proposed(
    province: ProvinceService,
) -> None:
    """A person moving from 440106 to 440111 between the proposal and the approval: a
    440111 approver serves them now but not the 440106 the log names; Guangzhou's does."""
    person = _person(province, "201", "440106")
    operator, _ = _member(province, "440100", "operator")
    proposed = province.decisions.propose(operator, _body(province, [person]))
    _move(province, person=person, to="440111")
    county, _ = _member(province, "440111", "approver")
    with pytest.raises(HealthcodeError) as err:
        province.decisions.approve(county, proposed["id"])
    assert err.value.code == "STAFF_OUT_OF_REGION" and "440106" in str(err.value)
    city, _ = _member(province, "440100", "approver")
    approved = province.decisions.approve(city, proposed["id"])
    assert _places(approved) == ("440100", "440100", "440106")


@pytest.fixture
def client(province: ProvinceService) -> Iterator[httpx.Client]:
    transport = ASGISyncTransport(create_app(province))
    with httpx.Client(transport=transport, base_url="http://province.test") as c:
        yield c


@dataclass
class Counties:
    """People of 440106 and 440111; decisions of each county's people and one of both."""

    people: dict[str, str]
    decisions: dict[str, str]
    approvers: dict[str, Staff]
    tokens: dict[str, str]


def _two_counties(province: ProvinceService) -> Counties:
    people = {
        "440106": _person(province, "301", "440106"),
        "440111": _person(province, "302", "440111"),
        "other": _person(province, "303", "440106"),
    }
    city, _ = _member(province, "440100", "supervisor", "operator")
    decisions = {
        county: province.decisions.propose(city, _body(province, [people[county]]))["id"]
        for county in ("440106", "440111")
    }
    both = [people["other"], people["440111"]]
    decisions["both"] = province.decisions.propose(city, _body(province, both))["id"]
    approvers, tokens = {}, {}
    for region in ("440106", "440111", "440000"):
        approvers[region], tokens[region] = _member(province, region, "operator", "approver")
    return Counties(people, decisions, approvers, tokens)


def _get(client: httpx.Client, token: str, path: str) -> dict[str, Any]:
    r = client.get(path, headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.text
    answer: dict[str, Any] = r.json()
    return answer


def test_a_county_lists_only_decisions_whose_people_all_live_inside_it(
    province: ProvinceService, client: httpx.Client
) -> None:
    made = _two_counties(province)

    def listed(region: str, query: str = "") -> set[str]:
        answer = _get(client, made.tokens[region], f"/v1/decisions{query}")
        return {d["id"] for d in answer["decisions"]}

    assert listed("440106") == {made.decisions["440106"]}
    assert listed("440111", "?state=proposed") == {made.decisions["440111"]}
    assert listed("440000") == set(made.decisions.values())
    _move(province, person=made.people["440111"], to="440106")  # moved house: theirs now
    assert listed("440106") == set(made.decisions.values())
    assert listed("440111") == set()


def test_the_ops_counts_are_the_members_region(
    province: ProvinceService, client: httpx.Client, clock: FixedClock
) -> None:
    made = _two_counties(province)
    regions = ("440106", "440111", "440000")

    def each(path: str) -> dict[str, dict[str, Any]]:
        return {r: _get(client, made.tokens[r], path) for r in regions}

    waiting = {r: v["waiting_decisions"] for r, v in each("/v1/ops/summary").items()}
    assert waiting == {"440106": 1, "440111": 1, "440000": 3}
    for county in ("440106", "440111"):
        province.decisions.approve(made.approvers[county], made.decisions[county])
    now = clock.now()
    with province.db.write() as s:
        for i, (who, deadline) in enumerate(
            [("440106", now + timedelta(hours=24)), ("440111", now - timedelta(hours=1))]
        ):
            s.add(_appeal(f"ap_{i}", made.people[who], now, deadline))
    clock.advance(timedelta(hours=1))
    summaries = each("/v1/ops/summary")
    assert {r: v["waiting_decisions"] for r, v in summaries.items()} == {
        "440106": 0,
        "440111": 0,
        "440000": 1,  # the decision of both counties
    }
    assert {r: (v["appeals"]["open"], v["appeals"]["overdue"]) for r, v in summaries.items()} == {
        "440106": (1, 0),
        "440111": (1, 1),
        "440000": (2, 1),
    }
    colours = each("/v1/ops/colours?level=county&hours=2")
    shown = {r: {c["code"]: c["now"]["red"] for c in v["regions"]} for r, v in colours.items()}
    assert shown == {
        "440106": {"440106": 1},
        "440111": {"440111": 1},
        "440000": {"440106": 1, "440111": 1},
    }
    moves = each("/v1/ops/transcodings?hours=2")
    reds = {r: sum(v["changes"]["red"]) for r, v in moves.items()}
    assert reds == {"440106": 1, "440111": 1, "440000": 2}


def _appeal(appeal_id: str, pseudonym: str, now: datetime, deadline: datetime) -> Appeal:
    return Appeal(
        id=appeal_id,
        pseudonym=pseudonym,
        state="open",
        colour="red",
        reason="我没有去过那里",
        evidence=[],
        created_at=now,
        deadline_at=deadline,
    )


def test_the_migration_fills_the_decisions_held_from_the_current_rows(
    hub: Hub, db: Database, clock: FixedClock, tmp_path: Path, org: Any
) -> None:
    """Decisions made before p0015 get the regions their staff serve and their people live in
    when it runs; down and up again is clean."""
    with _own_database(db.dialect, tmp_path) as own:
        province = ProvinceService.build(
            settings=province_settings(org("province", "440000")),
            db=own,
            clock=clock,
            transport=ASGISyncTransport(create_hub_app(hub)),
        )
        try:
            person = _person(province, "401", "440106")
            operator, _ = _member(province, "440106", "operator")
            approver, _ = _member(province, "440100", "approver")
            decision = province.decisions.propose(operator, _body(province, [person]))["id"]
            province.decisions.approve(approver, decision)
            proposed = province.decisions.propose(operator, _body(province, [person]))["id"]
            downgrade(own, "p0011")
            _move(province, staff=operator.id, to="440100")
            _move(province, person=person, to="440111")
            upgrade(own)
            places = {d["id"]: _places(d) for d in province.decisions.public()["decisions"]}
            assert places == {
                decision: ("440100", "440100", "440111"),
                proposed: ("440100", None, "440111"),
            }
            _move(province, staff=operator.id, to="440303")  # stored now: a move changes nothing
            again = {d["id"]: _places(d) for d in province.decisions.public()["decisions"]}
            assert again == places
        finally:
            province.hub.close()


@contextmanager
def _own_database(dialect: str, folder: Path) -> Iterator[Database]:
    """A province database of its own (migrated to the head), on the test backend."""
    if dialect == "sqlite":
        own = Database.from_url(f"sqlite:///{folder / 'province.db'}")
        upgrade(own)
        try:
            yield own
        finally:
            own.dispose()
        return
    with pg_schema() as url:
        own = Database.from_url(url)
        upgrade(own)
        try:
            yield own
        finally:
            own.dispose()
