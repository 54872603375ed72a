"""The whole access matrix: every kind of organisation against every action, over the API."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from hub_testdata import nat, resident_id

from healthcode.hub.access import PERMISSIONS
from healthcode.store.models import ORG_KINDS

Org = Callable[..., dict[str, str]]

RECORD = {
    "nat": nat("S1", resident_id()),
    "antibody": {
        "record_id": "A1",
        "id_number": resident_id(),
        "sampled_at": "2022-11-19T08:00",
        "kind": "IgG",
        "result": "negative",
    },
    "vaccination": {
        "record_id": "V1",
        "id_number": resident_id(),
        "product": "BIBP",
        "dose": 1,
        "administered_at": "2022-06-01T10:00",
        "site": "site",
    },
    "infection": {
        "record_id": "I1",
        "id_number": resident_id(),
        "status": "confirmed",
        "reported_at": "2022-11-19T08:00",
    },
    "contact": {
        "record_id": "C1",
        "id_number": resident_id(),
        "kind": "close",
        "last_exposure_at": "2022-11-18T08:00",
        "identified_at": "2022-11-19T08:00",
    },
    "itinerary": {
        "record_id": "T1",
        "id_number": resident_id(),
        "region_code": "440106",
        "at": "2022-11-19T08:00",
        "source": "venue_scan",
    },
}
AREA = {
    "region_code": "440106",
    "level": "high",
    "effective_from": "2022-11-19T00:00",
    "document": "穗防指〔2022〕1号",
}


def call(client: httpx.Client, action: str, headers: dict[str, str]) -> httpx.Response:
    if action.startswith("submit:"):
        kind = action.split(":")[1]
        return client.post(f"/v1/records/{kind}", json=RECORD[kind], headers=headers)
    if action == "risk-area:designate":
        return client.post("/v1/risk-areas", json=AREA, headers=headers)
    if action == "feed:read":
        return client.get("/v1/feeds/440000", headers=headers)
    if action == "registration:report":
        return client.post(
            "/v1/registrations", json={"people": [{"id_number": resident_id()}]}, headers=headers
        )
    if action == "status:report":
        return client.post("/v1/status", json={"reports": []}, headers=headers)
    if action == "grid:handover":
        return client.post("/v1/grid/handovers", json={"handovers": []}, headers=headers)
    if action == "status:query":
        return client.get("/v1/status/NO-SUCH-SERIAL", headers=headers)
    if action == "record:withdraw-held":  # 404 RECORD_UNKNOWN: no such record
        return client.post(
            "/v1/records/999999/holder-withdrawal", json={"reason": "appeal"}, headers=headers
        )
    if action == "published:read":  # 404 NOT_PUBLISHED: this test hub has no network home
        return client.get("/v1/published/rule-set", headers=headers)
    raise AssertionError(action)


@pytest.mark.parametrize("kind", ORG_KINDS)
def test_every_kind_against_every_action(client: httpx.Client, org: Org, kind: str) -> None:
    headers = org(kind, "440000")
    for action, allowed in PERMISSIONS.items():
        r = call(client, action, headers)
        if kind in allowed:
            assert r.status_code != 403, (kind, action, r.text)
            assert r.status_code in (200, 404), (kind, action, r.text)
        else:
            assert r.status_code == 403, (kind, action, r.text)
            assert r.json()["error"]["code"] == "KIND_NOT_ALLOWED", (kind, action)


def test_risk_authority_only_inside_its_region(client: httpx.Client, org: Org) -> None:
    gz = org("risk-authority", "440100")
    assert client.post("/v1/risk-areas", json=AREA, headers=gz).status_code == 200
    r = client.post("/v1/risk-areas", json={**AREA, "region_code": "110105"}, headers=gz)
    assert r.status_code == 403 and r.json()["error"]["code"] == "REGION_NOT_OWN"
    r = client.post("/v1/risk-areas", json={**AREA, "region_code": "440000"}, headers=gz)
    assert r.status_code == 403 and r.json()["error"]["code"] == "REGION_NOT_OWN"


def test_province_reads_only_its_own_feed(client: httpx.Client, org: Org) -> None:
    gd = org("province", "440000")
    assert client.get("/v1/feeds/440000", headers=gd).status_code == 200
    r = client.get("/v1/feeds/110000", headers=gd)
    assert r.status_code == 403 and r.json()["error"]["code"] == "FEED_NOT_OWN"


def test_province_reports_only_its_own_codes(client: httpx.Client, org: Org) -> None:
    gd, bj = org("province", "440000"), org("province", "110000")
    pseudonym = client.post(
        "/v1/registrations", json={"people": [{"id_number": resident_id()}]}, headers=gd
    ).json()["pseudonyms"][0]
    report = {
        "serial": "GD-1",
        "pseudonym": pseudonym,
        "colour": "green",
        "since": "2022-11-19T00:00",
        "ruleset_version": "9.0",
    }
    r = client.post("/v1/status", json={"reports": [report]}, headers=bj)
    assert r.status_code == 403 and r.json()["error"]["code"] == "CODE_NOT_OWN"
    assert client.post("/v1/status", json={"reports": [report]}, headers=gd).status_code == 200


@pytest.mark.parametrize(
    ("header", "code"),
    [(None, "TOKEN_MISSING"), ("Bearer hc_nope", "TOKEN_INVALID"), ("Basic abc", "TOKEN_MISSING")],
)
def test_bad_tokens_are_401(client: httpx.Client, header: str | None, code: str) -> None:
    headers = {"Authorization": header} if header else {}
    r = client.get("/v1/risk-areas", headers=headers)
    assert r.status_code == 401 and r.json()["error"]["code"] == code


def test_revoked_and_expired_tokens(client: httpx.Client, hub, clock) -> None:  # type: ignore[no-untyped-def]
    from datetime import timedelta

    _, token = hub.orgs.add(kind="checkpoint", region_code="440106", name="station")
    h = {"Authorization": f"Bearer {token}"}
    assert client.get("/v1/risk-areas", headers=h).status_code == 200
    info = hub.orgs.tokens()[-1]
    hub.orgs.revoke(info.id)
    assert client.get("/v1/risk-areas", headers=h).json()["error"]["code"] == "TOKEN_REVOKED"
    token2 = hub.orgs.issue_token(info.org_id)
    h2 = {"Authorization": f"Bearer {token2}"}
    assert client.get("/v1/risk-areas", headers=h2).status_code == 200
    clock.advance(timedelta(days=400))
    assert client.get("/v1/risk-areas", headers=h2).json()["error"]["code"] == "TOKEN_EXPIRED"
