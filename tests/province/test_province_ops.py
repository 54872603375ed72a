"""The operators' dashboard of a province: colour counts per region kept by the change
listener equal a count of the colours themselves, hour by hour; a fold counts each move once;
the staff routes and the public rules routes, with their error codes."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from hub_testdata import ASGISyncTransport
from province_testdata import applicant
from sqlalchemy import func, insert, select

from healthcode.core.clock import FixedClock
from healthcode.core.facts import format_instant
from healthcode.core.rules import apply_overlay, baseline, parse_ruleset
from healthcode.core.rules.ruleset import compute_digest
from healthcode.province.app import create_app
from healthcode.province.models import Colour, Person
from healthcode.province.ops.models import ColourMove, ColourTally, RuleSetVersion
from healthcode.province.ops.rulebook import label_of
from healthcode.province.service import ProvinceService


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _counted(province: ProvinceService) -> dict[tuple[str, str], int]:
    """The plain answer: every colour counted by residence region."""
    region = func.coalesce(Person.residence_region, "")
    with province.db.read() as s:
        rows = s.execute(
            select(region, Colour.colour, func.count())
            .select_from(Colour)
            .outerjoin(Person, Person.pseudonym == Colour.pseudonym)
            .group_by(region, Colour.colour)
        )
        return {(r, c): int(n) for r, c, n in rows}


def _tallied(province: ProvinceService) -> dict[tuple[str, str], int]:
    province.tallies.fold_all()
    with province.db.read() as s:
        rows = s.execute(select(ColourTally.region_code, ColourTally.colour, ColourTally.n))
        return {(r, c): int(n) for r, c, n in rows if n}


def _red(province: ProvinceService, people: list[str], clock: FixedClock) -> str:
    op, _ = province.staff.add(name="op", roles=["operator"], region_code="440106")
    ap, _ = province.staff.add(name="ap", roles=["approver"], region_code="440106")
    body = {
        "subjects": people,
        "colour": "red",
        "legal_basis": "IDL-39-1-3",
        "evidence": [{"kind": "contact_tracing", "ref": "CT-1"}],
        "expires_at": format_instant(clock.now() + timedelta(days=7)),
    }
    decision = province.decisions.propose(op, body)["id"]
    province.decisions.approve(ap, decision)
    return str(decision)


def test_tallies_equal_a_count_of_the_colours_hour_by_hour(
    province: ProvinceService, clock: FixedClock
) -> None:
    people = [
        province.applications.apply(applicant(seq=f"{300 + i}", region=region))["pseudonym"]
        for i, region in enumerate(["440106", "440106", "440303"])
    ]
    decision = _red(province, people[:1], clock)
    assert (
        _tallied(province)
        == _counted(province)
        == {
            ("440106", "green"): 1,
            ("440106", "red"): 1,
            ("440303", "green"): 1,
        }
    )
    clock.advance(timedelta(hours=2))
    op, _ = province.staff.add(name="op3", roles=["operator"], region_code="440106")
    province.decisions.revoke(op, decision, {"reason": "wrong person"})
    assert _tallied(province) == _counted(province)

    view = province.tallies.colours(hours=4, level="city")
    guangzhou = next(r for r in view["regions"] if r["code"] == "440100")
    assert guangzhou["name"] == "广州市" and guangzhou["now"] == {"green": 2, "yellow": 0, "red": 0}
    # applied two hours ago (none before), red until the revocation this hour
    assert guangzhou["series"]["red"] == [0, 1, 1, 0]
    assert guangzhou["series"]["green"] == [0, 1, 1, 2]
    by_county = province.tallies.colours(hours=1, level="county")
    assert [r["code"] for r in by_county["regions"]] == ["440106", "440303"]

    moves = province.tallies.transcodings(hours=4)
    assert moves["changes"]["red"] == [0, 1, 0, 0]  # a first colour is no transcoding
    assert moves["changes"]["green"] == [0, 0, 0, 1]
    assert moves["timed"] == [0, 0, 0, 0]  # decisions do not come from the feed


def test_a_fold_counts_each_move_once(province: ProvinceService, clock: FixedClock) -> None:
    row = {
        "hour": clock.now().replace(minute=0, second=0, microsecond=0),
        "region_code": "440106",
        "colour": "yellow",
        "entered": 2,
        "left": 0,
        "changed": 2,
        "timed": 2,
        "seconds_sum": 3.0,
        "seconds_max": 2.5,
    }
    with province.db.write() as s:
        s.execute(insert(ColourMove), [row, {**row, "entered": 1, "seconds_max": 0.5}])
    assert province.tallies.fold() == 2
    assert province.tallies.fold() == 0
    assert _tallied(province) == {("440106", "yellow"): 3}
    moves = province.tallies.transcodings(hours=1)
    assert moves["changes"]["yellow"] == [4]
    assert moves["mean_seconds"] == [1.5] and moves["max_seconds"] == [2.5]


@pytest.fixture
def client(province: ProvinceService) -> Iterator[httpx.Client]:
    transport = ASGISyncTransport(create_app(province))
    with httpx.Client(transport=transport, base_url="http://province.test") as c:
        yield c


def test_the_staff_routes_need_a_staff_token_and_role(
    province: ProvinceService, client: httpx.Client
) -> None:
    _, op = province.staff.add(name="op", roles=["operator"], region_code="440106")
    _, gw = province.staff.add(name="gw", roles=["grid-worker"], region_code="440106", grid_id="g1")
    for path in ("/v1/ops/summary", "/v1/ops/colours", "/v1/ops/transcodings"):
        assert client.get(path).json()["error"]["code"] == "STAFF_TOKEN_INVALID"
        denied = client.get(path, headers=_auth(gw))
        assert denied.status_code == 403
        assert denied.json()["error"]["code"] == "STAFF_ROLE_REQUIRED"
        assert client.get(path, headers=_auth(op)).status_code == 200
    bad = client.get("/v1/ops/colours?level=street", headers=_auth(op))
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "REQUEST_INVALID"
    too_long = client.get("/v1/ops/transcodings?hours=100000", headers=_auth(op))
    assert too_long.status_code == 422
    head = client.get("/v1/ops/summary", headers=_auth(op)).json()
    assert head["waiting_decisions"] == 0 and head["appeals"]["overdue"] == 0
    assert "IDL-39-1-3" in [b["code"] for b in head["form"]["legal_bases"]]


def _changed_version(province: ProvinceService) -> str:
    """A later national rule set as the province would keep it: one parameter longer and one
    rule's reason reworded."""
    document: dict[str, Any] = copy.deepcopy(dict(baseline().document))
    document["version"] = "9.1.0"
    document["parameters"]["close_contact_central_days"]["value"] = 10
    document["rules"][0]["reason"]["en"] = "Reworded reason"
    document.pop("digest", None)
    document["digest"] = compute_digest(document)
    _, _, overlay = province.rules.documents()
    rs = parse_ruleset(document)
    if overlay is not None:
        rs = apply_overlay(rs, overlay)
    with province.db.write() as s:
        s.add(
            RuleSetVersion(
                digest=rs.digest,
                label=label_of(rs),
                national=document,
                overlay=overlay,
                first_used_at=province.clock.now() + timedelta(hours=1),
            )
        )
    return rs.digest


def test_the_rules_are_public_with_the_difference_of_two_versions(
    province: ProvinceService, client: httpx.Client
) -> None:
    shown = client.get("/v1/rules")
    assert shown.status_code == 200, shown.text
    now = shown.json()
    assert now["in_use"] and now["ruleset"]["rules"]
    old = now["ruleset"]["digest"]
    assert [v["digest"] for v in now["versions"]] == [old]
    new = _changed_version(province)
    assert [v["digest"] for v in client.get("/v1/rules").json()["versions"]] == [new, old]
    assert client.get("/v1/rules", params={"digest": new}).json()["in_use"] is False

    diff = client.get("/v1/rules/diff", params={"from": old, "to": new}).json()
    [param] = diff["parameters"]["changed"]
    assert param["name"] == "close_contact_central_days"
    assert (param["from"]["value"], param["to"]["value"]) == (7, 10)
    fields = {f["field"] for c in diff["rules"]["changed"] for f in c["fields"]}
    assert "reason_en" in fields and "version" not in fields
    assert {"field": "version", "from": "9.0.0", "to": "9.1.0"} in diff["head"]

    unknown = client.get("/v1/rules/diff", params={"from": old, "to": "sha256:00"})
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "RULESET_VERSION_UNKNOWN"
    assert client.get("/v1/rules", params={"digest": "x y"}).status_code == 422
    assert client.get("/v1/risk-areas").json()["areas"] == []
    assert client.get("/rules").headers["content-security-policy"].startswith("default-src")


def test_folds_racing_on_the_database_count_each_move_once(fresh_db_url: str) -> None:
    """Moves written by many transactions and folded by four threads at once on a real
    database (separate connections): the tallies are the sum of the moves, none twice."""
    import threading

    from healthcode.core.clock import SystemClock
    from healthcode.province.ops.tallies import Tallies
    from healthcode.province.schema import upgrade
    from healthcode.store.db import Database

    db = Database.from_url(fresh_db_url, threads=6)
    upgrade(db)
    tallies = Tallies(db=db, clock=SystemClock())
    hour = tallies.clock.now().replace(minute=0, second=0, microsecond=0)
    move = {"hour": hour, "region_code": "440106", "colour": "red", "left": 0, "changed": 0}
    move |= {"timed": 0, "seconds_sum": 0.0, "seconds_max": 0.0}
    try:
        for _ in range(20):
            with db.write() as s:
                s.execute(insert(ColourMove), [{**move, "entered": 1}] * 50)
        folded: list[int] = []
        errors: list[BaseException] = []

        def fold() -> None:
            try:
                while n := tallies.fold(limit=37):
                    folded.append(n)
            except BaseException as exc:  # reported below
                errors.append(exc)

        threads = [threading.Thread(target=fold) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == [] and sum(folded) == 1000
        assert tallies.colours(hours=1, level="county")["regions"][0]["now"]["red"] == 1000
        assert tallies.transcodings(hours=1)["changes"]["red"] == [0]
    finally:
        db.dispose()
