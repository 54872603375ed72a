"""Citizens' sign-in over the province's HTTP API: one-time codes through the SMS sender,
sessions, rate limits and locks that hold across a restart, hostile input."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from hub_testdata import ASGISyncTransport
from province_testdata import applicant

from healthcode.core.clock import FixedClock
from healthcode.province import signin
from healthcode.province.app import create_app
from healthcode.province.service import ProvinceService


class Outbox:
    """An SMS sender that keeps what it sent."""

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


@pytest.fixture
def client(province: ProvinceService, sms: Outbox) -> Iterator[httpx.Client]:
    transport = ASGISyncTransport(create_app(province, sms=sms))
    with httpx.Client(transport=transport, base_url="http://province.test") as c:
        yield c


@pytest.fixture
def applied(client: httpx.Client) -> dict[str, Any]:
    r = client.post("/v1/applications", json=applicant())
    assert r.status_code == 200, r.text
    answer: dict[str, Any] = r.json()
    return answer


def _who(**extra: Any) -> dict[str, Any]:
    a = applicant()
    return {"id_number": a["id_number"], "phone": a["phone"], **extra}


def _code(r: httpx.Response) -> str:
    return str(r.json()["error"]["code"])


def _ask(client: httpx.Client, **extra: Any) -> httpx.Response:
    return client.post("/v1/sign-in/code", json=_who(**extra))


def _sign_in(client: httpx.Client, sms: Outbox) -> str:
    r = _ask(client)
    assert r.status_code == 200, r.text
    done = client.post(
        "/v1/sign-in", json={"challenge": r.json()["challenge"], "code": sms.last_code()}
    )
    assert done.status_code == 200, done.text
    assert done.json()["masked_name"] == "张*丰"
    return str(done.json()["session"])


def test_sign_in_gives_a_session_that_reaches_the_code(
    client: httpx.Client, sms: Outbox, applied: dict[str, Any]
) -> None:
    session = _sign_in(client, sms)
    assert session.startswith("hcse_") and sms.sent[-1][0] == applicant()["phone"]
    auth = {"Authorization": f"Bearer {session}"}
    me = client.get("/v1/me", headers=auth)
    assert me.status_code == 200 and me.json()["pseudonym"] == applied["pseudonym"]
    out = client.post("/v1/sign-out", headers=auth)
    assert out.status_code == 200
    again = client.get("/v1/me", headers=auth)
    assert (again.status_code, _code(again)) == (401, "SESSION_INVALID")


def test_a_session_expires(
    client: httpx.Client, sms: Outbox, applied: dict[str, Any], clock: FixedClock
) -> None:
    auth = {"Authorization": f"Bearer {_sign_in(client, sms)}"}
    clock.advance(signin.SESSION_LIFETIME + timedelta(seconds=1))
    r = client.get("/v1/me", headers=auth)
    assert (r.status_code, _code(r)) == (401, "SESSION_INVALID")


@pytest.mark.parametrize("who", [{"phone": "13900000000"}, {"id_number": "11010519491231002X"}])
def test_a_stranger_gets_the_same_answer_and_no_code(
    client: httpx.Client, sms: Outbox, applied: dict[str, Any], who: dict[str, str]
) -> None:
    r = client.post("/v1/sign-in/code", json=_who(**who))
    assert r.status_code == 200 and set(r.json()) == {"challenge", "expires_at"}
    assert sms.sent == []
    for guess in ("000000", "123456"):
        bad = client.post("/v1/sign-in", json={"challenge": r.json()["challenge"], "code": guess})
        assert (bad.status_code, _code(bad)) == (401, "SIGN_IN_CODE_INVALID")


def test_a_code_works_once_and_not_after_it_expired(
    client: httpx.Client, sms: Outbox, applied: dict[str, Any], clock: FixedClock
) -> None:
    r = _ask(client)
    body = {"challenge": r.json()["challenge"], "code": sms.last_code()}
    assert client.post("/v1/sign-in", json=body).status_code == 200
    used = client.post("/v1/sign-in", json=body)
    assert (used.status_code, _code(used)) == (401, "SIGN_IN_CODE_INVALID")
    late = _ask(client)
    clock.advance(signin.CODE_LIFETIME)
    body = {"challenge": late.json()["challenge"], "code": sms.last_code()}
    expired = client.post("/v1/sign-in", json=body)
    assert (expired.status_code, _code(expired)) == (401, "SIGN_IN_CODE_INVALID")


def test_repeated_failures_lock_the_id_even_for_the_right_code_and_across_a_restart(
    client: httpx.Client,
    sms: Outbox,
    applied: dict[str, Any],
    clock: FixedClock,
    province: ProvinceService,
) -> None:
    r = _ask(client)
    challenge, right = r.json()["challenge"], sms.last_code()
    wrong = "000000" if right != "000000" else "111111"
    for _ in range(signin.FAILURES_TO_LOCK["id"]):
        bad = client.post("/v1/sign-in", json={"challenge": challenge, "code": wrong})
        assert _code(bad) == "SIGN_IN_CODE_INVALID"
    # a new process over the same database sees the lock
    fresh = httpx.Client(
        transport=ASGISyncTransport(create_app(province, sms=sms)), base_url="http://p.test"
    )
    locked = fresh.post("/v1/sign-in", json={"challenge": challenge, "code": right})
    assert (locked.status_code, _code(locked)) == (429, "SIGN_IN_LOCKED")
    assert 0 < int(locked.headers["Retry-After"]) <= signin.LOCK_FOR.total_seconds() + 1
    asked = _ask(fresh)
    assert (asked.status_code, _code(asked)) == (429, "SIGN_IN_LOCKED")
    clock.advance(signin.LOCK_FOR)
    assert _sign_in(fresh, sms).startswith("hcse_")


def test_codes_asked_are_limited_per_id(
    client: httpx.Client, sms: Outbox, applied: dict[str, Any]
) -> None:
    for _ in range(signin.CODES_PER_ID):
        assert _ask(client).status_code == 200
    r = _ask(client)
    assert (r.status_code, _code(r)) == (429, "SIGN_IN_RATE_LIMITED")
    assert int(r.headers["Retry-After"]) > 0 and len(sms.sent) == signin.CODES_PER_ID


def test_failures_from_one_address_lock_it_for_every_id(
    client: httpx.Client, sms: Outbox, applied: dict[str, Any]
) -> None:
    for i in range(signin.FAILURES_TO_LOCK["addr"]):
        bad = client.post("/v1/sign-in", json={"challenge": f"{i:022d}", "code": "123456"})
        assert _code(bad) == "SIGN_IN_CODE_INVALID"
    r = _ask(client)
    assert (r.status_code, _code(r)) == (429, "SIGN_IN_LOCKED")


@pytest.mark.parametrize(
    ("path", "body", "status", "code"),
    [
        ("/v1/sign-in/code", [1], 422, "RECORD_NOT_OBJECT"),
        ("/v1/sign-in/code", {"phone": "13812345678"}, 422, "FIELD_MISSING"),
        ("/v1/sign-in/code", _who(id_number="440106199001011230"), 422, "ID_CHECK_DIGIT"),
        ("/v1/sign-in/code", _who(phone="call me"), 422, "PHONE_INVALID"),
        ("/v1/sign-in/code", _who(phone="1" * 40), 422, "FIELD_TOO_LONG"),
        ("/v1/sign-in/code", _who(id_type="martian"), 422, "ID_TYPE_UNKNOWN"),
        ("/v1/sign-in", {"challenge": "x", "code": "123456"}, 401, "SIGN_IN_CODE_INVALID"),
        (
            "/v1/sign-in",
            {"challenge": "'; drop table x; --", "code": "1"},
            401,
            "SIGN_IN_CODE_INVALID",
        ),
        ("/v1/sign-in", {"challenge": "a" * 22}, 422, "FIELD_MISSING"),
        ("/v1/sign-in", "code", 422, "RECORD_NOT_OBJECT"),
    ],
)
def test_hostile_sign_in_bodies(
    client: httpx.Client, path: str, body: Any, status: int, code: str
) -> None:
    r = client.post(path, json=body)
    assert (r.status_code, _code(r)) == (status, code), r.text


@pytest.mark.parametrize(
    "header", [None, "Bearer hcse_", "Bearer hcse_" + "a" * 43, "Bearer hcse_" + "a" * 500]
)
def test_a_wrong_session_is_refused(client: httpx.Client, header: str | None) -> None:
    headers = {"Authorization": header} if header else {}
    r = client.get("/v1/me/code/qr", headers=headers)
    assert r.status_code == 401 and _code(r) in {"SESSION_INVALID", "PERSON_TOKEN_INVALID"}
    out = client.post("/v1/sign-out", headers=headers)
    assert out.status_code == 401


def test_the_log_sender_writes_the_code_to_the_server_log(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("WARNING", logger="healthcode.province.sms"):
        signin.LogSender().send("13812345678", "code 123456")
    assert "code 123456" in caplog.text and "13812345678" not in caplog.text


def test_challenges_and_sessions_long_over_are_forgotten(
    client: httpx.Client,
    sms: Outbox,
    applied: dict[str, Any],
    clock: FixedClock,
    province: ProvinceService,
) -> None:
    from sqlalchemy import func, select

    from healthcode.province.models import CitizenSession, SignInChallenge

    _sign_in(client, sms)
    clock.advance(signin.SESSION_LIFETIME * 2 + timedelta(minutes=1))
    assert _ask(client).status_code == 200
    with province.db.read() as s:
        challenges = s.scalar(select(func.count()).select_from(SignInChallenge))
        sessions = s.scalar(select(func.count()).select_from(CitizenSession))
    assert (challenges, sessions) == (1, 0)
