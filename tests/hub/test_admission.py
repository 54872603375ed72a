"""Load shedding: a server process works on at most HEALTHCODE_MAX_IN_FLIGHT requests; the
others are answered 503 OVERLOADED with Retry-After at once, and the admitted ones succeed."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import timedelta
from typing import Any

import httpx
import pytest
from hub_testdata import NOW, resident_id

from healthcode.config import Settings
from healthcode.hub.app import create_app
from healthcode.hub.services import Hub
from healthcode.web.admission import InFlightLimit

LIMIT = 3


@pytest.fixture
def limited(hub: Hub) -> Hub:
    settings = dataclasses.replace(hub.settings, max_in_flight=LIMIT)
    return dataclasses.replace(hub, settings=settings)


def _reported(hub: Hub) -> str:
    _, token = hub.orgs.add(kind="province", region_code="440000", name="gd")
    gd = hub.orgs.authenticate(token)
    (pseudonym,) = hub.status.register(gd, [{"id_number": resident_id(seq="001")}])
    report = {
        "serial": "GD-1",
        "pseudonym": pseudonym,
        "colour": "green",
        "since": NOW.isoformat(),
        "until": (NOW + timedelta(days=1)).isoformat(),
        "ruleset_version": "1",
    }
    hub.status.report(gd, [report])
    return "GD-1"


def test_requests_beyond_the_limit_get_503_overloaded_and_admitted_ones_succeed(
    limited: Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    serial = _reported(limited)
    _, token = limited.orgs.add(kind="checkpoint", region_code="110105", name="station")
    station = {"Authorization": f"Bearer {token}"}
    limited.orgs.authenticate(token)  # cached: the requests below read no token at once
    queries = limited.status.queries
    answer = queries.query_async
    release = asyncio.Event()
    entered: list[int] = []

    async def held(*args: Any, **kw: Any) -> dict[str, Any]:
        entered.append(1)
        await release.wait()
        return await answer(*args, **kw)

    monkeypatch.setattr(queries, "query_async", held)
    app = create_app(limited)

    async def scenario() -> tuple[list[httpx.Response], list[httpx.Response], httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as client:
            admitted = [
                asyncio.create_task(client.get(f"/v1/status/{serial}", headers=station))
                for _ in range(LIMIT)
            ]
            async with asyncio.timeout(30):
                while len(entered) < LIMIT:  # every admitted request is in flight
                    await asyncio.sleep(0.001)
            shed = [await client.get(f"/v1/status/{serial}", headers=station) for _ in range(5)]
            shed.append(await client.post("/v1/records/nat", content=b"{}", headers=station))
            health = await client.get("/v1/health")
            release.set()
            return list(await asyncio.gather(*admitted)), shed, health

    admitted, shed, health = asyncio.run(scenario())
    assert [r.status_code for r in admitted] == [200] * LIMIT
    assert {r.json()["serial"] for r in admitted} == {serial}
    for r in shed:
        assert r.status_code == 503
        assert r.headers["Retry-After"] == "1"
        assert r.headers["content-type"] == "application/json"
        assert r.json()["error"]["code"] == "OVERLOADED"
        assert r.json()["error"]["retry_after"] == 1
    assert health.status_code == 200  # the health check is not counted
    assert len(entered) == LIMIT  # the shed requests never reached the route


def test_the_count_goes_down_when_requests_end_or_fail() -> None:
    async def fails(scope: Any, receive: Any, send: Any) -> None:
        raise RuntimeError("route failed")

    limit = InFlightLimit(fails, limit=1)

    async def twice() -> None:
        for _ in range(2):
            with pytest.raises(RuntimeError):
                await limit({"type": "http", "path": "/"}, None, None)  # type: ignore[arg-type]
            assert limit.in_flight == 0

    asyncio.run(twice())


def test_the_limit_is_a_setting() -> None:
    from hub_testdata import ENV

    assert Settings.from_env({**ENV, "HEALTHCODE_MAX_IN_FLIGHT": "7"}).max_in_flight == 7
    with pytest.raises(Exception, match="HEALTHCODE_MAX_IN_FLIGHT"):
        Settings.from_env({**ENV, "HEALTHCODE_MAX_IN_FLIGHT": "0"})
