"""Appeals over the province's HTTP API: a person appeals, an operator sees the facts and the
rules, corrects a wrong fact at the hub (the colour comes back through the feed) or rejects;
unanswered appeals are escalated past their deadline; hostile bodies and other people's
appeals are refused."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from hub_testdata import ASGISyncTransport
from province_testdata import applicant, nat_record
from sqlalchemy import select

from healthcode.core.clock import FixedClock
from healthcode.hub.batches import Located
from healthcode.hub.services import Hub
from healthcode.province.app import create_app
from healthcode.province.models import Appeal, Colour
from healthcode.province.service import ProvinceService
from healthcode.store.models import AuditEvent, RecordVersion

REASON = {
    "reason": "我从未做过这次核酸检测",
    "evidence": ["广州某医院 2022-11-19 阴性报告 No.1234"],
}


@pytest.fixture
def client(province: ProvinceService) -> Iterator[httpx.Client]:
    transport = ASGISyncTransport(create_app(province))
    with httpx.Client(transport=transport, base_url="http://province.test") as c:
        yield c


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _person(client: httpx.Client, seq: str = "123") -> tuple[str, dict[str, str]]:
    answer = client.post("/v1/applications", json=applicant(seq=seq)).json()
    return answer["pseudonym"], _bearer(answer["token"])


def _staff(province: ProvinceService, *roles: str, grid: str | None = None) -> dict[str, str]:
    _, token = province.staff.add(
        name="李四", roles=list(roles), region_code="440106", grid_id=grid
    )
    return _bearer(token)


def _wrong_positive(hub: Hub, org: Callable[..., str], seq: str = "123") -> None:
    lab = hub.orgs.authenticate(org("lab", "440106"))
    record = nat_record("WRONG-1", applicant(seq=seq)["id_number"])
    hub.ingest.submit(lab, "nat", [Located({"index": 0}, record)])


def _colour(province: ProvinceService, pseudonym: str) -> str:
    with province.db.read() as s:
        row = s.get(Colour, pseudonym)
        assert row is not None
        return row.colour


def _code(r: httpx.Response) -> str:
    return str(r.json()["error"]["code"])


def test_an_appeal_corrected_at_the_hub_turns_the_colour_back(
    province: ProvinceService, hub: Hub, org: Callable[..., str], client: httpx.Client
) -> None:
    pseudonym, me = _person(client)
    _wrong_positive(hub, org)
    province.pull_all()
    assert _colour(province, pseudonym) == "red"
    filed = client.post("/v1/me/appeals", json=REASON, headers=me)
    assert filed.status_code == 200, filed.text
    appeal = filed.json()
    assert (appeal["state"], appeal["colour"], appeal["answer"]) == ("open", "red", None)
    operator = _staff(province, "operator")
    queue = client.get("/v1/staff/appeals", headers=operator).json()["appeals"]
    assert [a["id"] for a in queue] == [appeal["id"]]
    seen = client.get(f"/v1/staff/appeals/{appeal['id']}", headers=operator).json()
    assert seen["current"]["colour"] == "red" and seen["person"]["masked_name"] == "张*丰"
    assert seen["rules"]["reasons"][0]["rule"] == "RED_NAT_POSITIVE"
    assert seen["summary"]["nat_last_positive"] is not None
    (wrong,) = [f for f in seen["facts"] if f["kind"] == "nat"]
    answer = {
        "decision": "correct",
        "answer": "实验室确认录入错误，已撤回",
        "records": [wrong["record"]],
    }
    done = client.post(f"/v1/staff/appeals/{appeal['id']}/answer", json=answer, headers=operator)
    assert done.status_code == 200, done.text
    assert done.json()["state"] == "corrected"
    # the hub holds the withdrawal, made by the province for the appeal, and sends it back
    with hub.db.read() as s:
        version = s.execute(select(RecordVersion)).scalar_one()
        event = s.execute(
            select(AuditEvent).where(AuditEvent.action == "record.withdraw")
        ).scalar_one()
    assert version.action == "withdraw" and version.payload is None
    assert event.details["holder"] == "440000" and event.details["appeal"] == appeal["id"]
    assert _colour(province, pseudonym) == "red"  # until the feed brings it
    province.pull_all()
    assert _colour(province, pseudonym) == "green"
    mine = client.get("/v1/me/appeals", headers=me).json()["appeals"]
    assert [(a["state"], a["answer"], a["records"]) for a in mine] == [
        ("corrected", answer["answer"], [wrong["record"]])
    ]
    assert "answered_by" not in mine[0]
    # answered: the same answer again is a retry, another one is refused
    again = client.post(f"/v1/staff/appeals/{appeal['id']}/answer", json=answer, headers=operator)
    assert again.status_code == 200 and again.json()["state"] == "corrected"
    other = {"decision": "reject", "answer": "no"}
    r = client.post(f"/v1/staff/appeals/{appeal['id']}/answer", json=other, headers=operator)
    assert r.status_code == 409 and _code(r) == "APPEAL_ANSWERED"
    assert client.get("/v1/staff/appeals", headers=operator).json()["appeals"] == []


def test_a_rejected_appeal_keeps_the_colour_and_says_why(
    province: ProvinceService, hub: Hub, org: Callable[..., str], client: httpx.Client
) -> None:
    pseudonym, me = _person(client)
    _wrong_positive(hub, org)
    province.pull_all()
    appeal = client.post("/v1/me/appeals", json=REASON, headers=me).json()
    operator = _staff(province, "operator")
    body = {"decision": "reject", "answer": "检测机构复核结果为阳性"}
    r = client.post(f"/v1/staff/appeals/{appeal['id']}/answer", json=body, headers=operator)
    assert r.status_code == 200 and r.json()["state"] == "rejected"
    province.pull_all()
    assert _colour(province, pseudonym) == "red"
    (mine,) = client.get("/v1/me/appeals", headers=me).json()["appeals"]
    assert (mine["state"], mine["answer"]) == ("rejected", body["answer"])
    assert mine["answered_at"] is not None
    with hub.db.read() as s:
        assert s.execute(select(RecordVersion)).first() is None  # nothing withdrawn


def test_an_unanswered_appeal_is_escalated_past_its_deadline(
    province: ProvinceService, client: httpx.Client, clock: FixedClock
) -> None:
    _, me = _person(client)
    early = client.post("/v1/me/appeals", json=REASON, headers=me).json()
    clock.advance(timedelta(hours=2))
    late = client.post("/v1/me/appeals", json={"reason": "另一个理由"}, headers=me).json()
    clock.advance(timedelta(hours=22))  # the first one's deadline, not the second's
    assert province.appeals.escalate_due() == 1
    assert province.appeals.escalate_due() == 0  # durable: marked once
    supervisor = _staff(province, "supervisor")
    shown = client.get("/v1/staff/appeals", params={"state": "escalated"}, headers=supervisor)
    assert [a["id"] for a in shown.json()["appeals"]] == [early["id"]]
    assert shown.json()["appeals"][0]["escalated_at"] is not None
    states = {
        a["id"]: a["state"] for a in client.get("/v1/me/appeals", headers=me).json()["appeals"]
    }
    assert states == {early["id"]: "escalated", late["id"]: "open"}
    # an escalated appeal can still be answered
    operator = _staff(province, "operator")
    body = {"decision": "reject", "answer": "理由不成立"}
    r = client.post(f"/v1/staff/appeals/{early['id']}/answer", json=body, headers=operator)
    assert r.status_code == 200 and r.json()["state"] == "rejected"
    bad = client.get("/v1/staff/appeals", params={"state": "lost"}, headers=supervisor)
    assert bad.status_code == 422 and _code(bad) == "VALUE_NOT_IN_SET"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"[]", "FIELD_TYPE"),
        (b'{"evidence": []}', "FIELD_MISSING"),
        (b'{"reason": "   "}', "FIELD_MISSING"),
        (b'{"reason": 5}', "FIELD_MISSING"),
        (('{"reason": "' + "x" * 1001 + '"}').encode(), "FIELD_TOO_LONG"),
        (b'{"reason": "a\\u0000b"}', "TEXT_INVALID"),
        (b'{"reason": "a\\ud800b"}', "TEXT_INVALID"),
        (b'{"reason": "ok \\u202egnp.exe"}', "TEXT_CONTROL"),
        (b'{"reason": "bell\\u0007"}', "TEXT_CONTROL"),
        (b'{"reason": "ok", "evidence": "one"}', "FIELD_TYPE"),
        (b'{"reason": "ok", "evidence": ["a", "b", "c", "d", "e", "f"]}', "FIELD_TOO_LONG"),
        (('{"reason": "ok", "evidence": ["' + "y" * 301 + '"]}').encode(), "FIELD_TOO_LONG"),
        (b'{"reason": "ok", "evidence": [5]}', "FIELD_MISSING"),
        (b'{"reason": "ok", "evidence": [{"a": 1}]}', "JSON_TOO_DEEP"),
        (b'{"reason": "ok", "colour": "green"}', "UNKNOWN_FIELD"),
        (b'{"reason": "ok", "evidence": [[[["deep"]]]]}', "JSON_TOO_DEEP"),
        (b'{"reason": "ok"', "JSON_INVALID"),
    ],
)
def test_hostile_appeal_bodies_are_refused_and_nothing_is_stored(
    province: ProvinceService, client: httpx.Client, body: bytes, code: str
) -> None:
    _, me = _person(client)
    r = client.post(
        "/v1/me/appeals", content=body, headers={**me, "Content-Type": "application/json"}
    )
    assert r.status_code in (400, 422) and _code(r) == code, r.text
    assert client.get("/v1/me/appeals", headers=me).json()["appeals"] == []


def test_a_huge_appeal_is_refused_before_it_is_read(client: httpx.Client) -> None:
    _, me = _person(client)
    r = client.post("/v1/me/appeals", json={"reason": "x" * 200_000}, headers=me)
    assert r.status_code == 413 and _code(r) == "BODY_TOO_LARGE"


def test_open_appeals_are_limited_and_a_retry_makes_no_second_appeal(
    client: httpx.Client,
) -> None:
    _, me = _person(client)
    first = client.post("/v1/me/appeals", json=REASON, headers=me).json()
    assert client.post("/v1/me/appeals", json=REASON, headers=me).json()["id"] == first["id"]
    for n in (2, 3):
        r = client.post("/v1/me/appeals", json={"reason": f"理由 {n}"}, headers=me)
        assert r.status_code == 200
    r = client.post("/v1/me/appeals", json={"reason": "理由 4"}, headers=me)
    assert r.status_code == 429 and _code(r) == "APPEAL_LIMIT"
    assert len(client.get("/v1/me/appeals", headers=me).json()["appeals"]) == 3


def test_nobody_sees_or_answers_an_appeal_without_the_right(
    province: ProvinceService, hub: Hub, org: Callable[..., str], client: httpx.Client
) -> None:
    _, me = _person(client)
    _, other = _person(client, seq="456")
    _wrong_positive(hub, org)
    province.pull_all()
    appeal = client.post("/v1/me/appeals", json=REASON, headers=me).json()
    assert client.get("/v1/me/appeals", headers=other).json()["appeals"] == []
    # a person token is no staff token, and a grid worker may neither see nor answer
    r = client.get(f"/v1/staff/appeals/{appeal['id']}", headers=me)
    assert r.status_code == 401 and _code(r) == "STAFF_TOKEN_INVALID"
    worker = _staff(province, "grid-worker", grid="G-1")
    body = {"decision": "reject", "answer": "不予受理"}
    for r in (
        client.get("/v1/staff/appeals", headers=worker),
        client.get(f"/v1/staff/appeals/{appeal['id']}", headers=worker),
        client.post(f"/v1/staff/appeals/{appeal['id']}/answer", json=body, headers=worker),
    ):
        assert r.status_code == 403 and _code(r) == "STAFF_ROLE_REQUIRED"
    # a supervisor sees the queue but does not answer
    supervisor = _staff(province, "supervisor")
    r = client.post(f"/v1/staff/appeals/{appeal['id']}/answer", json=body, headers=supervisor)
    assert r.status_code == 403 and _code(r) == "STAFF_ROLE_REQUIRED"
    with province.db.read() as s:
        row = s.get(Appeal, appeal["id"])
        assert row is not None and row.state == "open"


def test_an_operator_corrects_only_the_appellants_current_records(
    province: ProvinceService, hub: Hub, org: Callable[..., str], client: httpx.Client
) -> None:
    _, me = _person(client)
    other, _ = _person(client, seq="456")
    _wrong_positive(hub, org, seq="456")
    province.pull_all()
    appeal = client.post("/v1/me/appeals", json=REASON, headers=me).json()
    operator = _staff(province, "operator")
    others = client.get("/v1/staff/appeals/nothing", headers=operator)
    assert others.status_code == 404 and _code(others) == "APPEAL_UNKNOWN"
    with hub.db.read() as s:
        from healthcode.store.models import Record

        record_id = s.execute(select(Record.id)).scalar_one()
    path = f"/v1/staff/appeals/{appeal['id']}/answer"
    cases: list[tuple[dict[str, Any], str]] = [
        ({"decision": "correct", "answer": "x", "records": [record_id]}, "APPEAL_RECORD_INVALID"),
        ({"decision": "correct", "answer": "x", "records": []}, "FIELD_TYPE"),
        ({"decision": "correct", "answer": "x", "records": ["1"]}, "FIELD_TYPE"),
        ({"decision": "correct", "answer": "x", "records": [True]}, "FIELD_TYPE"),
        ({"decision": "approve", "answer": "x"}, "VALUE_NOT_IN_SET"),
        ({"decision": "reject"}, "FIELD_MISSING"),
        ({"decision": "reject", "answer": "\u2066x"}, "TEXT_CONTROL"),
    ]
    for body, code in cases:
        r = client.post(path, json=body, headers=operator)
        assert r.status_code in (400, 422) and _code(r) == code, (body, r.text)
    with province.db.read() as s:
        row = s.get(Appeal, appeal["id"])
        assert row is not None and (row.state, row.answer) == ("open", None)
    with hub.db.read() as s:
        assert s.execute(select(RecordVersion)).first() is None
    assert other


def test_a_correction_the_hub_did_not_take_is_finished_by_the_same_answer(
    province: ProvinceService, hub: Hub, org: Callable[..., str], client: httpx.Client
) -> None:
    pseudonym, me = _person(client)
    _wrong_positive(hub, org)
    province.pull_all()
    appeal = client.post("/v1/me/appeals", json=REASON, headers=me).json()
    operator = _staff(province, "operator")
    record = client.get(f"/v1/staff/appeals/{appeal['id']}", headers=operator).json()["facts"]
    body = {"decision": "correct", "answer": "录入错误", "records": [record[0]["record"]]}
    real = province.appeals.withdraw

    def unreachable(*args: Any, **kwargs: Any) -> Any:
        from healthcode.core.error_codes import ErrorCode
        from healthcode.province.hubclient import HubError

        raise HubError(ErrorCode.HUB_UNREACHABLE, "the hub cannot be reached")

    province.appeals.withdraw = unreachable
    r = client.post(f"/v1/staff/appeals/{appeal['id']}/answer", json=body, headers=operator)
    assert r.status_code == 503 and _code(r) == "HUB_UNREACHABLE"
    (mine,) = client.get("/v1/me/appeals", headers=me).json()["appeals"]
    assert mine["state"] == "correcting"
    reject = {"decision": "reject", "answer": "改主意"}
    r = client.post(f"/v1/staff/appeals/{appeal['id']}/answer", json=reject, headers=operator)
    assert r.status_code == 409 and _code(r) == "APPEAL_ANSWERED"
    province.appeals.withdraw = real
    r = client.post(f"/v1/staff/appeals/{appeal['id']}/answer", json=body, headers=operator)
    assert r.status_code == 200 and r.json()["state"] == "corrected"
    province.pull_all()
    assert _colour(province, pseudonym) == "green"
