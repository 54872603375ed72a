"""The hub refuses before it reads (issue 9, class 4): the token and the permission the path
decides come before the body, every body is counted while it streams (413 BODY_TOO_LARGE
without reading the rest), JSON nests at most HEALTHCODE_JSON_DEPTH_MAX deep, and the number of
items a request may hold is bounded."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Iterator

import anyio
import httpx
import pytest
from hub_testdata import ENV, nat, resident_id

from healthcode.config import Settings
from healthcode.core.clock import FixedClock
from healthcode.hub.app import create_app
from healthcode.hub.services import Hub
from healthcode.store.db import Database

Org = Callable[..., dict[str, str]]

#: Every route that takes a body, with a content type it reads.
BODY_ROUTES = [
    ("POST", "/v1/records/nat", "application/json"),
    ("POST", "/v1/records/nat/batch", "application/json"),
    ("POST", "/v1/records/nat/batch", "application/x-ndjson"),
    ("POST", "/v1/records/nat/csv", "text/csv"),
    ("POST", "/v1/records/nat/csv", "multipart/form-data; boundary=xyz"),
    ("POST", "/v1/records/nat/corrections", "application/json"),
    ("POST", "/v1/fhir", "application/fhir+json"),
    ("POST", "/v1/registrations", "application/json"),
    ("POST", "/v1/status", "application/json"),
    ("POST", "/v1/risk-areas", "application/json"),
    ("PATCH", "/v1/risk-areas/1", "application/json"),
    ("POST", "/v1/risk-areas/1/lift", "application/json"),
]

CHUNK = 64 * 1024


class Body:
    """A request body of ``total`` bytes, made chunk by chunk; counts what the server took."""

    def __init__(self, total: int, chunk: bytes = b"[" + b" " * (CHUNK - 1), head: bytes = b""):
        self.total = total
        self.chunk = chunk
        self.head = head
        self.sent = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        if self.head:
            self.sent += len(self.head)
            yield self.head
        while self.sent < self.total:
            self.sent += len(self.chunk)
            yield self.chunk


def _send(hub: Hub, method: str, path: str, headers: dict[str, str], body: Body) -> httpx.Response:
    async def call() -> httpx.Response:
        transport = httpx.ASGITransport(app=create_app(hub))
        async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as c:
            return await c.request(method, path, headers=headers, content=body)

    return anyio.run(call)


def _hub(db: Database, clock: FixedClock, **env: str) -> Hub:
    return Hub.build(settings=Settings.from_env({**ENV, **env}), db=db, clock=clock)


@pytest.fixture
def small(db: Database, clock: FixedClock) -> Hub:
    """A hub whose bodies are at most 4 KiB, JSON at most 8 deep, 3 items a request."""
    env = {
        "HEALTHCODE_BODY_MAX_BYTES": "4096",
        "HEALTHCODE_JSON_DEPTH_MAX": "8",
        "HEALTHCODE_ITEMS_MAX": "3",
    }
    return _hub(db, clock, **env)


@pytest.fixture
def small_client(small: Hub) -> Iterator[httpx.Client]:
    from hub_testdata import ASGISyncTransport

    with httpx.Client(transport=ASGISyncTransport(create_app(small)), base_url="http://t") as c:
        yield c


def _code(r: httpx.Response) -> str:
    error = r.json()
    if "issue" in error:  # an OperationOutcome on the FHIR route
        return str(error["issue"][0]["details"]["coding"][0]["code"])
    return str(error["error"]["code"])


@pytest.mark.parametrize(("method", "path", "ctype"), BODY_ROUTES)
def test_an_unauthenticated_50_mb_body_gets_its_401_unread(
    hub: Hub, method: str, path: str, ctype: str
) -> None:
    body = Body(50 * 1024 * 1024)
    r = _send(hub, method, path, {"Content-Type": ctype}, body)
    assert r.status_code == 401 and _code(r) == "TOKEN_MISSING"
    assert body.sent <= 2 * CHUNK  # at most what the transport took before the app answered


@pytest.mark.parametrize(("method", "path", "ctype"), BODY_ROUTES)
def test_a_caller_without_the_permission_gets_its_403_unread(
    hub: Hub, org: Org, method: str, path: str, ctype: str
) -> None:
    body = Body(50 * 1024 * 1024)
    r = _send(hub, method, path, {**org("checkpoint"), "Content-Type": ctype}, body)
    assert r.status_code == 403 and _code(r) == "KIND_NOT_ALLOWED"
    assert body.sent <= 2 * CHUNK


@pytest.mark.parametrize(("method", "path", "ctype"), BODY_ROUTES)
def test_an_oversized_chunked_body_gets_413_unread(
    small: Hub, method: str, path: str, ctype: str
) -> None:
    _, token = small.orgs.add(kind="lab", region_code="440106", name="lab")
    if "risk-areas" in path or path in ("/v1/registrations", "/v1/status"):
        kind = "risk-authority" if "risk-areas" in path else "province"
        _, token = small.orgs.add(kind=kind, region_code="440000", name=kind)
    head = b""
    if ctype.startswith("multipart/"):
        head = b'--xyz\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\n\r\n'
    body = Body(1024 * 1024, b"[" + b" " * 1023, head)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": ctype}
    r = _send(small, method, path, headers, body)
    assert r.status_code == 413 and _code(r) == "BODY_TOO_LARGE"
    assert body.sent <= 4096 + 2 * 1024  # the limit, then one chunk more at most


def test_a_declared_length_over_the_limit_is_refused_before_a_byte_is_read(
    small: Hub, org: Org
) -> None:
    _, token = small.orgs.add(kind="lab", region_code="440106", name="lab")
    body = Body(5000, b" " * 1000)
    headers = {
        "Authorization": f"Bearer {token}",
        "Content-Type": "application/json",
        "Content-Length": "5000",
    }
    r = _send(small, "POST", "/v1/records/nat/batch", headers, body)
    assert r.status_code == 413 and _code(r) == "BODY_TOO_LARGE"
    assert body.sent <= 1000  # the transport's first chunk at most


def test_a_body_within_the_limit_is_read_whole(small_client: httpx.Client, small: Hub) -> None:
    _, token = small.orgs.add(kind="lab", region_code="440106", name="lab")
    headers = {"Authorization": f"Bearer {token}"}
    r = small_client.post("/v1/records/nat", json=nat("S1", resident_id()), headers=headers)
    assert r.status_code == 200, r.text


def _deep(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


JSON_ROUTES = [
    ("/v1/records/nat", "application/json", lambda d: b'{"a":' + _deep(d) + b"}"),
    ("/v1/records/nat/batch", "application/json", _deep),
    ("/v1/records/nat/batch", "application/x-ndjson", lambda d: b'{"a":' + _deep(d) + b"}\n"),
    ("/v1/records/nat/corrections", "application/json", lambda d: b'{"r":' + _deep(d) + b"}"),
    ("/v1/fhir", "application/fhir+json", lambda d: b'{"entry":' + _deep(d) + b"}"),
    ("/v1/registrations", "application/json", lambda d: b'{"people":' + _deep(d) + b"}"),
    ("/v1/status", "application/json", lambda d: b'{"reports":' + _deep(d) + b"}"),
    ("/v1/risk-areas", "application/json", lambda d: b'{"document":' + _deep(d) + b"}"),
]


@pytest.mark.parametrize("depth", [9, 1500])
@pytest.mark.parametrize(("path", "ctype", "make"), JSON_ROUTES)
def test_json_nested_too_deep_is_refused_with_a_stable_code(
    small_client: httpx.Client,
    small: Hub,
    path: str,
    ctype: str,
    make: Callable[[int], bytes],
    depth: int,
) -> None:
    kind = {"/v1/registrations": "province", "/v1/status": "province"}.get(path, "lab")
    kind = "risk-authority" if "risk-areas" in path else kind
    _, token = small.orgs.add(kind=kind, region_code="440000", name=kind)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": ctype}
    r = small_client.post(path, content=make(depth), headers=headers)
    assert r.status_code == 400, r.text
    assert _code(r) == "JSON_TOO_DEEP"


@pytest.mark.parametrize("depth", [2000, 100_000])
def test_json_nested_deeper_than_python_parses_is_refused(
    client: httpx.Client, org: Org, depth: int
) -> None:
    r = client.post("/v1/records/nat/batch", content=_deep(depth), headers=org("lab", "440106"))
    assert r.status_code == 400 and _code(r) == "JSON_TOO_DEEP"
    r = client.post("/v1/records/nat", content=_deep(depth), headers=org("lab", "440106"))
    assert r.status_code == 400 and _code(r) == "JSON_TOO_DEEP"


def test_a_record_nests_within_the_default_depth(client: httpx.Client, org: Org) -> None:
    record = nat("S1", resident_id(), note={"a": [{"b": [1]}]})
    r = client.post("/v1/records/nat/batch", json=[record], headers=org("lab", "440106"))
    assert r.status_code != 400 or _code(r) != "JSON_TOO_DEEP"


@pytest.mark.parametrize(
    ("path", "field"), [("/v1/registrations", "people"), ("/v1/status", "reports")]
)
def test_registrations_and_reports_hold_at_most_items_max(
    small_client: httpx.Client, small: Hub, path: str, field: str
) -> None:
    _, token = small.orgs.add(kind="province", region_code="440000", name="gd")
    body = json.dumps({field: [{}] * 4}).encode()
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    r = small_client.post(path, content=body, headers=headers)
    assert r.status_code == 413 and _code(r) == "BATCH_TOO_LARGE"
