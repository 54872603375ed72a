"""Manual colour decisions: every safeguard refused with its code and nothing stored, a red
decision acting on both re-evaluation paths and expiring by itself, racing and replayed
approvals, revocation, bulk decisions alerted at the hub, the person told, the public list."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from hub_testdata import ASGISyncTransport
from province_testdata import applicant
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from healthcode.core.clock import FixedClock
from healthcode.core.errors import HealthcodeError
from healthcode.core.facts import format_instant
from healthcode.hub.services import Hub
from healthcode.province import bulk
from healthcode.province.app import create_app
from healthcode.province.changes import ColourChange
from healthcode.province.models import (
    Colour,
    Decision,
    DecisionAlert,
    DecisionSubject,
    Person,
    StatusOutbox,
)
from healthcode.province.service import ProvinceService
from healthcode.province.staff import Staff


class Team:
    """Staff with tokens: two operators, two approvers, a supervisor, a grid worker."""

    def __init__(self, province: ProvinceService) -> None:
        add = province.staff.add
        self.op, self.op_token = add(name="op", roles=["operator"], region_code="440106")
        self.op2, _ = add(name="op2", roles=["operator", "approver"], region_code="440106")
        self.ap, self.ap_token = add(name="ap", roles=["approver"], region_code="440106")
        self.ap2, _ = add(name="ap2", roles=["approver"], region_code="440106")
        self.sup, self.sup_token = add(name="sup", roles=["supervisor"], region_code="440100")
        self.grid, _ = add(name="gw", roles=["grid-worker"], region_code="440106", grid_id="g1")


@pytest.fixture
def team(province: ProvinceService) -> Team:
    return Team(province)


@pytest.fixture
def changes(province: ProvinceService) -> list[ColourChange]:
    seen: list[ColourChange] = []

    def listen(session: Session, moved: Sequence[ColourChange], now: datetime) -> None:
        seen.extend(moved)

    province.changes.add(listen)
    return seen


def _people(province: ProvinceService, n: int = 1) -> list[str]:
    return [province.applications.apply(applicant(seq=f"{100 + i}"))["pseudonym"] for i in range(n)]


def _body(subjects: list[str], clock: FixedClock, **change: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "subjects": subjects,
        "colour": "red",
        "legal_basis": "IDL-39-1-3",
        "evidence": [{"kind": "contact_tracing", "ref": "CT-2022-0042"}],
        "expires_at": format_instant(clock.now() + timedelta(days=7)),
        "note": "close contact of case 17",
    }
    body.update(change)
    return {k: v for k, v in body.items() if v is not None}


def _stored(province: ProvinceService) -> tuple[int, int]:
    with province.db.read() as s:
        return (
            s.execute(select(func.count()).select_from(Decision)).scalar_one(),
            s.execute(select(func.count()).select_from(DecisionSubject)).scalar_one(),
        )


def _colour(province: ProvinceService, pseudonym: str) -> Colour:
    with province.db.read() as s:
        row = s.get(Colour, pseudonym)
        assert row is not None
        s.expunge(row)
        return row


@pytest.mark.parametrize(
    ("who", "change", "code"),
    [
        ("op", {"legal_basis": "他是储户，维稳需要"}, "DECISION_BASIS_UNKNOWN"),
        ("op", {"legal_basis": None}, "DECISION_BASIS_UNKNOWN"),
        ("op", {"evidence": []}, "DECISION_EVIDENCE_MISSING"),
        ("op", {"evidence": None}, "DECISION_EVIDENCE_MISSING"),
        ("op", {"evidence": [{"kind": "rumour", "ref": "X1"}]}, "DECISION_EVIDENCE_MISSING"),
        ("op", {"evidence": [{"kind": "lab_report", "ref": "张三"}]}, "DECISION_EVIDENCE_MISSING"),
        (
            "op",
            {
                "evidence": [
                    {"kind": "venue_scan", "ref": "V-1"},
                    {"kind": "venue_scan", "ref": "V-2"},
                ]
            },
            "MANUAL_VENUE_SCAN_ONLY",
        ),
        ("op", {"expires_at": "2022-12-05T01:00:01Z"}, "MANUAL_TOO_LONG"),
        ("op", {"expires_at": "2022-11-20T00:59:00Z"}, "DECISION_EXPIRY_PASSED"),
        ("op", {"expires_at": "next week"}, "FIELD_TYPE"),
        ("op", {"colour": "green"}, "VALUE_NOT_IN_SET"),
        ("op", {"legal_basis": "IDL-39-1-1", "colour": "yellow"}, "DECISION_BASIS_COLOUR"),
        ("grid", {}, "DECISION_PROPOSER_ROLE"),
        ("ap", {}, "DECISION_PROPOSER_ROLE"),
    ],
)
def test_each_safeguard_refuses_with_its_code_and_stores_nothing(
    province: ProvinceService, team: Team, who: str, change: dict[str, Any], code: str
) -> None:
    [p] = _people(province)
    member: Staff = getattr(team, who)
    with pytest.raises(HealthcodeError) as err:
        province.decisions.propose(member, _body([p], province.clock, **change))  # type: ignore[arg-type]
    assert err.value.code == code
    assert _stored(province) == (0, 0)
    assert _colour(province, p).colour == "green"


def test_a_free_text_reason_alone_is_refused(province: ProvinceService, team: Team) -> None:
    [p] = _people(province)
    body = _body([p], province.clock, legal_basis=None, note="上级要求")  # type: ignore[arg-type]
    with pytest.raises(HealthcodeError) as err:
        province.decisions.propose(team.op, body)
    assert err.value.code == "DECISION_BASIS_UNKNOWN"


def test_subjects_must_be_people_the_province_knows(province: ProvinceService, team: Team) -> None:
    [p] = _people(province)
    for subjects, code in [
        ([], "FIELD_TYPE"),
        ([p, p], "FIELD_TYPE"),
        (["x" * 65], "FIELD_TYPE"),
        (["nobody"], "PERSON_UNKNOWN"),
    ]:
        with pytest.raises(HealthcodeError) as err:
            province.decisions.propose(team.op, _body(subjects, province.clock))  # type: ignore[arg-type]
        assert err.value.code == code
    assert _stored(province) == (0, 0)


def test_approval_needs_a_different_member_with_the_approver_role(
    province: ProvinceService, team: Team, changes: list[ColourChange]
) -> None:
    [p] = _people(province)
    changes.clear()
    proposed = province.decisions.propose(team.op2, _body([p], province.clock))
    assert proposed["state"] == "proposed" and _colour(province, p).colour == "green"
    for member, code in [
        (team.op2, "MANUAL_SELF_APPROVED"),  # holds the approver role, but proposed it
        (team.op, "DECISION_APPROVER_ROLE"),
        (team.grid, "DECISION_APPROVER_ROLE"),
        (team.sup, "DECISION_APPROVER_ROLE"),
    ]:
        with pytest.raises(HealthcodeError) as err:
            province.decisions.approve(member, proposed["id"])
        assert err.value.code == code
    assert province.decisions.get(team.op, proposed["id"])["state"] == "proposed"
    assert _colour(province, p).colour == "green" and changes == []


def test_an_approved_red_decision_turns_the_person_red_and_expires_by_itself(
    province: ProvinceService, team: Team, changes: list[ColourChange]
) -> None:
    clock = province.clock
    assert isinstance(clock, FixedClock)
    [p] = _people(province)
    changes.clear()
    proposed = province.decisions.propose(team.op, _body([p], clock))
    clock.advance(timedelta(minutes=5))
    approved = province.decisions.approve(team.ap, proposed["id"])
    assert approved["state"] == "approved" and approved["approved_by"] == team.ap.id
    expires = datetime.fromisoformat(proposed["expires_at"].replace("Z", "+00:00"))
    row = _colour(province, p)
    rule = f"DECISION:{proposed['id']}"
    assert row.colour == "red" and row.until == expires
    assert row.reasons[0] == {"rule": rule, "effect": "red"}
    assert changes == [ColourChange(p, "green", "red", expires, "decision", proposed["id"])]
    with province.db.read() as s:
        reported = s.execute(select(StatusOutbox.colour).order_by(StatusOutbox.id)).scalars().all()
    assert reported[-1] == "red"
    # the person is told: the decision, its legal basis in words, its expiry, how to appeal
    me = province.codes.explain(p)
    assert me["colour"] == "red"
    [told] = me["decisions"]
    assert told["legal_basis"]["code"] == "IDL-39-1-3" and "密切接触者" in told["legal_basis"]["zh"]
    assert told["expires_at"] == proposed["expires_at"]
    assert told["appeal"] == {"route": "POST /v1/me/appeals", "decision": proposed["id"]}
    assert me["reasons"][0]["rule"] == rule and me["reasons"][0]["legal_basis"].startswith("中华")
    # a day before the expiry nothing moves; at the expiry the sweep gives the rules' colour
    clock.advance(expires - clock.now() - timedelta(days=1))
    assert province.sweep_once() == 0
    clock.advance(timedelta(days=1))
    assert province.sweep_once() == 1
    after = _colour(province, p)
    assert after.colour == "green" and all(r["rule"] != rule for r in after.reasons)
    assert changes[-1] == ColourChange(p, "red", "green", None, "rule", None)
    assert province.decisions.get(team.op, proposed["id"])["state"] == "expired"
    assert province.codes.explain(p)["decisions"] == []


def test_the_columnar_path_keeps_the_decision_and_stores_the_scalar_row(
    province: ProvinceService, team: Team, changes: list[ColourChange]
) -> None:
    people = _people(province, 3)
    changes.clear()
    proposed = province.decisions.propose(team.op, _body(people[:1], province.clock))
    province.decisions.approve(team.ap, proposed["id"])
    scalar = {p: _colour(province, p) for p in people}
    now = province.clock.now() + timedelta(seconds=1)
    with province.db.write() as s:
        s.execute(Colour.__table__.delete())
        out = bulk.reevaluate_chunk(
            s,
            sorted(people),
            ruleset=province.rules.current(),
            now=now,
            label="test",
            serials=province.serials,
            on_changes=province.changes,
        )
    assert out.evaluated == 3
    for p in people:
        row = _colour(province, p)
        assert (row.colour, row.reasons, row.badges, row.until, row.ruleset_digest) == (
            scalar[p].colour,
            scalar[p].reasons,
            scalar[p].badges,
            scalar[p].until,
            scalar[p].ruleset_digest,
        )
    decided = [c for c in changes if c.basis == "decision"]
    assert [(c.pseudonym, c.decision) for c in decided] == [(people[0], proposed["id"])] * 2


def test_two_approvers_one_wins_and_a_replayed_approval_changes_nothing(
    province: ProvinceService, team: Team, changes: list[ColourChange]
) -> None:
    [p] = _people(province)
    changes.clear()
    proposed = province.decisions.propose(team.op, _body([p], province.clock))
    first = province.decisions.approve(team.ap, proposed["id"])
    with pytest.raises(HealthcodeError) as err:
        province.decisions.approve(team.ap2, proposed["id"])
    assert err.value.code == "DECISION_STATE"
    again = province.decisions.approve(team.ap, proposed["id"])  # a retry of the same request
    assert again == first
    assert len(changes) == 1
    with province.db.read() as s:
        reds = s.execute(
            select(func.count()).select_from(StatusOutbox).where(StatusOutbox.colour == "red")
        ).scalar_one()
    assert reds == 1


def test_revoking_ends_the_decision_at_once_and_rejecting_ends_a_proposal(
    province: ProvinceService, team: Team, changes: list[ColourChange]
) -> None:
    a, b = _people(province, 2)
    changes.clear()
    acting = province.decisions.propose(team.op, _body([a], province.clock))
    province.decisions.approve(team.ap, acting["id"])
    with pytest.raises(HealthcodeError) as err:
        province.decisions.revoke(team.ap, acting["id"], {})
    assert err.value.code == "FIELD_MISSING"
    revoked = province.decisions.revoke(team.ap, acting["id"], {"reason": "wrong person"})
    assert revoked["state"] == "revoked" and revoked["close_reason"] == "wrong person"
    assert _colour(province, a).colour == "green"
    assert changes[-1].pseudonym == a and changes[-1].colour == "green"
    pending = province.decisions.propose(team.op, _body([b], province.clock))
    with pytest.raises(HealthcodeError) as err:
        province.decisions.reject(team.op, pending["id"], {"reason": "no"})
    assert err.value.code == "STAFF_ROLE_REQUIRED"
    assert (
        province.decisions.reject(team.ap, pending["id"], {"reason": "thin evidence"})["state"]
        == "rejected"
    )
    with pytest.raises(HealthcodeError) as err:
        province.decisions.approve(team.ap2, pending["id"])
    assert err.value.code == "DECISION_STATE"
    assert _colour(province, b).colour == "green"


def test_a_renewal_is_checked_and_approved_the_same_way(
    province: ProvinceService, team: Team
) -> None:
    clock = province.clock
    assert isinstance(clock, FixedClock)
    [p] = _people(province)
    first = province.decisions.propose(team.op, _body([p], clock))
    with pytest.raises(HealthcodeError) as err:
        province.decisions.renew(team.op, first["id"], {"evidence": []})
    assert err.value.code == "DECISION_STATE"  # only an approved decision renews
    province.decisions.approve(team.ap, first["id"])
    clock.advance(timedelta(days=6))
    later = format_instant(clock.now() + timedelta(days=15))
    with pytest.raises(HealthcodeError) as err:
        province.decisions.renew(
            team.op, first["id"], {"evidence": first["evidence"], "expires_at": later}
        )
    assert err.value.code == "MANUAL_TOO_LONG"
    until = format_instant(clock.now() + timedelta(days=7))
    renewal = province.decisions.renew(
        team.op, first["id"], {"evidence": first["evidence"], "expires_at": until}
    )
    assert renewal["renews"] == first["id"] and renewal["state"] == "proposed"
    province.decisions.approve(team.ap2, renewal["id"])
    clock.advance(timedelta(days=2))  # past the first one's expiry
    province.sweep_once()
    row = _colour(province, p)
    assert row.colour == "red" and row.reasons[0]["rule"] == f"DECISION:{renewal['id']}"


def test_a_bulk_red_by_one_operator_is_refused_and_alerted_at_the_hub(
    province: ProvinceService, team: Team, hub: Hub
) -> None:
    people = _people(province, 3)
    with pytest.raises(HealthcodeError) as err:
        province.decisions.propose(team.op, _body(people, province.clock))
    assert err.value.code == "DECISION_BULK_ROLE" and err.value.code.http_status == 403
    assert _stored(province) == (0, 0)
    with province.db.read() as s:
        [alert] = s.execute(select(DecisionAlert)).scalars().all()
    assert alert.body["kind"] == "bulk-refused" and alert.body["subjects"] == 3
    assert alert.body["staff"] == team.op.id and alert.body["code"] == "DECISION_BULK_ROLE"
    assert province.report_once() >= 1
    [at_hub] = hub.alerts.list()
    assert at_hub["kind"] == "bulk-refused" and at_hub["province"] == "440000"
    assert not any(p in str(at_hub) for p in people)  # no person named at the hub
    with province.db.read() as s:
        assert s.execute(select(func.count()).select_from(DecisionAlert)).scalar_one() == 0


def test_a_bulk_decision_by_a_supervisor_needs_a_second_approver_and_is_alerted(
    province: ProvinceService, team: Team, hub: Hub, changes: list[ColourChange]
) -> None:
    people = _people(province, 3)
    changes.clear()
    proposed = province.decisions.propose(team.sup, _body(people, province.clock))
    assert proposed["bulk"] and proposed["subjects"] == 3
    assert province.decisions.get(team.op, proposed["id"])["people"] == sorted(people)
    with pytest.raises(HealthcodeError) as err:
        province.decisions.approve(team.sup, proposed["id"])
    assert err.value.code == "MANUAL_SELF_APPROVED"
    assert all(_colour(province, p).colour == "green" for p in people)
    province.decisions.approve(team.ap, proposed["id"])
    assert all(_colour(province, p).colour == "red" for p in people)
    assert {c.decision for c in changes} == {proposed["id"]}
    province.report_once()
    kinds = [a["kind"] for a in hub.alerts.list()]
    assert kinds == ["bulk-approved", "bulk-proposed"]


def test_an_unreachable_hub_keeps_the_alert_for_later(
    province: ProvinceService, team: Team
) -> None:
    people = _people(province, 2)

    def away(alert: dict[str, Any]) -> None:
        from healthcode.core.error_codes import ErrorCode
        from healthcode.province.hubclient import HubError

        raise HubError(ErrorCode.HUB_UNREACHABLE, "away")

    province.decisions.send = away
    with pytest.raises(HealthcodeError):
        province.decisions.propose(team.op, _body(people, province.clock))
    assert province.decisions.send_alerts() == 0
    with province.db.read() as s:
        [alert] = s.execute(select(DecisionAlert)).scalars().all()
    assert alert.attempts == 1


@pytest.fixture
def client(province: ProvinceService) -> Iterator[httpx.Client]:
    transport = ASGISyncTransport(create_app(province))
    with httpx.Client(transport=transport, base_url="http://province.test") as c:
        yield c


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_routes_staff_tokens_and_the_public_list(
    province: ProvinceService, team: Team, client: httpx.Client
) -> None:
    [p] = _people(province)
    body = _body([p], province.clock)
    assert client.post("/v1/decisions", json=body).status_code == 401
    refused = client.post(
        "/v1/decisions", json={**body, "legal_basis": "because"}, headers=_auth(team.op_token)
    )
    assert (
        refused.status_code == 422 and refused.json()["error"]["code"] == "DECISION_BASIS_UNKNOWN"
    )
    made = client.post("/v1/decisions", json=body, headers=_auth(team.op_token))
    assert made.status_code == 201, made.text
    decision_id = made.json()["id"]
    self_approved = client.post(
        f"/v1/decisions/{decision_id}/approve", headers=_auth(team.op_token)
    )
    assert self_approved.status_code == 422
    assert self_approved.json()["error"]["code"] == "MANUAL_SELF_APPROVED"
    ok = client.post(f"/v1/decisions/{decision_id}/approve", headers=_auth(team.ap_token))
    assert ok.status_code == 200 and ok.json()["state"] == "approved"
    me = client.get("/v1/me", headers=_auth(province.tokens.token(p)))
    assert me.status_code == 200, me.text
    assert me.json()["colour"] == "red"
    [told] = me.json()["decisions"]
    assert told["id"] == decision_id and told["appeal"]["route"] == "POST /v1/me/appeals"
    assert told["legal_basis"]["article"].startswith("第三十九条")
    listed = client.get("/v1/decisions?state=approved", headers=_auth(team.ap_token)).json()
    assert [d["id"] for d in listed["decisions"]] == [decision_id]
    assert client.get("/v1/decisions/dc_nothex").status_code in (401, 422)
    public = client.get("/log/decisions").json()
    [shown] = public["decisions"]
    assert shown["subjects"] == [province.log_subject(p)]
    assert p not in str(public) and "close contact of case 17" not in str(public)
    assert shown["proposer_roles"] == ["operator"] and shown["approver_roles"] == ["approver"]


def test_the_hub_lists_alerts_only_to_its_operator_token(hub: Hub, org: Callable[..., str]) -> None:
    from dataclasses import replace

    from healthcode.hub.app import create_app as hub_app

    hub = replace(hub, settings=replace(hub.settings, operator_token="national-secret"))
    token = org("province", "440000")
    lab = org("lab", "440106")
    with httpx.Client(transport=ASGISyncTransport(hub_app(hub)), base_url="http://hub") as c:
        alert = {
            "ref": "al_1",
            "kind": "bulk-refused",
            "subjects": 1317,
            "at": "2022-06-14T10:00:00Z",
        }
        assert c.post("/v1/alerts", json=alert, headers=_auth(lab)).status_code == 403
        bad = c.post("/v1/alerts", json={**alert, "kind": "x"}, headers=_auth(token))
        assert bad.json()["error"]["code"] == "FIELD_TYPE"
        first = c.post("/v1/alerts", json=alert, headers=_auth(token)).json()
        again = c.post("/v1/alerts", json=alert, headers=_auth(token)).json()
        assert first == again  # a retry is stored once
        assert c.get("/v1/alerts", headers=_auth(token)).status_code == 401
        listed = c.get("/v1/alerts", headers=_auth("national-secret")).json()["alerts"]
        assert [a["subjects"] for a in listed] == [1317]


def test_two_approvers_racing_on_the_database_one_wins(fresh_db_url: str) -> None:
    """Two threads approve the same proposal at once on a real database (two connections):
    exactly one approval lands, the other is DECISION_STATE, the colour changes once."""
    import threading

    from province_testdata import province_settings

    from healthcode.core.clock import SystemClock
    from healthcode.province.schema import upgrade
    from healthcode.store.db import Database

    db = Database.from_url(fresh_db_url, threads=4)
    upgrade(db)
    service = ProvinceService.build(
        settings=province_settings("hub-token"), db=db, clock=SystemClock()
    )
    try:
        seen: list[ColourChange] = []
        lock = threading.Lock()

        def listen(session: Session, moved: Sequence[ColourChange], now: datetime) -> None:
            with lock:
                seen.extend(moved)

        service.changes.add(listen)
        with db.write() as s:
            s.add(
                Colour(
                    pseudonym="p" * 64,
                    colour="green",
                    reasons=[],
                    badges={},
                    until=None,
                    ruleset_digest=service.rules.current().digest,
                    evaluated_at=service.clock.now(),
                    since=service.clock.now(),
                )
            )
            s.add(  # living in the county the team serves
                Person(
                    pseudonym="p" * 64,
                    id_digest="d" * 64,
                    id_type="resident_id",
                    id_enc=b"",
                    name_enc=b"",
                    phone_enc=b"",
                    masked_id="4401**********0011",
                    masked_name="*",
                    residence_region="440106",
                    applied_at=service.clock.now(),
                )
            )
        team = Team(service)
        proposed = service.decisions.propose(
            team.op, _body(["p" * 64], FixedClock(service.clock.now()))
        )
        barrier = threading.Barrier(2)
        outcomes: list[str] = []

        def approve(member: Staff) -> None:
            barrier.wait()
            try:
                service.decisions.approve(member, proposed["id"])
                outcome = "approved"
            except HealthcodeError as exc:
                outcome = str(exc.code)
            with lock:
                outcomes.append(outcome)

        threads = [threading.Thread(target=approve, args=(m,)) for m in (team.ap, team.ap2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert sorted(outcomes) == ["DECISION_STATE", "approved"]
        assert [(c.colour, c.decision) for c in seen] == [("red", proposed["id"])]
        with db.read() as s:
            row = s.get(Decision, proposed["id"])
            assert row is not None and row.state == "approved"
            assert row.approved_by in (team.ap.id, team.ap2.id)
    finally:
        service.hub.close()
        db.dispose()
