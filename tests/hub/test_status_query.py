"""Status queries (GET /v1/status/{serial}, GET /v1/status?pseudonym=): exact answers, the
latest code of a person, errors and who may ask, on the Core read path."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta

import httpx
import pytest
from hub_testdata import NOW, resident_id

from healthcode.core.clock import FixedClock
from healthcode.core.errors import AccessDenied, InvalidInput
from healthcode.hub.services import Hub

Org = Callable[..., dict[str, str]]


def _register(client: httpx.Client, province: dict[str, str], seq: str = "123") -> str:
    people = [{"id_number": resident_id(seq=seq)}]
    r = client.post("/v1/registrations", json={"people": people}, headers=province)
    assert r.status_code == 200, r.text
    pseudonym: str = r.json()["pseudonyms"][0]
    return pseudonym


def _report(client: httpx.Client, province: dict[str, str], *reports: dict[str, object]) -> None:
    r = client.post("/v1/status", json={"reports": list(reports)}, headers=province)
    assert r.status_code == 200, r.text


def test_answer_by_serial_is_the_reported_status_as_compact_json(
    client: httpx.Client, org: Org
) -> None:
    gd, station = org("province", "440000"), org("checkpoint", "110105")
    pseudonym = _register(client, gd)
    _report(
        client,
        gd,
        {
            "serial": "GD-1",
            "pseudonym": pseudonym,
            "colour": "yellow",
            "since": "2022-11-19T08:00:00+08:00",
            "until": "2022-11-22T00:00:00Z",
            "ruleset_version": "9.0",
        },
    )
    r = client.get("/v1/status/GD-1", headers=station)
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    expected = {
        "serial": "GD-1",
        "province": "440000",
        "pseudonym": pseudonym,
        "colour": "yellow",
        "since": "2022-11-19T00:00:00+00:00",
        "until": "2022-11-22T00:00:00+00:00",
        "ruleset_version": "9.0",
        "reported_at": NOW.isoformat(),
        "current": True,
        "superseded": False,
    }
    # The bytes FastAPI made of the dict before (compact, keys in this order).
    assert r.content == json.dumps(expected, separators=(",", ":")).encode()
    assert int(r.headers["content-length"]) == len(r.content)


def test_answer_without_until_and_after_until(client: httpx.Client, org: Org) -> None:
    gd, station = org("province", "440000"), org("checkpoint", "110105")
    pseudonym = _register(client, gd)
    base = {"pseudonym": pseudonym, "colour": "green", "ruleset_version": "9.0"}
    _report(
        client,
        gd,
        {**base, "serial": "OPEN", "since": "2022-11-19T00:00:00Z"},
        {**base, "serial": "PAST", "since": "2022-11-01T00:00:00Z", "until": NOW.isoformat()},
    )
    open_ = client.get("/v1/status/OPEN", headers=station).json()
    assert open_["until"] is None and open_["current"] is True
    past = client.get("/v1/status/PAST", headers=station).json()
    assert past["until"] == NOW.isoformat() and past["current"] is False


def test_by_pseudonym_answers_the_latest_code(client: httpx.Client, org: Org) -> None:
    gd, station = org("province", "440000"), org("checkpoint", "110105")
    pseudonym = _register(client, gd)
    base = {"pseudonym": pseudonym, "ruleset_version": "9.0"}
    _report(
        client,
        gd,
        {**base, "serial": "OLD", "colour": "red", "since": "2022-11-10T00:00:00Z"},
        {**base, "serial": "NEW", "colour": "green", "since": "2022-11-18T00:00:00Z"},
    )
    by_p = client.get("/v1/status", params={"pseudonym": pseudonym}, headers=station)
    assert by_p.status_code == 200
    # the province's latest code is its answer; with one holding province, it is the answer
    new = client.get("/v1/status/NEW", headers=station).json()
    assert new.pop("superseded") is False
    assert by_p.json() == {**new, "codes": [new]}
    old = client.get("/v1/status/OLD", headers=station).json()
    assert old["superseded"] is True and old["now"] == new


def test_by_pseudonym_same_since_the_later_report_wins(
    client: httpx.Client, org: Org, clock: FixedClock
) -> None:
    gd, station = org("province", "440000"), org("checkpoint", "110105")
    pseudonym = _register(client, gd)
    base = {"pseudonym": pseudonym, "ruleset_version": "9.0", "since": "2022-11-18T00:00:00Z"}
    _report(client, gd, {**base, "serial": "A", "colour": "red"})
    clock.advance(timedelta(minutes=5))
    _report(client, gd, {**base, "serial": "B", "colour": "green"})
    by_p = client.get("/v1/status", params={"pseudonym": pseudonym}, headers=station).json()
    assert by_p["serial"] == "B"
    assert by_p["reported_at"] == (NOW + timedelta(minutes=5)).isoformat()


def test_a_province_may_ask_too(client: httpx.Client, org: Org) -> None:
    gd, sh = org("province", "440000"), org("province", "310000")
    pseudonym = _register(client, gd)
    _report(
        client,
        gd,
        {
            "serial": "GD-2",
            "pseudonym": pseudonym,
            "colour": "green",
            "since": "2022-11-19T00:00:00Z",
            "ruleset_version": "9.0",
        },
    )
    assert client.get("/v1/status/GD-2", headers=sh).json()["province"] == "440000"


@pytest.mark.parametrize("kind", ["lab", "vaccination", "risk-authority", "itinerary"])
def test_other_kinds_are_refused(client: httpx.Client, org: Org, kind: str) -> None:
    auth = org(kind, "440100")
    for r in (
        client.get("/v1/status/GD-1", headers=auth),
        client.get("/v1/status", params={"pseudonym": "p"}, headers=auth),
    ):
        assert r.status_code == 403
        assert r.json()["error"] == {
            "code": "KIND_NOT_ALLOWED",
            "message": f"a {kind} may not status:query",
            "action": "status:query",
        }


def test_unknown_codes_and_people_are_404(client: httpx.Client, org: Org) -> None:
    station = org("checkpoint", "110105")
    for r in (
        client.get("/v1/status/NOPE", headers=station),
        client.get("/v1/status", params={"pseudonym": "nobody"}, headers=station),
    ):
        assert r.status_code == 404
        assert r.json() == {
            "error": {"code": "STATUS_UNKNOWN", "message": "no status was reported for this code"}
        }


def test_no_or_bad_token_is_401_and_bad_queries_422(client: httpx.Client, org: Org) -> None:
    station = org("checkpoint", "110105")
    r = client.get("/v1/status/GD-1")
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    r = client.get("/v1/status/GD-1", headers={"Authorization": "Bearer hc_nope"})
    assert r.status_code == 401
    r = client.get("/v1/status", headers=station)
    assert r.status_code == 422 and r.json()["error"]["code"] == "REQUEST_INVALID"
    r = client.get("/v1/status/" + "x" * 65, headers=station)
    assert r.status_code == 422 and r.json()["error"]["code"] == "REQUEST_INVALID"


def test_the_service_asks_by_exactly_one_key(hub: Hub, org: Org) -> None:
    station = hub.orgs.authenticate(org("checkpoint", "110105")["Authorization"][7:])
    with pytest.raises(InvalidInput, match="QUERY_INVALID"):
        hub.status.query(station)
    with pytest.raises(InvalidInput, match="QUERY_INVALID"):
        hub.status.query(station, serial="a", pseudonym="b")
    lab = hub.orgs.authenticate(org("lab", "440106")["Authorization"][7:])
    with pytest.raises(AccessDenied, match="KIND_NOT_ALLOWED"):
        hub.status.query(lab, serial="a")


def test_an_older_code_is_answered_superseded_by_the_persons_colour_now(
    client: httpx.Client, org: Org
) -> None:
    """By serial: a green code still unexpired, its person since red (in the same province or
    in another holding them) is ``superseded`` with the answer to go by ``now``; a code of the
    colour the person still has is not."""
    gd, bj, station = org("province", "440000"), org("province", "110000"), org("checkpoint")
    pseudonym = _register(client, gd)
    assert _register(client, bj) == pseudonym
    base = {"pseudonym": pseudonym, "ruleset_version": "9.0", "until": "2022-11-21T00:00:00Z"}
    _report(
        client,
        gd,
        {**base, "serial": "GD-G1", "colour": "green", "since": "2022-11-19T00:00:00Z"},
        {**base, "serial": "GD-G2", "colour": "green", "since": "2022-11-19T01:00:00Z"},
    )
    assert client.get("/v1/status/GD-G1", headers=station).json()["superseded"] is False
    _report(client, bj, {**base, "serial": "BJ-R", "colour": "red", "since": "2022-11-19T02:00Z"})
    old = client.get("/v1/status/GD-G1", headers=station).json()
    assert old["colour"] == "green" and old["current"] is True
    assert old["superseded"] is True
    assert old["now"]["serial"] == "BJ-R" and old["now"]["colour"] == "red"
    red = client.get("/v1/status/BJ-R", headers=station).json()
    assert red["superseded"] is False and "now" not in red
    r = client.get("/v1/status/NOPE", headers=station)
    assert r.status_code == 404 and r.json()["error"]["code"] == "STATUS_UNKNOWN"
