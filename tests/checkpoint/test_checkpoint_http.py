"""The checkpoint over real HTTP: offline decisions on codes of every province, its trust list
refreshed from the hub (refusing rollback), and the online check at the hub."""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from fastapi.responses import Response

from healthcode.checkpoint.app import create_app
from healthcode.checkpoint.service import Checkpoint
from healthcode.core.clock import FixedClock, parse_instant
from healthcode.core.identity import check_digit
from healthcode.core.trust.trustlist import TrustStore
from healthcode.core.verify import DccSchema, DscTrustList, ShcTrust
from healthcode.network.runner import NetworkRunner, Service
from live_network import LiveNetwork, free_base_port, live_network


def resident_id(region: str, birth: str, seq: str) -> str:
    body = region + birth + seq
    return body + check_digit(body)


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveNetwork]:
    with live_network(tmp_path_factory.mktemp("network")) as running:
        yield running


def test_the_checkpoint_took_the_hubs_trust_list(net: LiveNetwork) -> None:
    answer = httpx.get(net.services["checkpoint"].url + "/v1/trust").json()
    assert answer["trust_list"]["sequence"] >= 1 and answer["trust_list"]["usable"]
    assert answer["last_refresh"]["taken"] is True


@pytest.mark.parametrize("province", ["440000", "110000"])
def test_a_green_code_of_each_province_passes_with_its_masked_identity(
    net: LiveNetwork, province: str
) -> None:
    answer = net.check(net.issue(province, "green"))
    assert (answer["decision"], answer["reason"], answer["issuer"]) == ("pass", None, province)
    assert answer["identity"] == {"name": "张*丰", "id": "4401**********1231"}
    assert "pseudonym" not in json.dumps(answer)
    trust = answer["trust_list"]
    assert isinstance(trust, dict) and trust["stale_by_seconds"] == 0 and trust["age_seconds"] >= 0


@pytest.mark.parametrize(("colour", "code"), [("red", "CODE_RED"), ("yellow", "CODE_YELLOW")])
def test_red_and_yellow_stop_with_their_colour(net: LiveNetwork, colour: str, code: str) -> None:
    answer = net.check(net.issue("110000", colour))
    assert (answer["decision"], answer["reason"], answer["colour"]) == ("stop", code, colour)


def test_bad_and_expired_codes_stop_with_the_stage_code(net: LiveNetwork) -> None:
    assert net.check("CN1:XYZ")["reason"] == "BASE45_INVALID"
    assert net.check("XYZ:1")["reason"] == "PREFIX_UNKNOWN"
    code = net.issue("440000", "green")
    assert (
        net.check(code[:-3] + ("AAA" if not code.endswith("AAA") else "BBB"))["decision"] == "stop"
    )
    checkpoint: Checkpoint = net.services["checkpoint"].loops  # type: ignore[assignment]
    later = Checkpoint(
        store=TrustStore(
            checkpoint.store.directory,
            root_cert=checkpoint.store.root_cert,
            clock=FixedClock(datetime.now(UTC) + timedelta(hours=2)),
        ),
        clock=FixedClock(datetime.now(UTC) + timedelta(hours=2)),
    )
    assert later.check(code)["reason"] == "CWT_EXPIRED"


def test_a_malformed_request_is_422(net: LiveNetwork) -> None:
    response = httpx.post(net.services["checkpoint"].url + "/v1/check", json={"online": True})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "REQUEST_INVALID"


def test_an_older_trust_list_is_refused_and_the_held_one_stays(
    net: LiveNetwork, tmp_path: Path
) -> None:
    hub = net.services["hub"].url
    old = httpx.get(hub + "/v1/published/trust-list", headers=net.token("checkpoint")).content
    # a change makes the hub seal a newer list; the checkpoint takes it
    net.network().revoke_serial(
        secrets.token_bytes(12), until=datetime.now(UTC) + timedelta(days=1)
    )
    refreshed = httpx.post(net.services["checkpoint"].url + "/v1/trust/refresh").json()
    assert refreshed["taken"] is True
    newer = refreshed["sequence"]
    # a stale hub (or an attacker) serving the older list: refused, the newer one stays
    stale = _serving("stale-hub", _list_server(old))
    checkpoint: Checkpoint = net.services["checkpoint"].loops  # type: ignore[assignment]
    real = checkpoint.hub_url
    try:
        checkpoint.hub_url = stale[1].url
        answer = httpx.post(net.services["checkpoint"].url + "/v1/trust/refresh").json()
    finally:
        checkpoint.hub_url = real
        stale[0].stop()
    assert (answer["taken"], answer["error"], answer["held"]) == (False, "ENVELOPE_ROLLBACK", newer)
    assert net.check(net.issue("440000", "green"))["trust_list"]["sequence"] == newer  # type: ignore[index]


def _list_server(raw: bytes) -> FastAPI:
    app = FastAPI()

    @app.get("/v1/published/trust-list")
    def published() -> Response:
        return Response(content=raw, media_type="application/cose")

    return app


def _serving(name: str, app: object) -> tuple[NetworkRunner, Service]:
    runner = NetworkRunner()
    service = Service(name, app, "127.0.0.1", free_base_port(1))
    runner.start(service)
    return runner, service


# -- the online check ---------------------------------------------------------------------------


def _register(net: LiveNetwork, id_number: str) -> str:
    hub = net.services["hub"].url
    answer = httpx.post(
        hub + "/v1/registrations",
        json={"people": [{"id_number": id_number}]},
        headers=net.token("province-440000"),
    )
    assert answer.status_code == 200, answer.text
    pseudonym: str = answer.json()["pseudonyms"][0]
    return pseudonym


def _report(net: LiveNetwork, **report: object) -> None:
    answer = httpx.post(
        net.services["hub"].url + "/v1/status",
        json={"reports": [{"ruleset_version": "national-baseline", **report}]},
        headers=net.token("province-440000"),
    )
    assert answer.status_code == 200, answer.text


def test_an_older_green_code_of_a_person_now_red_is_superseded(net: LiveNetwork) -> None:
    pseudonym = _register(net, resident_id("440106", "19900307", "123"))
    now = datetime.now(UTC).replace(microsecond=0)
    green, red = secrets.token_bytes(12), secrets.token_bytes(12)
    since, until = now - timedelta(hours=2), now + timedelta(hours=22)
    _report(net, serial=green.hex(), pseudonym=pseudonym, colour="green",
            since=since.isoformat(), until=until.isoformat())  # fmt: skip
    old_code = net.issue("440000", "green", subject=pseudonym, serial=green)
    assert net.check(old_code, online=True)["decision"] == "pass"  # green is still the news
    _report(net, serial=red.hex(), pseudonym=pseudonym, colour="red",
            since=now.isoformat(), until=(now + timedelta(days=7)).isoformat())  # fmt: skip
    assert net.check(old_code)["decision"] == "pass"  # offline, the green code is still valid
    answer = net.check(old_code, online=True)
    assert (answer["decision"], answer["reason"]) == ("stop", "CODE_SUPERSEDED")
    assert answer["message"] == "superseded: now red"
    online = answer["online"]
    assert isinstance(online, dict) and online["colour"] == "red" and online["superseded"]
    fresh = net.check(net.issue("440000", "red", subject=pseudonym, serial=red), online=True)
    assert (fresh["reason"], fresh["online"]["same_code"]) == ("CODE_RED", True)  # type: ignore[index]


def test_a_person_the_hub_does_not_know_keeps_the_offline_decision(net: LiveNetwork) -> None:
    answer = net.check(net.issue("110000", "green", subject="cd" * 32), online=True)
    assert answer["decision"] == "pass"
    assert answer["online"] == {"error": "STATUS_UNKNOWN", "message": "the hub knows no status"}


def test_an_unreachable_hub_leaves_the_offline_decision(net: LiveNetwork) -> None:
    checkpoint: Checkpoint = net.services["checkpoint"].loops  # type: ignore[assignment]
    real = checkpoint.hub_url
    checkpoint.hub_url = f"http://127.0.0.1:{free_base_port(1)}"
    try:
        answer = net.check(net.issue("110000", "green"), online=True)
    finally:
        checkpoint.hub_url = real
    assert answer["decision"] == "pass"
    assert answer["online"]["error"] == "HUB_UNREACHABLE"  # type: ignore[index]


# -- foreign credentials ------------------------------------------------------------------------

SHC_ISSUER = "https://spec.smarthealth.cards/examples/issuer"


def _foreign_checkpoint(
    tmp_path: Path, net: LiveNetwork, at: datetime, **foreign: object
) -> Checkpoint:
    clock = FixedClock(at)
    store = TrustStore(tmp_path / "trust", root_cert=net.network().root_certificate, clock=clock)
    return Checkpoint(store=store, clock=clock, **foreign)  # type: ignore[arg-type]


def test_an_eu_dcc_passes_offline(net: LiveNetwork, testdata: Path, tmp_path: Path) -> None:
    vector = json.loads((testdata / "dcc" / "AT" / "1.json").read_text())
    ctx = vector["TESTCTX"]
    dsc = DscTrustList()
    dsc.add_pem_or_der(base64.b64decode(ctx["CERTIFICATE"]))
    checkpoint = _foreign_checkpoint(
        tmp_path,
        net,
        parse_instant(ctx["VALIDATIONCLOCK"]),
        foreign={"dcc": dsc},
        dcc_schema=DccSchema.load(testdata / "dcc-schema" / "DCC.combined-schema.json"),
    )
    runner, service = _serving("dcc-checkpoint", create_app(checkpoint))
    try:
        answer = httpx.post(service.url + "/v1/check", json={"code": vector["PREFIX"]}).json()
    finally:
        runner.stop()
    assert (answer["decision"], answer["format"], answer["reason"]) == ("pass", "dcc", None)
    assert answer["identity"] and answer["trust_list"] is None


def test_a_smart_health_card_passes_and_a_revoked_one_stops(
    net: LiveNetwork, testdata: Path, tmp_path: Path
) -> None:
    shc = ShcTrust()
    folder = testdata / "shc" / "issuer" / ".well-known"
    shc.add_jwks(json.loads((folder / "jwks.json").read_text()), issuer=SHC_ISSUER)
    for crl in sorted((folder / "crl").glob("*.json")):
        shc.add_crl(crl.read_bytes())
    at = datetime(2023, 6, 23, tzinfo=UTC)
    checkpoint = _foreign_checkpoint(tmp_path, net, at, foreign={"shc": shc})
    runner, service = _serving("shc-checkpoint", create_app(checkpoint))
    card = (testdata / "shc" / "example-00-f-qr-code-numeric-value-0.txt").read_text().strip()
    revoked = (testdata / "shc" / "example-03-f-qr-code-numeric-value-0.txt").read_text().strip()
    try:
        ok = httpx.post(service.url + "/v1/check", json={"code": card}).json()
        no = httpx.post(service.url + "/v1/check", json={"code": revoked}).json()
    finally:
        runner.stop()
    assert (ok["decision"], ok["format"]) == ("pass", "shc")
    assert (no["decision"], no["reason"]) == ("stop", "REVOKED")
