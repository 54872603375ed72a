"""End to end over real HTTP (the hub and the province as their own processes): a manual red
without a second approver does not act, an approved one turns the person red and tells them
why; a bulk red by one operator is refused and alerted at the hub."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from live import CLI, LiveHub, add_org
from live_province import LiveProvince, keys_init, wait_for
from province_testdata import applicant

NATIONAL = "national-staff-token-for-tests"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def hub(fresh_db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LiveHub]:
    home = tmp_path / "keys"
    monkeypatch.setenv("HEALTHCODE_HOME", str(home))
    monkeypatch.setenv("HEALTHCODE_OPERATOR_TOKEN", NATIONAL)
    keys_init(fresh_db_url, home)
    live = LiveHub(fresh_db_url, tmp_path / "hub.log")
    live.start()
    try:
        yield live
    finally:
        live.stop()


@pytest.fixture
def province(hub: LiveHub, tmp_path: Path) -> Iterator[LiveProvince]:
    live = LiveProvince(
        region="440000",
        hub_url=hub.url,
        hub_token=add_org(hub.db_url, "province", "440000", "province 440000"),
        hub_db=hub.db_url,
        home=tmp_path / "keys",
        folder=tmp_path,
    )
    live.start()
    try:
        yield live
    finally:
        live.stop()


def _staff(province: LiveProvince, name: str, role: str, serves: str = "440106") -> str:
    done = subprocess.run(
        [*CLI, "province", "staff", "add", "--name", name, "--role", role, "--serves", serves],
        env=province.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().split("token: ")[-1]


def _apply(province: LiveProvince, seq: str) -> dict[str, Any]:
    r = httpx.post(province.url + "/v1/applications", json=applicant(seq=seq), timeout=30)
    assert r.status_code == 200, r.text
    answer: dict[str, Any] = r.json()
    return answer


def _me(province: LiveProvince, token: str) -> dict[str, Any]:
    r = httpx.get(province.url + "/v1/me", headers=bearer(token), timeout=10)
    assert r.status_code == 200, r.text
    answer: dict[str, Any] = r.json()
    return answer


def test_manual_reds_need_a_second_approver_and_bulk_reds_a_supervisor(
    hub: LiveHub, province: LiveProvince
) -> None:
    operator = _staff(province, "op", "operator")
    approver = _staff(province, "ap", "approver")
    people = [_apply(province, f"{300 + i}") for i in range(3)]
    expires = (datetime.now(UTC) + timedelta(days=7)).isoformat()
    body = {
        "subjects": [people[0]["pseudonym"]],
        "colour": "red",
        "legal_basis": "IDL-39-1-3",
        "evidence": [{"kind": "contact_tracing", "ref": "CT-2022-7"}],
        "expires_at": expires,
    }
    url = province.url + "/v1/decisions"
    proposed = httpx.post(url, json=body, headers=bearer(operator), timeout=30)
    assert proposed.status_code == 201, proposed.text
    decision = proposed.json()["id"]
    # without a second approver nothing acts
    alone = httpx.post(f"{url}/{decision}/approve", headers=bearer(operator), timeout=30)
    assert alone.json()["error"]["code"] == "MANUAL_SELF_APPROVED"
    assert _me(province, people[0]["token"])["colour"] == "green"
    approved = httpx.post(f"{url}/{decision}/approve", headers=bearer(approver), timeout=30)
    assert approved.status_code == 200, approved.text
    me = _me(province, people[0]["token"])
    assert me["colour"] == "red" and me["decisions"][0]["appeal"]["route"] == "POST /v1/me/appeals"
    # a bulk red by one operator: refused, and the hub's national staff see the alert
    bulk = {**body, "subjects": [p["pseudonym"] for p in people[1:]]}
    refused = httpx.post(url, json=bulk, headers=bearer(operator), timeout=30)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "DECISION_BULK_ROLE"
    assert all(_me(province, p["token"])["colour"] == "green" for p in people[1:])

    def alerted() -> list[dict[str, Any]]:
        r = httpx.get(hub.url + "/v1/alerts", headers=bearer(NATIONAL), timeout=10)
        assert r.status_code == 200, r.text
        alerts: list[dict[str, Any]] = r.json()["alerts"]
        return alerts

    [alert] = wait_for("the alert at the hub", alerted)
    assert alert["kind"] == "bulk-refused" and alert["subjects"] == 2
    assert alert["code"] == "DECISION_BULK_ROLE" and alert["province"] == "440000"
    public = httpx.get(province.url + "/log/decisions", timeout=10).json()
    assert [d["id"] for d in public["decisions"]] == [decision]
    assert people[0]["pseudonym"] not in str(public)
