"""Staff act only on the people of the region they serve: decisions proposed, approved,
rejected, revoked and read, appeals answered, shown and listed. In region is allowed (a
prefecture serves its counties, a province-level member everyone); out of region is
STAFF_OUT_OF_REGION (403) with nothing stored, a bulk decision with one outsider refused
whole."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from hub_testdata import ASGISyncTransport
from province_testdata import applicant, nat_record
from sqlalchemy import func, select

from healthcode.core.errors import HealthcodeError
from healthcode.core.facts import format_instant
from healthcode.hub.batches import Located
from healthcode.hub.services import Hub
from healthcode.province.app import create_app
from healthcode.province.models import Appeal, Decision, DecisionAlert, DecisionSubject
from healthcode.province.service import ProvinceService
from healthcode.province.staff import Staff, out_of_region, served_regions

OUT = "STAFF_OUT_OF_REGION"


def _member(province: ProvinceService, region: str, *roles: str) -> tuple[Staff, str]:
    return province.staff.add(name=f"m{region}", roles=list(roles), region_code=region)


def _person(province: ProvinceService, seq: str, region: str = "440106") -> str:
    answer = province.applications.apply(applicant(seq=seq, region=region))
    return str(answer["pseudonym"])


def _body(province: ProvinceService, subjects: list[str]) -> dict[str, Any]:
    return {
        "subjects": subjects,
        "colour": "red",
        "legal_basis": "IDL-39-1-3",
        "evidence": [{"kind": "contact_tracing", "ref": "CT-2022-0042"}],
        "expires_at": format_instant(province.clock.now() + timedelta(days=7)),
    }


def _stored(province: ProvinceService) -> tuple[int, int, int]:
    with province.db.read() as s:
        return tuple(  # type: ignore[return-value]
            s.execute(select(func.count()).select_from(t)).scalar_one()
            for t in (Decision, DecisionSubject, DecisionAlert)
        )


def _refused(call: Callable[[], Any]) -> None:
    with pytest.raises(HealthcodeError) as err:
        call()
    assert err.value.code == OUT and err.value.code.http_status == 403


def test_served_regions_follow_the_division_codes(province: ProvinceService) -> None:
    county, _ = _member(province, "440106", "operator")
    city, _ = _member(province, "440100", "operator")
    whole, _ = _member(province, "440000", "operator")
    assert served_regions(county) == frozenset({"440106"})
    served = served_regions(city)
    assert served is not None and {"440100", "440106", "440111"} <= served
    assert "440303" not in served and all(c.startswith("4401") for c in served)
    assert served_regions(whole) is None
    inside, outside = _person(province, "201"), _person(province, "202", "440303")
    with province.db.read() as s:
        assert out_of_region(s, county, [inside, outside, "q" * 64]) == [outside, "q" * 64]
        assert out_of_region(s, city, [outside, inside]) == [outside]
        assert out_of_region(s, whole, [inside, outside, "q" * 64]) == []


def test_a_proposal_outside_the_region_is_refused_and_nothing_is_stored(
    province: ProvinceService,
) -> None:
    far = _person(province, "301", "440303")  # 深圳市罗湖区
    near = _person(province, "302")
    operator, _ = _member(province, "440106", "operator")
    _refused(lambda: province.decisions.propose(operator, _body(province, [far])))
    assert _stored(province) == (0, 0, 0)
    proposed = province.decisions.propose(operator, _body(province, [near]))
    assert proposed["state"] == "proposed"


def test_a_bulk_proposal_with_one_outsider_is_refused_whole(province: ProvinceService) -> None:
    people = [_person(province, f"4{i:02d}") for i in range(5)]
    outsider = _person(province, "499", "440303")
    city_sup, _ = _member(province, "440100", "supervisor")
    _refused(lambda: province.decisions.propose(city_sup, _body(province, [*people, outsider])))
    assert _stored(province) == (0, 0, 1)  # no decision, but the hub is alerted of the attempt
    with province.db.read() as s:
        [alert] = s.execute(select(DecisionAlert)).scalars().all()
    assert alert.body["kind"] == "bulk-refused" and alert.body["subjects"] == 6
    assert alert.body["code"] == "STAFF_OUT_OF_REGION" and alert.body["staff"] == city_sup.id
    bulk = province.decisions.propose(city_sup, _body(province, people))  # 440106 in 440100
    assert bulk["subjects"] == 5 and bulk["bulk"] is True


def test_a_province_level_member_acts_on_anyone_in_the_province(
    province: ProvinceService,
) -> None:
    people = [_person(province, "501"), _person(province, "502", "440303")]
    sup, _ = _member(province, "440000", "supervisor")
    approver, _ = _member(province, "440000", "approver")
    proposed = province.decisions.propose(sup, _body(province, people))
    approved = province.decisions.approve(approver, proposed["id"])
    assert approved["state"] == "approved"
    assert province.decisions.get(approver, proposed["id"])["people"] == sorted(people)


def test_approving_rejecting_revoking_and_reading_outside_the_region_are_refused(
    province: ProvinceService,
) -> None:
    far = _person(province, "601", "440303")
    proposer, _ = _member(province, "440300", "operator")  # 深圳市 serves 440303
    county_ap, _ = _member(province, "440106", "approver", "operator")
    other_city, _ = _member(province, "440100", "approver", "supervisor")
    proposed = province.decisions.propose(proposer, _body(province, [far]))
    for member in (county_ap, other_city):
        _refused(lambda m=member: province.decisions.approve(m, proposed["id"]))  # type: ignore[misc]
        _refused(lambda m=member: province.decisions.reject(m, proposed["id"], {"reason": "x"}))  # type: ignore[misc]
        _refused(lambda m=member: province.decisions.revoke(m, proposed["id"], {"reason": "x"}))  # type: ignore[misc]
        _refused(lambda m=member: province.decisions.get(m, proposed["id"]))  # type: ignore[misc]
    with province.db.read() as s:
        row = s.get(Decision, proposed["id"])
        assert row is not None and (row.state, row.approved_by, row.closed_by) == (
            "proposed",
            None,
            None,
        )
        starts = s.execute(select(DecisionSubject.starts_at)).scalars().all()
        assert starts == [None]
    local_ap, _ = _member(province, "440303", "approver")
    assert province.decisions.approve(local_ap, proposed["id"])["state"] == "approved"


@pytest.fixture
def client(province: ProvinceService) -> Iterator[httpx.Client]:
    transport = ASGISyncTransport(create_app(province))
    with httpx.Client(transport=transport, base_url="http://province.test") as c:
        yield c


def _appeal(
    province: ProvinceService, hub: Hub, org: Callable[..., str], client: httpx.Client
) -> str:
    """An appeal of a red colour by a person living in 440106."""
    answer = client.post("/v1/applications", json=applicant(seq="701")).json()
    lab = hub.orgs.authenticate(org("lab", "440106"))
    hub.ingest.submit(
        lab,
        "nat",
        [Located({"index": 0}, nat_record("WRONG-7", applicant(seq="701")["id_number"]))],
    )
    province.pull_all()
    me = {"Authorization": f"Bearer {answer['token']}"}
    reason = {"reason": "我从未做过这次核酸检测", "evidence": ["报告 No.1234"]}
    r = client.post("/v1/me/appeals", json=reason, headers=me)
    assert r.status_code in (200, 201), r.text
    return str(r.json()["id"])


def test_appeals_are_shown_listed_and_answered_only_in_region(
    province: ProvinceService, hub: Hub, org: Callable[..., str], client: httpx.Client
) -> None:
    appeal = _appeal(province, hub, org, client)
    auth = {
        region: {"Authorization": f"Bearer {_member(province, region, 'operator')[1]}"}
        for region in ("440303", "440300", "440106", "440100", "440000")
    }
    body = {"decision": "reject", "answer": "检测机构复核结果为阳性"}
    for region in ("440303", "440300"):
        r = client.get(f"/v1/staff/appeals/{appeal}", headers=auth[region])
        assert (r.status_code, r.json()["error"]["code"]) == (403, OUT)
        r = client.post(f"/v1/staff/appeals/{appeal}/answer", json=body, headers=auth[region])
        assert (r.status_code, r.json()["error"]["code"]) == (403, OUT)
        assert client.get("/v1/staff/appeals", headers=auth[region]).json()["appeals"] == []
    with province.db.read() as s:
        row = s.get(Appeal, appeal)
        assert row is not None and (row.state, row.answered_by) == ("open", None)
    for region in ("440106", "440100", "440000"):
        r = client.get(f"/v1/staff/appeals/{appeal}", headers=auth[region])
        assert r.status_code == 200 and r.json()["person"]["residence_region"] == "440106"
        listed = client.get("/v1/staff/appeals", headers=auth[region]).json()["appeals"]
        assert [a["id"] for a in listed] == [appeal]
    r = client.post(f"/v1/staff/appeals/{appeal}/answer", json=body, headers=auth["440100"])
    assert r.status_code == 200 and r.json()["state"] == "rejected"


def test_the_decision_routes_answer_403_out_of_region(
    province: ProvinceService, client: httpx.Client
) -> None:
    far = _person(province, "801", "440303")
    _, county = _member(province, "440106", "operator")
    _, shenzhen = _member(province, "440300", "operator")
    body = _body(province, [far])
    r = client.post("/v1/decisions", json=body, headers={"Authorization": f"Bearer {county}"})
    assert (r.status_code, r.json()["error"]["code"]) == (403, OUT)
    assert _stored(province) == (0, 0, 0)
    r = client.post("/v1/decisions", json=body, headers={"Authorization": f"Bearer {shenzhen}"})
    assert r.status_code == 201, r.text
    r = client.get(f"/v1/decisions/{r.json()['id']}", headers={"Authorization": f"Bearer {county}"})
    assert (r.status_code, r.json()["error"]["code"]) == (403, OUT)
