"""``GET /v1/me/code`` and ``GET /v1/me`` answered before FastAPI (``province/me_reads.py``)
answer what the FastAPI routes answer, byte for byte: the same requests through the app with
the fast layer and through the same app without it (signatures made deterministic, RFC 6979,
so that two codes of the same instant are the same bytes)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi import FastAPI
from hub_testdata import ENV, NOW, ASGISyncTransport, network_in
from hypothesis import given, settings
from hypothesis import strategies as st
from province_testdata import applicant, nat_record, province_settings

from healthcode.config import Settings
from healthcode.core.clock import FixedClock
from healthcode.core.codes import cose
from healthcode.hub.app import create_app as create_hub_app
from healthcode.hub.batches import Located
from healthcode.hub.services import Hub
from healthcode.province.app import create_app
from healthcode.province.codes import CodeService
from healthcode.province.me_reads import MeReads
from healthcode.province.service import ProvinceService
from healthcode.store.db import Database

Answer = tuple[int, list[tuple[str, str]], bytes]


class _Outbox:
    def __init__(self) -> None:
        self.sent: list[str] = []

    def send(self, phone: str, text: str) -> None:
        self.sent.append(text)


@pytest.fixture
def signing(
    db: Database, province_db: Database, clock: FixedClock, tmp_path: Path
) -> Iterator[ProvinceService]:
    """A province with a signer, over a hub of the same network."""
    home = tmp_path / "keys"
    network_in(db, home, NOW - timedelta(days=1))
    hub = Hub.build(
        settings=Settings.from_env({**ENV, "HEALTHCODE_HOME": str(home)}), db=db, clock=clock
    )
    _, token = hub.orgs.add(kind="province", region_code="440000", name="Guangdong")
    service = ProvinceService.build(
        settings=province_settings(token, HEALTHCODE_HOME=str(home)),
        db=province_db,
        clock=clock,
        transport=ASGISyncTransport(create_hub_app(hub)),
    )
    _, lab_token = hub.orgs.add(kind="lab", region_code="440106", name="lab")
    service.applications.apply(applicant(seq="101"))
    service.applications.apply(applicant(seq="102"))
    lab = hub.orgs.authenticate(lab_token)
    record = nat_record("S1", applicant(seq="101")["id_number"])
    hub.ingest.submit(lab, "nat", [Located({"index": 0}, record)])
    service.pull_all()
    yield service
    service.hub.close()


@pytest.fixture(autouse=True)
def _deterministic(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        cose, "_ECDSA_SHA256", ec.ECDSA(hashes.SHA256(), deterministic_signing=True)
    )


def _reference(province: ProvinceService, sms: _Outbox) -> FastAPI:
    """The same app without the fast layer: every request to the FastAPI routes."""
    app = create_app(province, sms=sms)
    app.user_middleware = [m for m in app.user_middleware if m.cls is not MeReads]
    return app


def _session(province: ProvinceService, sms: _Outbox) -> str:
    with httpx.Client(
        transport=ASGISyncTransport(create_app(province, sms=sms)), base_url="http://p"
    ) as c:
        body = {"id_number": applicant(seq="102")["id_number"], "phone": applicant()["phone"]}
        challenge = c.post("/v1/sign-in/code", json=body).json()["challenge"]
        code = re.findall(r"\b\d{6}\b", sms.sent[-1])[0]
        session: str = c.post("/v1/sign-in", json={"challenge": challenge, "code": code}).json()[
            "session"
        ]
    return session


def _callers(province: ProvinceService, sms: _Outbox) -> list[dict[str, str]]:
    tokens = [province.applications.apply(applicant(seq=seq))["token"] for seq in ("101", "102")]
    tokens += [_session(province, sms), province.tokens.token("ab" * 16)]
    callers = [{"Authorization": f"Bearer {t}"} for t in tokens]
    callers += [{"Authorization": f"bearer {tokens[0]}"}, {}]
    bad = [
        "Bearer nope",
        "Basic abc",
        "Bearer hcse_nothing",
        "Bearer hcp1..",
        "Bearer " + "x" * 900,
    ]
    return callers + [{"Authorization": b} for b in bad]


_TARGETS = [
    "/v1/me/code",
    "/v1/me/code?medium=screen",
    "/v1/me/code?medium=paper",
    "/v1/me/code?medium=light",
    "/v1/me/code?medium=bogus",
    "/v1/me/code?medium=",
    "/v1/me/code?medium=screen&medium=paper",
    "/v1/me/code?medium=paper&x=1",
    "/v1/me/code?medium=%70aper",
    "/v1/me/code?medium=a%00b",
    "/v1/me/code?x=1",
    "/v1/me/code/",
    "/v1/me",
    "/v1/me?x=1",
    "/v1/me?medium=paper",
]


def _answers(app: FastAPI, callers: list[dict[str, str]], targets: list[str]) -> list[Answer]:
    out = []
    with httpx.Client(transport=ASGISyncTransport(app), base_url="http://p") as c:
        for headers in callers:
            for target in targets:
                for method in ("GET", "GET", "POST"):  # the first may read, the second is kept
                    r = c.request(method, target, headers=headers)
                    out.append((r.status_code, sorted(r.headers.items()), r.content))
    return out


def test_the_fast_layer_answers_what_the_routes_answer(
    signing: ProvinceService, monkeypatch: pytest.MonkeyPatch
) -> None:
    sms = _Outbox()
    callers = _callers(signing, sms)
    inline: list[dict[str, Any] | None] = []
    issue_kept = CodeService.issue_kept

    def counted(self: CodeService, *args: Any) -> dict[str, Any] | None:
        inline.append(issue_kept(self, *args))
        return inline[-1]

    monkeypatch.setattr(CodeService, "issue_kept", counted)
    fast = _answers(create_app(signing, sms=sms), callers, _TARGETS)
    assert sum(a is not None for a in inline) >= 3 * 4  # kept codes answered on the event loop
    signing.codes.kept.forget(None)
    assert _answers(_reference(signing, sms), callers, _TARGETS) == fast
    statuses = {status for status, _, _ in fast}
    assert {200, 401, 404, 405, 422} <= statuses
    colours = {r[2].split(b'"colour":"')[1][:3] for r in fast if r[0] == 200}
    assert colours == {b"red", b"gre"}


def test_any_query_and_header_is_answered_alike(signing: ProvinceService) -> None:
    sms = _Outbox()
    fast_app, reference = create_app(signing, sms=sms), _reference(signing, sms)
    people = [signing.applications.apply(applicant(seq=s))["token"] for s in ("101", "102")]
    tokens = [*people, "hcp1.x.y", "hcse_x"]

    @settings(max_examples=60, deadline=None)
    @given(
        query=st.text(alphabet="medium=screnpagolht&%0x", max_size=20),
        scheme=st.sampled_from(["Bearer ", "bearer ", "BEARER ", "Basic ", "Bearer  ", ""]),
        who=st.integers(min_value=0, max_value=3),
        path=st.sampled_from(["/v1/me/code", "/v1/me"]),
    )
    def alike(query: str, scheme: str, who: int, path: str) -> None:
        headers = {"Authorization": scheme + tokens[who]}
        target = f"{path}?{query}" if query else path
        fast = _answers(fast_app, [headers], [target])
        assert _answers(reference, [headers], [target]) == fast

    alike()
