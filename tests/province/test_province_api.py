"""The province's HTTP API in-process: applying, explaining, hostile input on every route."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from hub_testdata import ASGISyncTransport
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from province_testdata import applicant

from healthcode.core.error_codes import ErrorCode
from healthcode.province.app import create_app
from healthcode.province.service import ProvinceService


@pytest.fixture
def client(province: ProvinceService) -> Iterator[httpx.Client]:
    transport = ASGISyncTransport(create_app(province))
    with httpx.Client(transport=transport, base_url="http://province.test") as c:
        yield c


def _code(r: httpx.Response) -> str:
    return str(r.json()["error"]["code"])


def test_apply_then_explain(client: httpx.Client) -> None:
    r = client.post("/v1/applications", json=applicant())
    assert r.status_code == 200, r.text
    token = r.json()["token"]
    again = client.post("/v1/applications", json=applicant())
    assert again.json() == r.json()
    me = client.get("/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200, me.text
    assert me.json()["colour"] == "green" and me.json()["masked_name"] == "张*丰"


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (b"not json", 400, "JSON_INVALID"),
        (b"", 400, "JSON_INVALID"),
        (b"[1, 2]", 422, "RECORD_NOT_OBJECT"),
        (b'{"id_number": "\\ud800"}', 422, "TEXT_INVALID"),
        (b"[" * 100 + b"]" * 100, 400, "JSON_TOO_DEEP"),
        (b'{"id_number": 12}', 422, "FIELD_MISSING"),
    ],
)
def test_hostile_application_bodies(
    client: httpx.Client, body: bytes, status: int, code: str
) -> None:
    r = client.post("/v1/applications", content=body, headers={"Content-Type": "application/json"})
    assert (r.status_code, _code(r)) == (status, code), r.text


def test_a_huge_body_is_refused_before_it_is_read(client: httpx.Client) -> None:
    r = client.post("/v1/applications", json={"name": "x" * 200_000})
    assert (r.status_code, _code(r)) == (413, "BODY_TOO_LARGE")


@pytest.mark.parametrize(
    "header",
    [
        None,
        "Bearer nope",
        "Bearer hcp1.abc.def",
        "Basic abc",
        "Bearer hcp1..",
        "Bearer " + "x" * 5000,
    ],
)
def test_a_person_route_without_a_valid_token_is_refused(
    client: httpx.Client, header: str | None
) -> None:
    headers = {"Authorization": header} if header else {}
    for path in ("/v1/me", "/v1/me/code"):
        r = client.get(path, headers=headers)
        assert (r.status_code, _code(r)) == (401, "PERSON_TOKEN_INVALID")


def test_a_colour_cannot_be_given(client: httpx.Client) -> None:
    token = client.post("/v1/applications", json=applicant()).json()["token"]
    auth = {"Authorization": f"Bearer {token}"}
    r = client.get("/v1/me/code", params={"medium": "screen", "colour": "red"}, headers=auth)
    assert r.status_code in (200, 503)  # the colour parameter is ignored; a signer may be absent
    if r.status_code == 200:
        assert r.json()["colour"] == "green"
    bad = client.get("/v1/me/code", params={"medium": "poster"}, headers=auth)
    assert (bad.status_code, _code(bad)) == (422, "REQUEST_INVALID")
    assert client.post("/v1/me/code", headers=auth).status_code == 405


def test_unknown_paths_and_bad_query_texts(client: httpx.Client) -> None:
    assert _code(client.get("/v1/nothing")) == "NOT_FOUND"
    r = client.get("/v1/health", params={"x": "\x00"})
    assert (r.status_code, _code(r)) == (422, "TEXT_INVALID")


_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=40),
    st.sampled_from(["440106", "110105", "440106199003071234", "resident_id", "passport_foreign"]),
    st.lists(st.text(max_size=5), max_size=3),
)
_FIELDS = ["id_type", "id_number", "nationality", "name", "phone", "residence_region", "extra"]


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=st.dictionaries(st.sampled_from(_FIELDS), _VALUES, max_size=7))
def test_any_application_gets_a_precise_answer_never_a_fault(
    client: httpx.Client, body: dict[str, object]
) -> None:
    r = client.post("/v1/applications", json={**applicant(seq="777"), **body})
    if r.status_code != 200:
        assert 400 <= r.status_code < 500, r.text
        assert r.json()["error"]["code"] in {c.value for c in ErrorCode}
