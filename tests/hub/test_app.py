"""The HTTP layer of hub/app.py itself: how the bearer token is read, the exact bytes of the
submission answers, which error wins when several things are wrong, and the security scheme in
the OpenAPI document. These pin what FastAPI answered before the routes were made cheaper (they
pass on the sources before that change too)."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest
from hub_testdata import nat, resident_id

from healthcode.hub.app import create_app
from healthcode.hub.services import Hub

Org = Callable[..., dict[str, str]]
KINDS = "'nat', 'antibody', 'vaccination', 'infection', 'contact' or 'itinerary'"


def _compact(value: object) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def _error(r: httpx.Response) -> str:
    code: str = r.json()["error"]["code"]
    return code


# -- the bearer token ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "header",
    [None, "", "Bearer", "Bearer ", "Bearer    ", " hc_x", "Basic abc", "Token hc_x", "Bearerhc_x"],
)
def test_no_bearer_token_is_token_missing_with_the_challenge(
    client: httpx.Client, header: str | None
) -> None:
    headers = {} if header is None else {"Authorization": header}
    for r in (
        client.post("/v1/records/nat", json=nat("S1", resident_id()), headers=headers),
        client.get("/v1/risk-areas", headers=headers),
    ):
        assert r.status_code == 401
        assert r.headers["www-authenticate"] == "Bearer"
        assert r.content == _compact(
            {"error": {"code": "TOKEN_MISSING", "message": "send 'Authorization: Bearer <token>'"}}
        )


@pytest.mark.parametrize("form", ["Bearer {}", "bearer {}", "BEARER {}", "Bearer   {}  "])
def test_the_scheme_in_any_case_and_the_token_stripped(
    client: httpx.Client, hub: Hub, form: str
) -> None:
    _, token = hub.orgs.add(kind="lab", region_code="440106", name="lab")
    r = client.post(
        "/v1/records/nat",
        json=nat("S1", resident_id()),
        headers={"Authorization": form.format(token)},
    )
    assert r.status_code == 200, r.text


def test_an_unknown_token_is_token_invalid(client: httpx.Client) -> None:
    r = client.get("/v1/risk-areas", headers={"Authorization": "Bearer hc_nope"})
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    assert r.content == _compact(
        {"error": {"code": "TOKEN_INVALID", "message": "the token is not known"}}
    )


# -- one record: the answer's bytes --------------------------------------------------------------


def test_one_record_answers_compact_json_and_a_retry_the_same_bytes(
    client: httpx.Client, org: Org
) -> None:
    lab = org("lab", "440106")
    r = client.post("/v1/records/nat", json=nat("S1", resident_id()), headers=lab)
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    record_id = r.json()["id"]
    assert r.content == _compact({"kind": "nat", "id": record_id})
    assert int(r.headers["content-length"]) == len(r.content)
    again = client.post("/v1/records/nat", json=nat("S1", resident_id()), headers=lab)
    assert (again.status_code, again.content) == (200, r.content)
    keyed = {**lab, "Idempotency-Key": "k-1"}
    first = client.post("/v1/records/nat", json=nat("S2", resident_id(seq="124")), headers=keyed)
    replay = client.post("/v1/records/nat", json=nat("S2", resident_id(seq="124")), headers=keyed)
    assert first.status_code == replay.status_code == 200
    assert first.content == _compact({"kind": "nat", "id": first.json()["id"]})
    # The stored answer comes back byte for byte (stored as json, not jsonb, which would
    # reorder its keys).
    assert replay.content == first.content


@pytest.mark.parametrize(
    "ctype", ["application/json; charset=utf-8", "application/fhir+json", "Application/JSON"]
)
def test_one_record_in_any_json_media_type(client: httpx.Client, org: Org, ctype: str) -> None:
    r = client.post(
        "/v1/records/nat",
        content=json.dumps(nat("S1", resident_id())).encode(),
        headers={**org("lab", "440106"), "Content-Type": ctype},
    )
    assert r.status_code == 200, r.text


def test_correction_answers_compact_json(client: httpx.Client, org: Org) -> None:
    lab = org("lab", "440106")
    rid = client.post("/v1/records/nat", json=nat("S1", resident_id()), headers=lab).json()["id"]
    r = client.post(
        "/v1/records/nat/corrections",
        json={"record_id": "S1", "action": "withdraw", "reason": "录入错误"},
        headers=lab,
    )
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    expected = {"record": rid, "kind": "nat", "record_id": "S1", "version": 2, "action": "withdraw"}
    assert r.content == _compact(expected)


# -- one record: which error wins ----------------------------------------------------------------


def _invalid(*errors: tuple[str, str]) -> bytes:
    listed = [{"field": f, "message": m} for f, m in errors]
    error = {"code": "REQUEST_INVALID", "message": "bad request", "errors": listed}
    return _compact({"error": error})


def test_the_token_is_checked_before_the_body_is_read(client: httpx.Client, org: Org) -> None:
    # issue 9: the hub refuses before it reads (it read and parsed the body first before)
    headers = {"Content-Type": "application/json"}
    for content in (b"{bad", b"\xff\xfe"):
        r = client.post("/v1/records/nat", content=content, headers=headers)
        assert r.status_code == 401 and _error(r) == "TOKEN_MISSING"


def test_a_body_that_is_not_json_is_refused_once_the_token_is_good(
    client: httpx.Client, org: Org
) -> None:
    headers = {**org("lab", "440106"), "Content-Type": "application/json"}
    r = client.post("/v1/records/nat", content=b"{bad", headers=headers)
    assert (r.status_code, r.content) == (422, _invalid(("body.1", "JSON decode error")))
    r = client.post("/v1/records/bogus", content=b"\xff\xfe", headers=headers)
    assert (r.status_code, r.content) == (422, _invalid(("body.0", "JSON decode error")))


def test_then_the_token_then_every_wrong_parameter_at_once(client: httpx.Client, org: Org) -> None:
    bad = {"Content-Type": "application/json", "Idempotency-Key": ""}
    r = client.post("/v1/records/bogus", content=b"[1]", headers=bad)
    assert r.status_code == 401 and _error(r) == "TOKEN_MISSING"
    r = client.post("/v1/records/bogus", content=b"[1]", headers={**bad, **org("lab", "440106")})
    assert (r.status_code, r.content) == (
        422,
        _invalid(
            ("path.kind", f"Input should be {KINDS}"),
            ("header.Idempotency-Key", "String should have at least 1 character"),
            ("body", "Input should be a valid dictionary"),
        ),
    )


@pytest.mark.parametrize(
    ("content", "ctype", "message"),
    [
        (b"[1,2]", "application/json", "Input should be a valid dictionary"),
        (b"null", "application/json", "Input should be a valid dictionary"),
        (b"", "application/json", "Field required"),
        (b'{"a":1}', None, "Input should be a valid dictionary"),
        (b'{"a":1}', "text/plain", "Input should be a valid dictionary"),
    ],
)
def test_a_body_that_is_not_one_json_object(
    client: httpx.Client, org: Org, content: bytes, ctype: str | None, message: str
) -> None:
    headers = {**org("lab", "440106"), **({"Content-Type": ctype} if ctype else {})}
    r = client.post("/v1/records/nat", content=content, headers=headers)
    assert (r.status_code, r.content) == (422, _invalid(("body", message)))


def test_the_idempotency_key_is_at_most_200_characters(client: httpx.Client, org: Org) -> None:
    headers = {**org("lab", "440106"), "Idempotency-Key": "k" * 201}
    r = client.post("/v1/records/nat", json=nat("S1", resident_id()), headers=headers)
    assert (r.status_code, r.content) == (
        422,
        _invalid(("header.Idempotency-Key", "String should have at most 200 characters")),
    )


def test_a_record_error_and_a_refusal(client: httpx.Client, org: Org) -> None:
    lab = org("lab", "440106")
    r = client.post("/v1/records/nat", json=nat("S1", "123"), headers=lab)
    assert (r.status_code, _error(r)) == (422, "ID_LENGTH")
    r = client.post("/v1/records/nat", json=nat("S1", resident_id()), headers=org("checkpoint"))
    assert r.status_code == 403
    assert r.content == _compact(
        {
            "error": {
                "code": "KIND_NOT_ALLOWED",
                "message": "a checkpoint may not submit:nat",
                "action": "submit:nat",
            }
        }
    )


# -- the OpenAPI document ------------------------------------------------------------------------


def test_openapi_declares_the_bearer_scheme_on_every_route_that_asks_for_a_token(
    hub: Hub,
) -> None:
    doc = create_app(hub).openapi()
    assert doc["components"]["securitySchemes"] == {
        "HTTPBearer": {"type": "http", "scheme": "bearer"}
    }
    open_routes = {
        ("/v1/health", "get"),
        ("/v1/witness/add-checkpoint", "post"),  # public (C2SP tlog-witness)
        ("/v1/witness/{origin_hash}/checkpoint", "get"),
    }
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            if (path, method) in open_routes:
                assert "security" not in operation
            else:
                assert operation["security"] == [{"HTTPBearer": []}], (path, method)
    one = doc["paths"]["/v1/records/{kind}"]["post"]
    assert one["requestBody"] == {
        "content": {
            "application/json": {
                "schema": {"additionalProperties": True, "type": "object", "title": "Record"}
            }
        },
        "required": True,
    }
    assert one["responses"]["200"]["content"]["application/json"]["schema"] == {
        "additionalProperties": True,
        "type": "object",
        "title": "Response Submit One V1 Records  Kind  Post",
    }
