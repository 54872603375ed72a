"""No input makes a 500 (issue 9, class 5): every string and time of every route's body is
checked at one boundary (``hub/fields.py``), and each hostile value becomes a 4xx with a stable
code naming the field. Runs on SQLite and, with HEALTHCODE_TEST_DATABASE_URL, PostgreSQL (where
a NUL in a text made the insert fail)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from hostile import RECORDS, Route, bundle, is_time, leaves, replaced, routes
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from healthcode.hub.services import Hub
from healthcode.store.models import CodeStatus, FeedEntry, Record, Registration, RiskArea

Org = Callable[..., dict[str, str]]

EDGE_TIMES = ("0001-01-01", "9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00")


@dataclass
class World:
    """A client, a token for each caller of ``routes()``, and a person registered by the
    province (status reports name their pseudonym; corrections name a stored record)."""

    client: httpx.Client
    hub: Hub
    tokens: dict[str, dict[str, str]]

    def send(self, route: Route, body: Any) -> httpx.Response:
        content = body if isinstance(body, bytes) else json.dumps(body).encode()
        headers = {**self.tokens[route.caller], "Content-Type": route.ctype}
        return self.client.request(route.method, route.path, content=content, headers=headers)


@pytest.fixture
def world(client: httpx.Client, hub: Hub, org: Org) -> World:
    tokens = {
        kind: org(kind, region)
        for kind, region in (
            ("lab", "440106"),
            ("vaccination", "440106"),
            ("disease-control", "440106"),
            ("itinerary", "440106"),
            ("province", "440000"),
            ("risk-authority", "440100"),
        )
    }
    w = World(client, hub, tokens)
    valid = {r.name: r for r in ROUTES}
    # The registration first: on PostgreSQL it takes the routing lock exclusively, so the test
    # holds no shared lock it would have to upgrade while another test waits (a deadlock).
    r = w.send(valid["registration"], valid["registration"].body)
    assert r.status_code == 200, r.text
    assert w.send(valid["nat-one"], valid["nat-one"].body).status_code == 200
    return w


def _with_pseudonym(route: Route, world: World) -> Route:
    """The status route's body names the person the world registered."""
    if route.name != "status":
        return route
    person = {"people": [{"id_number": RECORDS["nat"]["id_number"]}]}
    r = world.client.post("/v1/registrations", json=person, headers=world.tokens["province"])
    report = {**route.body["reports"][0], "pseudonym": r.json()["pseudonyms"][0]}
    return Route(**{**route.__dict__, "body": {"reports": [report]}})


ROUTES = list(routes())
ROUTE_IDS = [r.name for r in ROUTES]


def _string_leaves(route: Route) -> list[tuple[Any, ...]]:
    return [path for path, value in leaves(route.body) if isinstance(value, str)]


def _time_leaves(route: Route) -> list[tuple[Any, ...]]:
    return [path for path, value in leaves(route.body) if is_time(path, value)]


def _batch_of(route: Route, body: Any) -> Any:
    """A batch route's body: a valid record first (nothing of it may be stored either)."""
    if not isinstance(route.body, list):
        return body
    return [{**route.body[0], "record_id": "ok-first"}, body[0]]


def error_of(r: httpx.Response) -> dict[str, Any]:
    """The hub's error (on the FHIR route: the first issue's code and expression)."""
    body = r.json()
    if body.get("resourceType") == "OperationOutcome":
        issue = body["issue"][0]
        code = issue["details"]["coding"][0]["code"]
        where = [*issue.get("expression", []), issue.get("diagnostics", "")]
        return {"code": code, "field": " ".join(where)}
    return dict(body["error"])


def stored(hub: Hub) -> tuple[int, ...]:
    """How many rows every table a body can write to holds."""
    with hub.db.read() as s:
        return tuple(
            int(s.execute(select(func.count()).select_from(m)).scalar_one())
            for m in (Record, Registration, CodeStatus, RiskArea, FeedEntry)
        )


def test_every_valid_body_is_accepted(world: World) -> None:
    for route in ROUTES:
        route = _with_pseudonym(route, world)
        r = world.send(route, route.body)
        assert r.status_code == 200, (route.name, r.text)


@pytest.mark.parametrize("route", ROUTES, ids=ROUTE_IDS)
def test_a_lone_surrogate_or_a_nul_in_any_text_is_text_invalid(world: World, route: Route) -> None:
    before = stored(world.hub)
    for path in _string_leaves(route):
        for bad in ("\ud800", "a\udfffb", "a\x00b"):
            r = world.send(route, _batch_of(route, replaced(route.body, path, bad)))
            assert r.status_code == 422, (path, bad, r.text)
            error = error_of(r)
            assert error["code"] == "TEXT_INVALID", (path, error)
            assert str(path[-1]) in error["field"], (path, error)
    assert stored(world.hub) == before


@pytest.mark.parametrize("route", ROUTES, ids=ROUTE_IDS)
def test_a_lone_surrogate_in_a_key_is_text_invalid(world: World, route: Route) -> None:
    body = route.body if isinstance(route.body, dict) else route.body[0]
    hostile = {**body, "\ud800": "x"}
    r = world.send(route, hostile if isinstance(route.body, dict) else [hostile])
    assert r.status_code == 422 and error_of(r)["code"] == "TEXT_INVALID"


@pytest.mark.parametrize("route", ROUTES, ids=ROUTE_IDS)
def test_a_date_at_the_edge_of_the_calendar_is_time_out_of_range(
    world: World, route: Route
) -> None:
    before = stored(world.hub)
    for path in _time_leaves(route):
        for edge in EDGE_TIMES:
            r = world.send(route, _batch_of(route, replaced(route.body, path, edge)))
            assert r.status_code == 422, (path, edge, r.text)
            error = error_of(r)
            assert error["code"] == "TIME_OUT_OF_RANGE", (path, error)
            assert str(path[-1]) in error["field"], (path, error)
    assert stored(world.hub) == before


@pytest.mark.parametrize("route", ROUTES, ids=ROUTE_IDS)
def test_a_non_string_where_a_string_belongs_is_a_4xx(world: World, route: Route) -> None:
    route = _with_pseudonym(route, world)
    before = stored(world.hub)
    for path in _string_leaves(route):
        for bad in (12345, 1.5, ["x"], {"a": "b"}, True, 10**400):
            r = world.send(route, _batch_of(route, replaced(route.body, path, bad)))
            if route.name == "fhir":  # the Bundle's mapping skips elements it has no use for
                assert r.status_code < 500, (path, bad, r.text)
                continue
            assert 400 <= r.status_code < 500, (path, bad, r.text)
    if route.name != "fhir":
        assert stored(world.hub) == before


def test_a_nationality_that_is_not_text_names_the_field(world: World) -> None:
    for bad in (156, ["CHN"], {"code": "CHN"}, True):
        person = {"id_type": "passport_foreign", "id_number": "E12345678", "nationality": bad}
        r = world.client.post(
            "/v1/registrations", json={"people": [person]}, headers=world.tokens["province"]
        )
        assert r.status_code == 422, r.text
        assert r.json()["error"]["field"] == "nationality"


def _csv(cell: str) -> bytes:
    header = "record_id,id_number,name,sampled_at,result"
    row = f"S1,{RECORDS['nat']['id_number']},{cell},2022-11-19T08:00:00+08:00,negative"
    return f"{header}\n{row}\n".encode()


def test_a_csv_cell_over_the_limit_is_field_too_long(world: World) -> None:
    headers = {**world.tokens["lab"], "Content-Type": "text/csv"}
    r = world.client.post("/v1/records/nat/csv", content=_csv("x" * 131_073), headers=headers)
    assert r.status_code == 422 and r.json()["error"]["code"] == "FIELD_TOO_LONG"
    assert r.json()["error"]["line"] == 2


def test_a_nul_in_a_csv_cell_is_text_invalid(world: World) -> None:
    headers = {**world.tokens["lab"], "Content-Type": "text/csv"}
    r = world.client.post("/v1/records/nat/csv", content=_csv("张\x00三"), headers=headers)
    assert r.status_code == 422, r.text
    assert (r.json()["error"]["code"], r.json()["error"]["field"]) == ("TEXT_INVALID", "name")
    assert r.json()["error"]["line"] == 2


def test_a_csv_date_at_the_edge_is_time_out_of_range(world: World) -> None:
    headers = {**world.tokens["lab"], "Content-Type": "text/csv"}
    body = _csv("张三").replace(b"2022-11-19T08:00:00+08:00", b"0001-01-01")
    r = world.client.post("/v1/records/nat/csv", content=body, headers=headers)
    assert r.status_code == 422 and r.json()["error"]["field"] == "sampled_at"


@pytest.mark.parametrize("brk", ["\u2028", "\u2029", "\u0085", "\x1c", "\x0b", "\x0c"])
def test_ndjson_lines_end_at_a_line_feed_only(world: World, brk: str) -> None:
    lines = [
        json.dumps(
            {**RECORDS["nat"], "record_id": f"L{i}", "name": f"张{brk}三"}, ensure_ascii=False
        )
        for i in (1, 2)
    ]
    body = ("\r\n".join(lines) + "\n").encode()
    headers = {**world.tokens["lab"], "Content-Type": "application/x-ndjson"}
    r = world.client.post("/v1/records/nat/batch", content=body, headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["count"] == 2


def test_a_fhir_birth_date_at_the_edge_is_an_operation_outcome(world: World) -> None:
    body = bundle()
    body["entry"][0]["resource"]["birthDate"] = "0001-01-01"
    headers = {**world.tokens["lab"], "Content-Type": "application/fhir+json"}
    r = world.client.post("/v1/fhir", content=json.dumps(body).encode(), headers=headers)
    assert r.status_code == 422 and error_of(r)["code"] == "TIME_OUT_OF_RANGE"


# -- property: hostile values anywhere ---------------------------------------------------------

_SURROGATES = st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF)
HOSTILE = st.one_of(
    st.text(alphabet=st.one_of(_SURROGATES, st.sampled_from("\x00\u2028\ufeff"), st.characters())),
    st.text(max_size=5).map(lambda t: t + "\x00"),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.sampled_from([10**400, -(10**400), 2**63, -(2**63) - 1]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.none(),
    st.sampled_from(EDGE_TIMES),
    st.builds(
        lambda y, rest: f"{y:04d}{rest}",
        st.integers(min_value=0, max_value=9999),
        st.sampled_from(["-01-01", "-12-31T23:59:59-14:00", "-01-01T00:00:00+14:00", "-02-30"]),
    ),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    st.just("x" * 5000),
)


@settings(
    max_examples=400,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_no_hostile_value_in_any_field_makes_a_5xx(world: World, data: st.DataObject) -> None:
    route = data.draw(st.sampled_from(ROUTES), label="route")
    paths = [p for p, _ in leaves(route.body)]
    hostile = route.body
    for path in data.draw(st.lists(st.sampled_from(paths), min_size=1, max_size=3), label="at"):
        hostile = replaced(hostile, path, data.draw(HOSTILE, label=str(path)))
    if isinstance(route.body, list):  # a batch: a valid record first, then the hostile one
        hostile = [{**route.body[0], "record_id": "ok-first"}, hostile[0]]
    before = stored(world.hub)
    r = world.send(route, hostile)
    assert r.status_code < 500, r.text
    assert "Traceback" not in r.text
    if r.status_code >= 400:
        assert stored(world.hub) == before


@pytest.mark.parametrize(
    "url",
    [
        "/v1/status/a%00b",
        "/v1/status/%ED%A0%80",
        "/v1/status?pseudonym=a%00b",
        "/v1/status?pseudonym=%ED%A0%80",
        "/v1/status?pseudonym=%F0%9F%98%80",
    ],
)
def test_a_nul_or_a_broken_character_in_a_path_or_query_is_a_4xx(world: World, url: str) -> None:
    r = world.client.get(url, headers=world.tokens["province"])
    assert 400 <= r.status_code < 500, r.text
    if "%00" in url:  # PostgreSQL refused the query (500) before
        field = "path.serial" if "?" not in url else "query.pseudonym"
        assert (error_of(r)["code"], error_of(r)["field"]) == ("TEXT_INVALID", field)


@pytest.mark.parametrize("route", ROUTES, ids=ROUTE_IDS)
def test_a_number_of_5000_digits_is_json_invalid(world: World, route: Route) -> None:
    # Python refuses to convert an integer of more than 4,300 digits (a ValueError: a 500)
    body = json.dumps(_batch_of(route, replaced(route.body, next(iter(leaves(route.body)))[0], 7)))
    r = world.send(route, body.replace(": 7", ": " + "7" * 5000, 1).encode())
    assert r.status_code == 400 and error_of(r)["code"] == "JSON_INVALID", r.text
