"""A grid worker's action carries a client-generated id: sent twice (a phone that queued it
offline, an answer lost), it is applied once and answered as the same action; the same id for
another action is refused; a malformed id is refused with nothing stored."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from hub_testdata import ASGISyncTransport
from province_testdata import applicant
from sqlalchemy import select

from healthcode.hub.batches import Located
from healthcode.hub.services import Hub
from healthcode.province.app import create_app
from healthcode.province.grid.models import GridTaskEvent
from healthcode.province.service import ProvinceService

UNITS = "region_code,grid_id,name\n440106,TH-01,天河一网格\n"


@pytest.fixture
def client(province: ProvinceService) -> Iterator[httpx.Client]:
    transport = ASGISyncTransport(create_app(province))
    with httpx.Client(transport=transport, base_url="http://province.test") as c:
        yield c


@pytest.fixture
def task(province: ProvinceService, hub: Hub, org: Callable[..., str]) -> str:
    province.grid.load_csv(UNITS)
    province.applications.apply(applicant())
    contact = {"record_id": "C1", "id_number": applicant()["id_number"], "kind": "close",
               "last_exposure_at": "2022-11-19T08:00:00+08:00",
               "identified_at": "2022-11-19T20:00:00+08:00"}  # fmt: skip
    principal = hub.orgs.authenticate(org("disease-control", "440106"))
    hub.ingest.submit(principal, "contact", [Located({"index": 0}, contact)])
    province.pull_all()
    [one] = province.grid.tasks(_worker(province)[0])
    return str(one["id"])


def _worker(province: ProvinceService, grid: str = "TH-01") -> tuple[Any, dict[str, str]]:
    member, token = province.staff.add(
        name="w", roles=["grid-worker"], region_code="440106", grid_id=grid
    )
    return member, {"Authorization": f"Bearer {token}"}


def _events(province: ProvinceService, task_id: str) -> list[tuple[str, str | None, str | None]]:
    with province.db.read() as s:
        rows = s.execute(
            select(GridTaskEvent).where(GridTaskEvent.task_id == task_id).order_by(GridTaskEvent.id)
        ).scalars()
        return [(e.action, e.to_state, e.action_id) for e in rows]


def test_an_action_sent_twice_is_applied_once(
    province: ProvinceService, client: httpx.Client, task: str
) -> None:
    _, worker = _worker(province)
    body = {"state": "contacted", "note": "电话已通", "action_id": "a1b2c3d4-0001"}
    first = client.post(f"/v1/grid/tasks/{task}/state", headers=worker, json=body)
    assert first.status_code == 200, first.text
    assert (first.json()["state"], first.json()["repeat"]) == ("contacted", False)
    isolated = {"state": "isolated", "action_id": "a1b2c3d4-0002"}
    assert client.post(f"/v1/grid/tasks/{task}/state", headers=worker, json=isolated).is_success
    # the first action again, after the task moved on: the same action, not a transition
    again = client.post(f"/v1/grid/tasks/{task}/state", headers=worker, json=body)
    assert again.status_code == 200, again.text
    assert (again.json()["state"], again.json()["repeat"]) == ("isolated", True)
    assert [e for e in _events(province, task) if e[0] == "state"] == [
        ("state", "contacted", "a1b2c3d4-0001"),
        ("state", "isolated", "a1b2c3d4-0002"),
    ]
    esc = {"note": "需要支援", "action_id": "a1b2c3d4-0003"}
    for _ in range(2):
        r = client.post(f"/v1/grid/tasks/{task}/escalate", headers=worker, json=esc)
        assert r.status_code == 200, r.text
    assert [e[0] for e in _events(province, task)].count("escalate") == 1


def test_an_action_id_for_another_action_or_malformed_is_refused(
    province: ProvinceService, client: httpx.Client, task: str
) -> None:
    _, worker = _worker(province)
    _, colleague = _worker(province)
    url = f"/v1/grid/tasks/{task}/state"
    body = {"state": "contacted", "action_id": "same-id-0001"}
    assert client.post(url, headers=worker, json=body).is_success
    for other, who in (
        ({**body, "state": "unreachable"}, worker),
        ({**body, "note": "another note"}, worker),
        (body, colleague),
    ):
        r = client.post(url, headers=who, json=other)
        assert (r.status_code, r.json()["error"]["code"]) == (409, "GRID_ACTION_REUSED")
    for bad in ("short", "x" * 65, "空格 not allowed", 12345678, ["a" * 10]):
        r = client.post(url, headers=worker, json={"state": "isolated", "action_id": bad})
        assert (r.status_code, r.json()["error"]["code"]) == (422, "GRID_ACTION_ID_INVALID")
    r = client.post(f"/v1/grid/tasks/{task}/escalate", headers=worker,
                    json={"note": "x", "action_id": "same-id-0001"})  # fmt: skip
    assert (r.status_code, r.json()["error"]["code"]) == (409, "GRID_ACTION_REUSED")
    assert [e[1] for e in _events(province, task) if e[0] == "state"] == ["contacted"]


def test_without_an_action_id_each_request_is_its_own_action(
    province: ProvinceService, client: httpx.Client, task: str
) -> None:
    _, worker = _worker(province)
    url = f"/v1/grid/tasks/{task}/state"
    for _ in range(2):
        assert client.post(url, headers=worker, json={"state": "unreachable"}).is_success
    assert [e[1] for e in _events(province, task) if e[0] == "state"] == [
        "unreachable",
        "unreachable",
    ]


def test_the_same_action_sent_at_once_on_several_connections_is_applied_once(
    fresh_db_url: str,
) -> None:
    """Four threads send the same action at once on a real database (several connections):
    one applies it, the others are answered as repeats, one event is stored."""
    from concurrent.futures import ThreadPoolExecutor
    from datetime import timedelta

    from province_testdata import province_settings

    from healthcode.core.clock import SystemClock
    from healthcode.province.grid.models import GridTask
    from healthcode.province.schema import upgrade
    from healthcode.store.db import Database

    db = Database.from_url(fresh_db_url, threads=4)
    upgrade(db)
    service = ProvinceService.build(
        settings=province_settings("hub-token"), db=db, clock=SystemClock()
    )
    try:
        now = service.clock.now()
        with db.write() as s:
            s.add(GridTask(id="gt_race", pseudonym="p" * 64, kind="close_contact",
                           rule="RED_CLOSE_CONTACT", colour="red", asks={},
                           residence_region="440106", county="440106", grid_id="TH-01",
                           state="new", changed_at=now, created_at=now, state_at=now,
                           contact_due=now + timedelta(hours=2)))  # fmt: skip
        member, _ = _worker(service)
        body = {"state": "contacted", "action_id": "racing-0001"}
        with ThreadPoolExecutor(4) as pool:
            answers = list(pool.map(lambda _: service.grid.act(member, "gt_race", body), range(8)))
        assert sorted(a["repeat"] for a in answers) == [False] + [True] * 7
        assert [e[1] for e in _events(service, "gt_race") if e[0] == "state"] == ["contacted"]
    finally:
        service.hub.close()
        db.dispose()
