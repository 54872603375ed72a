"""Load shedding: a server process works on at most HEALTHCODE_MAX_IN_FLIGHT requests; the
others are answered 503 OVERLOADED with Retry-After at once, and the admitted ones succeed."""

from __future__ import annotations

import asyncio
import dataclasses
import secrets
from datetime import timedelta
from typing import Any

import httpx
import pytest
from hub_testdata import NOW, resident_id

from healthcode.config import Settings
from healthcode.hub.app import create_app
from healthcode.hub.routes.status_reads import caller_of
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


def _flood_and_serve(hub: Hub, monkeypatch: pytest.MonkeyPatch, *, share: int) -> Any:
    """A flooding checkpoint holds ``share`` status queries in flight (its answers held back)
    and sends 5 more at once; meanwhile a second checkpoint asks 4 times, one after another.
    Returns the flooder's held answers, its refused ones and the other's answers."""
    serial = _reported(hub)
    tokens = [hub.orgs.add(kind="checkpoint", region_code="110105", name=n)[1] for n in "ab"]
    flooder, _ = [hub.orgs.authenticate(t) for t in tokens]  # both cached
    queries = hub.status.queries
    answer = queries.query_async
    release = asyncio.Event()
    entered: list[int] = []

    async def held(principal: Any, **kw: Any) -> dict[str, Any]:
        if principal == flooder:
            entered.append(1)
            await release.wait()
        return await answer(principal, **kw)

    monkeypatch.setattr(queries, "query_async", held)
    app = create_app(hub)
    flood, polite = ({"Authorization": f"Bearer {t}"} for t in tokens)

    async def scenario() -> Any:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as client:
            ask = f"/v1/status/{serial}"
            admitted = [asyncio.create_task(client.get(ask, headers=flood)) for _ in range(share)]
            async with asyncio.timeout(30):
                while len(entered) < share:
                    await asyncio.sleep(0.001)
            excess = [asyncio.create_task(client.get(ask, headers=flood)) for _ in range(5)]
            served = [await client.get(ask, headers=polite) for _ in range(4)]
            refused = await asyncio.gather(*excess)
            release.set()
            return await asyncio.gather(*admitted), refused, served

    return asyncio.run(scenario())


def test_a_flooding_client_gets_429_beyond_its_share_and_another_keeps_being_served(
    hub: Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = dataclasses.replace(hub.settings, max_in_flight=4, max_in_flight_per_client=2)
    shared = dataclasses.replace(hub, settings=settings)
    admitted, refused, served = _flood_and_serve(shared, monkeypatch, share=2)
    assert [r.status_code for r in served] == [200] * 4
    assert [r.status_code for r in admitted] == [200] * 2
    for r in refused:
        assert r.status_code == 429
        assert r.headers["Retry-After"] == "1"
        assert r.json()["error"]["code"] == "CLIENT_OVER_SHARE"
        assert r.json()["error"]["retry_after"] == 1


def test_with_a_share_as_large_as_the_limit_the_flooder_takes_every_slot(
    hub: Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = dataclasses.replace(hub.settings, max_in_flight=2, max_in_flight_per_client=2)
    shared = dataclasses.replace(hub, settings=settings)
    _, refused, served = _flood_and_serve(shared, monkeypatch, share=2)
    assert {r.status_code for r in served} == {503}  # the process's limit: OVERLOADED
    assert {r.json()["error"]["code"] for r in refused} == {"CLIENT_OVER_SHARE"}


def test_a_clients_count_goes_down_and_refusals_held_back_are_bounded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    release = asyncio.Event()

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["path"] == "/fail":
            raise RuntimeError("route failed")
        await release.wait()

    limit = InFlightLimit(app, limit=10, share=1, client_of=lambda s: s["client"], pause=60)
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    def request(client: str, path: str = "/") -> Any:
        return limit({"type": "http", "path": path, "client": client}, None, send)  # type: ignore[arg-type]

    async def scenario() -> None:
        with pytest.raises(RuntimeError):
            await request("a", "/fail")
        assert limit.held("a") == 0 and limit.in_flight == 0
        first = asyncio.create_task(request("a"))
        await asyncio.sleep(0)
        assert limit.held("a") == 1
        refused = [asyncio.create_task(request("a")) for _ in range(3)]
        other = asyncio.create_task(request("b"))  # another client is admitted
        await asyncio.sleep(0)
        assert (limit.paused, limit.held("b"), sent) == (3, 1, [])
        monkeypatch.setattr("healthcode.web.admission.MAX_PAUSED", 3)
        await request("a")  # a fourth refusal is not held back
        assert [m.get("status") for m in sent] == [429, None]
        release.set()
        await asyncio.gather(first, other)
        for task in refused:
            task.cancel()
        await asyncio.gather(*refused, return_exceptions=True)
        assert (limit.in_flight, limit.paused, limit.held("a"), limit.held("b")) == (0, 0, 0, 0)

    asyncio.run(scenario())


def test_the_share_is_a_setting() -> None:
    from hub_testdata import ENV

    env = {**ENV, "HEALTHCODE_MAX_IN_FLIGHT_PER_CLIENT": "5"}
    assert Settings.from_env(env).max_in_flight_per_client == 5
    with pytest.raises(Exception, match="HEALTHCODE_MAX_IN_FLIGHT_PER_CLIENT"):
        Settings.from_env({**ENV, "HEALTHCODE_MAX_IN_FLIGHT_PER_CLIENT": "0"})


def test_made_up_tokens_count_as_their_peers_and_a_checked_token_as_its_organisation(
    hub: Hub,
) -> None:
    """A client sending a new made-up token with every request gets one share, its peer's,
    not one a token; a token this process has checked is its organisation's wherever it comes
    from."""
    caller = caller_of(hub)
    _, token = hub.orgs.add(kind="checkpoint", region_code="110105", name="station")
    org = hub.orgs.authenticate(token).org_id

    def scope(bearer: str, peer: str) -> dict[str, Any]:
        headers = [(b"authorization", f"Bearer {bearer}".encode())]
        return {"type": "http", "headers": headers, "client": (peer, 4321)}

    made_up = {caller(scope(secrets.token_urlsafe(24), "10.0.0.9")) for _ in range(20)}
    assert made_up == {("peer", "10.0.0.9")}
    assert caller(scope(token, "10.0.0.9")) == caller(scope(token, "10.0.0.7")) == ("org", org)
    assert caller({"type": "http", "headers": [], "client": None}) == ("peer", None)
