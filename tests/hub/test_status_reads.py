"""The status reads answered before FastAPI (``hub/routes/status_reads.py``) answer what the
FastAPI routes answer, byte for byte: the same requests, with the fast path and without it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta

import anyio
import httpx
import pytest
from hub_testdata import NOW, ASGISyncTransport, resident_id

from healthcode.hub.app import create_app
from healthcode.hub.routes import status_reads
from healthcode.hub.services import Hub

Org = Callable[..., dict[str, str]]


def _scenario(client: httpx.Client, org: Org) -> tuple[list[str], list[str]]:
    gd, bj = org("province", "440000"), org("province", "110000")
    people = [{"id_number": resident_id(seq=f"{i:03d}")} for i in range(3)]
    pseudonyms = client.post("/v1/registrations", json={"people": people}, headers=gd).json()
    pseudonyms = pseudonyms["pseudonyms"]
    client.post("/v1/registrations", json={"people": people[1:]}, headers=bj)
    serials = []
    for who, headers, colour in (("GD", gd, "green"), ("BJ", bj, "red")):
        for i, p in enumerate(pseudonyms):
            if who == "BJ" and i == 0:
                continue
            since = NOW - timedelta(days=i)
            report = {
                "serial": f"{who}-{i}",
                "pseudonym": p,
                "colour": colour,
                "since": since.isoformat(),
                "until": (since + timedelta(days=1 + i)).isoformat(),
                "ruleset_version": "r",
            }
            r = client.post("/v1/status", json={"reports": [report]}, headers=headers)
            assert r.status_code == 200, r.text
            serials.append(report["serial"])
    return serials, pseudonyms


def _requests(serials: list[str], pseudonyms: list[str]) -> list[str]:
    targets = [f"/v1/status/{s}" for s in serials] + [
        f"/v1/status?pseudonym={p}" for p in pseudonyms
    ]
    return [
        *targets,
        "/v1/status/NOPE",
        "/v1/status?pseudonym=" + "0" * 64,
        "/v1/status/" + "x" * 65,
        "/v1/status?pseudonym=" + "x" * 65,
        "/v1/status?pseudonym=",
        "/v1/status",
        "/v1/status?pseudonym=a&pseudonym=b",
        "/v1/status?pseudonym=a&other=1",
        f"/v1/status/{serials[0]}?x=1",
        "/v1/status/a%00b",
        "/v1/status?pseudonym=a%00b",
        "/v1/status/%E4%B8%AD",
        "/v1/status/",
        "/v1/status/a/b",
    ]


def test_the_fast_path_answers_what_the_routes_answer(
    hub: Hub, client: httpx.Client, org: Org, monkeypatch: pytest.MonkeyPatch
) -> None:
    serials, pseudonyms = _scenario(client, org)
    callers = [org("checkpoint", "110105"), org("lab", "440106"), {}]
    callers.append({"Authorization": "Bearer not-a-token"})
    callers.append({"Authorization": "Basic abc"})

    def answers() -> list[tuple[int, list[tuple[str, str]], bytes]]:
        out = []
        with httpx.Client(transport=ASGISyncTransport(create_app(hub)), base_url="http://t") as c:
            for headers in callers:
                for target in _requests(serials, pseudonyms):
                    for _ in range(2):  # the first reads the token, the second has it cached
                        r = c.get(target, headers=headers)
                        out.append((r.status_code, sorted(r.headers.items()), r.content))
        return out

    answered = status_reads.StatusReads._answer
    taken: list[int] = []

    async def counted(self: status_reads.StatusReads, *args: object) -> object:
        taken.append(1)
        return await answered(self, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(status_reads.StatusReads, "_answer", counted)
    fast = answers()
    assert len(taken) >= 2 * (len(serials) + len(pseudonyms))  # the fast path answered those
    hub.orgs._cache.clear()
    monkeypatch.setattr(status_reads, "_asked", lambda scope: None)  # every request to FastAPI
    assert answers() == fast
    statuses = {status for status, _, _ in fast}
    assert {200, 401, 403, 404, 422} <= statuses


def test_an_unexpected_exception_is_answered_500_in_the_error_form_on_both_paths(
    hub: Hub, client: httpx.Client, org: Org, monkeypatch: pytest.MonkeyPatch
) -> None:
    serials, _ = _scenario(client, org)
    headers = org("checkpoint", "110105")

    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(hub.status.queries, "query_async", broken)

    async def twice() -> list[tuple[int, list[tuple[str, str]], bytes]]:
        transport = httpx.ASGITransport(app=create_app(hub), raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            out = []
            for _ in range(2):  # the token read, then cached
                r = await c.get(f"/v1/status/{serials[0]}", headers=headers)
                out.append((r.status_code, sorted(r.headers.items()), r.content))
            return out

    by_fast_path = anyio.run(twice)
    hub.orgs._cache.clear()
    monkeypatch.setattr(status_reads, "_asked", lambda scope: None)  # every request to FastAPI
    assert anyio.run(twice) == by_fast_path
    status, _, body = by_fast_path[0]
    assert status == 500
    assert body == b'{"error":{"code":"HTTP_ERROR","message":"Internal Server Error"}}'
    assert by_fast_path[1] == by_fast_path[0]


def test_a_token_not_cached_is_read_once_for_the_requests_that_bring_it_together(
    hub: Hub, client: httpx.Client, org: Org, monkeypatch: pytest.MonkeyPatch
) -> None:
    serials, _ = _scenario(client, org)
    headers = org("checkpoint", "110105")
    hub.orgs._cache.clear()
    read = hub.orgs.authenticate
    reads: list[int] = []

    def counted(token: str | None) -> object:
        reads.append(1)
        return read(token)

    monkeypatch.setattr(hub.orgs, "authenticate", counted)

    async def together(sent: dict[str, str], n: int) -> list[int]:
        transport = httpx.ASGITransport(app=create_app(hub))
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            asked = [c.get(f"/v1/status/{serials[0]}", headers=sent) for _ in range(n)]
            return [r.status_code for r in await asyncio.gather(*asked)]

    assert anyio.run(together, headers, 16) == [200] * 16
    assert reads == [1]
    bad = {"Authorization": "Bearer not-a-token"}
    assert anyio.run(together, bad, 4) == [401] * 4
    assert len(reads) == 2
