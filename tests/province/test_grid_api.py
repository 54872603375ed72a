"""The grid's routes: who sees what, the state change over HTTP, units loaded by a supervisor,
the CSV export, the command line; and no route lets a grid worker change a colour."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hub_testdata import ASGISyncTransport
from province_testdata import PROVINCE_KEY, applicant
from typer.testing import CliRunner

from healthcode.cli.main import app as cli
from healthcode.hub.batches import Located
from healthcode.hub.services import Hub
from healthcode.province.app import create_app
from healthcode.province.models import Colour
from healthcode.province.service import ProvinceService

UNITS = "region_code,grid_id,name\n440106,TH-01,天河一网格\n440103,LW-01,荔湾一网格\n"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def client(province: ProvinceService) -> Iterator[httpx.Client]:
    transport = ASGISyncTransport(create_app(province))
    with httpx.Client(transport=transport, base_url="http://province.test") as c:
        yield c


@pytest.fixture
def red(province: ProvinceService, hub: Hub, org: Callable[..., str]) -> dict[str, Any]:
    province.grid.load_csv(UNITS)
    person = province.applications.apply(applicant())
    contact = {"record_id": "C1", "id_number": applicant()["id_number"], "kind": "close",
               "last_exposure_at": "2022-11-19T08:00:00+08:00",
               "identified_at": "2022-11-19T20:00:00+08:00"}  # fmt: skip
    principal = hub.orgs.authenticate(org("disease-control", "440106"))
    hub.ingest.submit(principal, "contact", [Located({"index": 0}, contact)])
    province.pull_all()
    return person


def _token(province: ProvinceService, *roles: str, grid: str | None = None,
           region: str = "440106") -> str:  # fmt: skip
    _, token = province.staff.add(name="x", roles=list(roles), region_code=region, grid_id=grid)
    return token


def test_a_grid_worker_works_their_task_over_http(
    province: ProvinceService, client: httpx.Client, red: dict[str, Any]
) -> None:
    own = bearer(_token(province, "grid-worker", grid="TH-01"))
    other = bearer(_token(province, "grid-worker", grid="LW-01", region="440103"))
    [task] = client.get("/v1/grid/tasks", headers=own).json()["tasks"]
    assert task["person"]["phone"] == "13812345678" and task["grid_id"] == "TH-01"
    assert client.get("/v1/grid/tasks", headers=other).json()["tasks"] == []
    seen = client.get(f"/v1/grid/tasks/{task['id']}", headers=other).json()
    assert seen["person"]["phone"] == "138****5678" and seen["person"]["name"] == "张*丰"
    r = client.post(
        f"/v1/grid/tasks/{task['id']}/state", headers=other, json={"state": "contacted"}
    )
    assert (r.status_code, r.json()["error"]["code"]) == (403, "GRID_NOT_OWN")
    r = client.post(f"/v1/grid/tasks/{task['id']}/state", headers=own, json={"state": "released"})
    assert (r.status_code, r.json()["error"]["code"]) == (409, "GRID_TRANSITION_INVALID")
    r = client.post(f"/v1/grid/tasks/{task['id']}/state", headers=own,
                    json={"state": "contacted", "note": "x" * 501})  # fmt: skip
    assert (r.status_code, r.json()["error"]["code"]) == (422, "GRID_NOTE_INVALID")
    for state in ("contacted", "isolated", "released"):
        r = client.post(f"/v1/grid/tasks/{task['id']}/state", headers=own,
                        json={"state": state, "note": f"{state} 已记录"})  # fmt: skip
        assert r.status_code == 200, r.text
    assert r.json()["state"] == "released"
    r = client.post(f"/v1/grid/tasks/{task['id']}/escalate", headers=own, json={"note": "x"})
    assert r.status_code == 409
    assert client.get("/v1/grid/tasks/gt_0000000000000000", headers=own).status_code == 404
    assert client.get("/v1/grid/tasks", headers=bearer("hcs_wrong")).status_code == 401
    operator = bearer(_token(province, "operator"))
    assert client.get("/v1/grid/tasks", headers=operator).status_code == 403


def test_no_route_lets_a_grid_worker_change_a_colour(
    province: ProvinceService, client: httpx.Client, red: dict[str, Any]
) -> None:
    worker = bearer(_token(province, "grid-worker", grid="TH-01"))
    app = create_app(province)
    paths = {
        (method, route.path)  # type: ignore[attr-defined]
        for route in app.routes
        for method in getattr(route, "methods", ()) or ()
        if method in ("POST", "PUT", "PATCH", "DELETE")
    }
    [task] = client.get("/v1/grid/tasks", headers=worker).json()["tasks"]
    body = {"colour": "green", "state": "contacted", "pseudonym": red["pseudonym"]}
    for method, path in sorted(paths):
        concrete = path.replace("{task_id}", task["id"])
        client.request(method, concrete, headers=worker, json=body)
    with province.db.read() as s:
        colour = s.get(Colour, red["pseudonym"])
    assert colour is not None and colour.colour == "red"


def test_a_supervisor_loads_units_of_their_region_and_exports_timeliness(
    province: ProvinceService, client: httpx.Client, red: dict[str, Any]
) -> None:
    supervisor = bearer(_token(province, "supervisor", region="440100"))
    worker = bearer(_token(province, "grid-worker", grid="TH-01"))
    units = [{"region_code": "440106", "grid_id": "TH-02", "name": "天河二"}]
    r = client.post("/v1/grid/units", headers=worker, json={"units": units})
    assert r.status_code == 403
    wrong = [*units, {"region_code": "440106", "grid_id": "?"}]
    r = client.post("/v1/grid/units", headers=supervisor, json={"units": wrong})
    assert r.status_code == 422 and r.json()["error"]["code"] == "GRID_CSV_INVALID"
    assert [e["line"] for e in r.json()["error"]["errors"]] == [1]
    outside = [{"region_code": "440303", "grid_id": "SZ-01", "name": "深圳"}]
    r = client.post("/v1/grid/units", headers=supervisor, json={"units": outside})
    assert r.status_code == 403 and r.json()["error"]["code"] == "GRID_NOT_OWN"
    assert client.post("/v1/grid/units", headers=supervisor, json={"units": units}).json() == {
        "loaded": 1
    }
    listed = client.get("/v1/grid/units", headers=worker).json()["units"]
    assert {u["grid_id"] for u in listed} == {"TH-01", "TH-02", "LW-01"}
    assert [len(u["workers"]) for u in listed if u["grid_id"] == "TH-01"] == [1]
    csv_answer = client.get("/v1/grid/timeliness.csv", headers=supervisor)
    assert csv_answer.headers["content-type"].startswith("text/csv")
    assert red["pseudonym"] in csv_answer.text
    figures = client.get("/v1/grid/timeliness?by=county", headers=supervisor).json()
    assert figures["figures"][0]["county"] == "440106"
    assert client.get("/v1/grid/timeliness?by=street", headers=supervisor).status_code == 422


def test_the_command_line_loads_units_and_exports(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HEALTHCODE_PROVINCE_DATABASE_URL", f"sqlite:///{tmp_path / 'p.db'}")
    monkeypatch.setenv("HEALTHCODE_PROVINCE_REGION", "440000")
    monkeypatch.setenv("HEALTHCODE_PROVINCE_FIELD_KEY", PROVINCE_KEY)
    monkeypatch.setenv("HEALTHCODE_PROVINCE_HUB_URL", "http://hub.test")
    monkeypatch.setenv("HEALTHCODE_PROVINCE_HUB_TOKEN", "hc_unused")
    good, bad = tmp_path / "units.csv", tmp_path / "bad.csv"
    good.write_text(UNITS, encoding="utf-8")
    bad.write_text(UNITS + "440100,X,city\n", encoding="utf-8")
    runner = CliRunner()
    refused = runner.invoke(cli, ["province", "grid", "load", str(bad)])
    assert refused.exit_code == 1 and "line 4: region_code" in refused.output
    assert "GRID_CSV_INVALID" in refused.output
    loaded = runner.invoke(cli, ["province", "grid", "load", str(good)])
    assert loaded.exit_code == 0 and "2 grid unit(s) loaded" in loaded.output
    listed = runner.invoke(cli, ["province", "grid", "list"])
    assert "TH-01" in listed.output and "LW-01" in listed.output
    exported = runner.invoke(cli, ["province", "grid", "export"])
    assert exported.exit_code == 0 and exported.output.startswith("task_id,pseudonym,kind")
    figures = runner.invoke(cli, ["province", "grid", "timeliness", "--by", "county", "--csv"])
    assert figures.exit_code == 0 and figures.output.startswith("county,day,tasks")
