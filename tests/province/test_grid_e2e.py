"""The grid end to end over real HTTP, the hub and two provinces as their own processes: a
close contact becomes red, a task appears in the grid of their residence and is worked to
released; a person staying in Guangdong but living in Beijing gets their task in Beijing's
grid through the hub."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from hub_testdata import resident_id
from live import CLI, LiveHub, add_org
from live_province import LiveProvince, keys_init, wait_for
from province_testdata import applicant


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "keys"
    monkeypatch.setenv("HEALTHCODE_HOME", str(path))
    return path


@pytest.fixture
def hub(fresh_db_url: str, tmp_path: Path, home: Path) -> Iterator[LiveHub]:
    keys_init(fresh_db_url, home)
    live = LiveHub(fresh_db_url, tmp_path / "hub.log")
    live.start()
    try:
        yield live
    finally:
        live.stop()


def _started(hub: LiveHub, home: Path, tmp_path: Path, region: str) -> LiveProvince:
    token = add_org(hub.db_url, "province", region, f"province {region}")
    live = LiveProvince(region=region, hub_url=hub.url, hub_token=token, hub_db=hub.db_url,
                        home=home, folder=tmp_path)  # fmt: skip
    live.start()
    return live


@pytest.fixture
def provinces(hub: LiveHub, home: Path, tmp_path: Path) -> Iterator[dict[str, LiveProvince]]:
    gd = _started(hub, home, tmp_path, "440000")
    bj = _started(hub, home, tmp_path, "110000")
    try:
        yield {"gd": gd, "bj": bj}
    finally:
        gd.stop()
        bj.stop()


def _province_cli(province: LiveProvince, *args: str) -> str:
    done = subprocess.run([*CLI, "province", *args], env=province.env, capture_output=True,
                          text=True, timeout=60)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def _worker(province: LiveProvince, grid: str, region: str) -> dict[str, str]:
    out = _province_cli(province, "staff", "add", "--name", f"网格员 {grid}", "--role",
                        "grid-worker", "--grid", grid, "--serves", region)  # fmt: skip
    return bearer(out.split("token: ")[1].strip())


def _contact(hub: LiveHub, id_number: str, record: str) -> float:
    """A close contact reported to the hub; the monotonic time of the hub's answer."""
    now = datetime.now(UTC)
    body = {"record_id": record, "id_number": id_number, "kind": "close",
            "last_exposure_at": (now - timedelta(hours=6)).isoformat(),
            "identified_at": (now - timedelta(minutes=1)).isoformat()}  # fmt: skip
    source = bearer(add_org(hub.db_url, "disease-control", "440106", "CDC"))
    r = httpx.post(hub.url + "/v1/records/contact", json=body, headers=source, timeout=30)
    assert r.status_code == 200, r.text
    return time.monotonic()


def _tasks(province: LiveProvince, worker: dict[str, str]) -> list[dict[str, Any]]:
    r = httpx.get(province.url + "/v1/grid/tasks", headers=worker, timeout=10)
    assert r.status_code == 200, r.text
    tasks: list[dict[str, Any]] = r.json()["tasks"]
    return tasks


@pytest.mark.slow
def test_a_close_contact_is_red_and_worked_to_released_in_their_grid(
    hub: LiveHub, provinces: dict[str, LiveProvince], tmp_path: Path
) -> None:
    gd = provinces["gd"]
    units = tmp_path / "units.csv"
    units.write_text("region_code,grid_id,name\n440106,TH-01,天河一\n440103,LW-01,荔湾一\n",
                     encoding="utf-8")  # fmt: skip
    assert "2 grid unit(s) loaded" in _province_cli(gd, "grid", "load", str(units))
    own, other = _worker(gd, "TH-01", "440106"), _worker(gd, "LW-01", "440103")
    person = httpx.post(gd.url + "/v1/applications", json=applicant(), timeout=30).json()
    answered = _contact(hub, applicant()["id_number"], "E2E-C1")
    [task] = wait_for("a task in TH-01", lambda: _tasks(gd, own), timeout=30)
    seen = time.monotonic() - answered
    me = httpx.get(gd.url + "/v1/me", headers=bearer(person["token"]), timeout=10).json()
    assert me["colour"] == "red"
    expected = (person["pseudonym"], "close_contact", "TH-01")
    assert (task["pseudonym"], task["kind"], task["grid_id"]) == expected
    assert task["person"]["phone"] == applicant()["phone"]
    assert _tasks(gd, other) == []
    masked = httpx.get(gd.url + f"/v1/grid/tasks/{task['id']}", headers=other, timeout=10).json()
    assert masked["person"]["phone"] != applicant()["phone"]
    url = gd.url + f"/v1/grid/tasks/{task['id']}/state"
    for state in ("contacted", "isolated", "tested", "released"):
        r = httpx.post(url, headers=own, json={"state": state, "note": state}, timeout=10)
        assert r.status_code == 200, r.text
    assert _tasks(gd, own) == []  # closed
    done = httpx.get(gd.url + f"/v1/grid/tasks/{task['id']}", headers=own, timeout=10).json()
    assert [e["to"] for e in done["events"]] == ["new", "contacted", "isolated", "tested",
                                                 "released"]  # fmt: skip
    me = httpx.get(gd.url + "/v1/me", headers=bearer(person["token"]), timeout=10).json()
    assert me["colour"] == "red"  # working a task never touches the colour
    export = _province_cli(gd, "grid", "export")
    assert task["id"] in export
    print(f"fact answered at the hub -> task listed in the grid: {seen * 1000:.0f} ms")


@pytest.mark.slow
def test_a_person_living_in_another_province_gets_a_task_there(
    hub: LiveHub, provinces: dict[str, LiveProvince], tmp_path: Path
) -> None:
    gd, bj = provinces["gd"], provinces["bj"]
    units = tmp_path / "bj.csv"
    units.write_text("region_code,grid_id,name\n110105,CY-01,朝阳一\n", encoding="utf-8")
    _province_cli(bj, "grid", "load", str(units))
    worker = _worker(bj, "CY-01", "110105")
    visitor = {**applicant(), "id_number": resident_id(region="110105", seq="777"),
               "residence_region": "110105", "reason": "stay"}  # fmt: skip
    person = httpx.post(gd.url + "/v1/applications", json=visitor, timeout=30).json()
    _contact(hub, visitor["id_number"], "E2E-C2")
    [task] = wait_for("a task in CY-01", lambda: _tasks(bj, worker), timeout=30)
    assert (task["pseudonym"], task["from_province"], task["kind"]) == (
        person["pseudonym"], "440000", "close_contact"
    )  # fmt: skip
    url = bj.url + f"/v1/grid/tasks/{task['id']}/state"
    assert httpx.post(url, headers=worker, json={"state": "contacted"}, timeout=10).is_success
