"""Family members holding codes over the province's HTTP API: consent by a code sent to the
held person's own phone, the held person's code shown by the holder, revocation by either side,
limits, and the hostile cases (no holding without the held person's consent)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from hub_testdata import ASGISyncTransport
from province_testdata import applicant
from test_province_codes import home, network, publishing_hub, signing

from healthcode.core.clock import FixedClock
from healthcode.province import family, signin
from healthcode.province.app import create_app
from healthcode.province.service import ProvinceService

PARENT_PHONE = "13900001111"


class Outbox:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    def send(self, phone: str, text: str) -> None:
        self.sent.append((phone, text))

    def last_code(self) -> str:
        match = re.search(r"\b(\d{6})\b", self.sent[-1][1])
        assert match is not None
        return match.group(1)


@pytest.fixture
def sms() -> Outbox:
    return Outbox()


__all__ = ["home", "network", "publishing_hub", "signing"]  # the fixtures of a signing province


@pytest.fixture
def client(signing: ProvinceService, sms: Outbox) -> Iterator[httpx.Client]:
    transport = ASGISyncTransport(create_app(signing, sms=sms))
    with httpx.Client(transport=transport, base_url="http://province.test") as c:
        yield c


def _apply(client: httpx.Client, seq: str, **extra: Any) -> dict[str, str]:
    """An application: its ID number, phone and the person token's header."""
    person = applicant(seq=seq, **extra)
    r = client.post("/v1/applications", json=person)
    assert r.status_code == 200, r.text
    auth = {"Authorization": f"Bearer {r.json()['token']}"}
    return {"id_number": person["id_number"], "phone": person["phone"], **auth}


@pytest.fixture
def child(client: httpx.Client) -> dict[str, str]:
    return _apply(client, "123")


@pytest.fixture
def parent(client: httpx.Client) -> dict[str, str]:
    return _apply(client, "456", name="李秀英", phone=PARENT_PHONE)


def _auth(who: dict[str, str]) -> dict[str, str]:
    return {"Authorization": who["Authorization"]}


def _code(r: httpx.Response) -> tuple[int, str]:
    return r.status_code, str(r.json()["error"]["code"])


def _ask(client: httpx.Client, holder: dict[str, str], whom: dict[str, str]) -> httpx.Response:
    body = {"id_number": whom["id_number"], "phone": whom["phone"]}
    return client.post("/v1/me/held/code", json=body, headers=_auth(holder))


def _hold(client: httpx.Client, sms: Outbox, holder: dict[str, str], whom: dict[str, str]) -> Any:
    r = _ask(client, holder, whom)
    assert r.status_code == 200, r.text
    body = {"challenge": r.json()["challenge"], "code": sms.last_code()}
    done = client.post("/v1/me/held", json=body, headers=_auth(holder))
    assert done.status_code == 200, done.text
    return done.json()


def test_consent_by_the_held_persons_phone_then_their_code_shown_and_revoked(
    client: httpx.Client, sms: Outbox, child: dict[str, str], parent: dict[str, str]
) -> None:
    r = _ask(client, child, parent)
    assert set(r.json()) == {"challenge", "expires_at"}
    phone, text = sms.sent[-1]
    assert phone == PARENT_PHONE and "张*丰" in text  # the parent is told who asks
    body = {"challenge": r.json()["challenge"], "code": sms.last_code()}
    holding = client.post("/v1/me/held", json=body, headers=_auth(child)).json()
    assert holding["masked_name"] == "李*英" and holding["revoked_at"] is None
    assert sms.sent[-1][0] == PARENT_PHONE  # and told that someone now holds their code
    listed = client.get("/v1/me/held", headers=_auth(child)).json()["held"]
    assert [h["id"] for h in listed] == [holding["id"]]
    code = client.get(f"/v1/me/held/{holding['id']}/code/qr", headers=_auth(child))
    assert code.status_code == 200 and code.json()["masked_name"] == "李*英"
    assert code.json()["qr_svg"].startswith("<svg")
    paper = client.get(f"/v1/me/held/{holding['id']}/paper", headers=_auth(child))
    assert paper.status_code == 200 and paper.headers["content-type"] == "image/svg+xml"
    holders = client.get("/v1/me/holders", headers=_auth(parent)).json()["holders"]
    assert [(h["id"], h["masked_name"]) for h in holders] == [(holding["id"], "张*丰")]
    # the parent ends it; the child sees the code no more
    out = client.post(f"/v1/me/holders/{holding['id']}/revoke", headers=_auth(parent))
    assert out.status_code == 200 and out.json()["revoked_by"] == "held"
    again = client.post(f"/v1/me/holders/{holding['id']}/revoke", headers=_auth(parent))
    assert again.status_code == 200  # a retry answers the same
    gone = client.get(f"/v1/me/held/{holding['id']}/code/qr", headers=_auth(child))
    assert _code(gone) == (404, "HOLD_UNKNOWN")
    assert client.get("/v1/me/held", headers=_auth(child)).json()["held"] == []


def test_holding_again_answers_the_live_holding(
    client: httpx.Client, sms: Outbox, child: dict[str, str], parent: dict[str, str]
) -> None:
    first = _hold(client, sms, child, parent)
    assert _hold(client, sms, child, parent)["id"] == first["id"]
    stop = client.post(f"/v1/me/held/{first['id']}/revoke", headers=_auth(child))
    assert stop.json()["revoked_by"] == "holder"
    assert _hold(client, sms, child, parent)["id"] != first["id"]


@pytest.mark.parametrize("who", [{"phone": "13700000000"}, {"id_number": "11010519491231002X"}])
def test_a_wrong_phone_or_an_unknown_id_sends_nothing_and_no_code_holds(
    client: httpx.Client,
    sms: Outbox,
    child: dict[str, str],
    parent: dict[str, str],
    who: dict[str, str],
) -> None:
    r = _ask(client, child, {**parent, **who})
    assert r.status_code == 200 and set(r.json()) == {"challenge", "expires_at"}
    assert sms.sent == []
    for guess in ("000000", "123456"):
        body = {"challenge": r.json()["challenge"], "code": guess}
        bad = client.post("/v1/me/held", json=body, headers=_auth(child))
        assert _code(bad) == (401, "HOLD_CODE_INVALID")


def test_a_code_sent_for_one_holder_is_worth_nothing_to_another(
    client: httpx.Client, sms: Outbox, child: dict[str, str], parent: dict[str, str]
) -> None:
    stranger = _apply(client, "789", phone="13600002222")
    r = _ask(client, child, parent)
    body = {"challenge": r.json()["challenge"], "code": sms.last_code()}
    stolen = client.post("/v1/me/held", json=body, headers=_auth(stranger))
    assert _code(stolen) == (401, "HOLD_CODE_INVALID")
    # nor can the held person's own token make it, nor anyone without a token
    assert _code(client.post("/v1/me/held", json=body, headers=_auth(parent)))[0] == 401
    assert _code(client.post("/v1/me/held", json=body))[0] == 401
    assert client.post("/v1/me/held", json=body, headers=_auth(child)).status_code == 200
    reused = client.post("/v1/me/held", json=body, headers=_auth(child))
    assert _code(reused) == (401, "HOLD_CODE_INVALID")


def test_another_holders_holding_is_unknown_to_a_stranger(
    client: httpx.Client, sms: Outbox, child: dict[str, str], parent: dict[str, str]
) -> None:
    stranger = _apply(client, "789", phone="13600002222")
    holding = _hold(client, sms, child, parent)
    for path in (f"/v1/me/held/{holding['id']}/code/qr", f"/v1/me/held/{holding['id']}/paper"):
        assert _code(client.get(path, headers=_auth(stranger))) == (404, "HOLD_UNKNOWN")
    for path in (f"/v1/me/held/{holding['id']}/revoke", f"/v1/me/holders/{holding['id']}/revoke"):
        assert _code(client.post(path, headers=_auth(stranger))) == (404, "HOLD_UNKNOWN")
    assert client.get(f"/v1/me/held/{'x' * 24}/code/qr", headers=_auth(child)).status_code == 404
    too_long = client.get(f"/v1/me/held/{'x' * 25}/code/qr", headers=_auth(child))
    assert too_long.status_code == 422


def test_an_expired_code_and_holding_oneself_are_refused(
    client: httpx.Client,
    sms: Outbox,
    child: dict[str, str],
    parent: dict[str, str],
    clock: FixedClock,
) -> None:
    assert _code(_ask(client, child, child)) == (422, "HOLD_SELF")
    r = _ask(client, child, parent)
    clock.advance(signin.CODE_LIFETIME)
    body = {"challenge": r.json()["challenge"], "code": sms.last_code()}
    assert _code(client.post("/v1/me/held", json=body, headers=_auth(child))) == (
        401,
        "HOLD_CODE_INVALID",
    )


def test_wrong_codes_lock_the_holder_even_for_the_right_code(
    client: httpx.Client,
    sms: Outbox,
    child: dict[str, str],
    parent: dict[str, str],
    clock: FixedClock,
) -> None:
    r = _ask(client, child, parent)
    right = sms.last_code()
    wrong = "000000" if right != "000000" else "111111"
    for _ in range(family.FAILURES_TO_LOCK):
        body = {"challenge": r.json()["challenge"], "code": wrong}
        client.post("/v1/me/held", json=body, headers=_auth(child))
    body = {"challenge": r.json()["challenge"], "code": right}
    locked = client.post("/v1/me/held", json=body, headers=_auth(child))
    assert _code(locked) == (429, "HOLD_LOCKED") and int(locked.headers["Retry-After"]) > 60
    assert _code(_ask(client, child, parent)) == (429, "HOLD_LOCKED")
    clock.advance(signin.LOCK_FOR + timedelta(seconds=1))
    assert _ask(client, child, parent).status_code == 200


def test_consent_codes_are_rate_limited_per_held_person(
    client: httpx.Client, sms: Outbox, child: dict[str, str], parent: dict[str, str]
) -> None:
    for _ in range(family.CODES_PER_HELD):
        assert _ask(client, child, parent).status_code == 200
    limited = _ask(client, child, parent)
    assert _code(limited) == (429, "HOLD_RATE_LIMITED") and "Retry-After" in limited.headers
    assert len(sms.sent) == family.CODES_PER_HELD


def test_a_holder_holds_at_most_held_max(
    client: httpx.Client, sms: Outbox, child: dict[str, str], clock: FixedClock
) -> None:
    for i in range(family.HELD_MAX):
        _hold(client, sms, child, _apply(client, f"5{i:02d}", phone=f"1390000{i:04d}"))
        clock.advance(signin.WINDOW)  # past the codes-per-holder window
    extra = _apply(client, "599", phone="13900009999")
    r = _ask(client, child, extra)
    body = {"challenge": r.json()["challenge"], "code": sms.last_code()}
    assert _code(client.post("/v1/me/held", json=body, headers=_auth(child))) == (
        409,
        "HOLD_LIMIT",
    )


@pytest.mark.parametrize(
    "body,code",
    [
        ([], "RECORD_NOT_OBJECT"),
        ({"challenge": "a" * 22}, "FIELD_MISSING"),
        ({"challenge": "a" * 65, "code": "123456"}, "FIELD_TOO_LONG"),
        ({"challenge": "a" * 22, "code": "12345\x00"}, "TEXT_INVALID"),
    ],
)
def test_hostile_consent_bodies_are_refused_with_their_code(
    client: httpx.Client, child: dict[str, str], body: Any, code: str
) -> None:
    r = client.post("/v1/me/held", json=body, headers=_auth(child))
    assert r.status_code in (400, 422) and r.json()["error"]["code"] == code


def test_the_rule_reasons_are_public_words(client: httpx.Client) -> None:
    reasons = client.get("/v1/rules/reasons").json()["reasons"]
    assert "隔离" in reasons["RED_CLOSE_CONTACT"]["zh"] and reasons["RED_CLOSE_CONTACT"]["en"]
