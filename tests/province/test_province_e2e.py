"""End to end over real HTTP: the hub and provinces as separate processes (two provinces: a
positive NAT turns the person red in both, an older code is superseded at the hub, a fresh red
code is stopped offline); kill -9 of the province while it applies a feed page and while the
until sweep fires."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from hub_testdata import resident_id
from live import LiveHub, add_org, cli
from live_province import LiveProvince, keys_init, wait_for
from province_testdata import applicant, nat_record

from healthcode.core.clock import SystemClock
from healthcode.core.error_codes import ErrorCode
from healthcode.core.errors import VerificationFailed
from healthcode.core.trust.network import Network
from healthcode.core.verify.native import NativeFormat, NativeSettings
from healthcode.store.db import Database
from healthcode.store.trust_state import SqlStateStore


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "keys"
    monkeypatch.setenv("HEALTHCODE_HOME", str(path))  # the hub publishes with it
    return path


@pytest.fixture
def hub(fresh_db_url: str, tmp_path: Path, home: Path) -> Iterator[LiveHub]:
    keys_init(fresh_db_url, home)
    live = LiveHub(fresh_db_url, tmp_path / "hub.log")
    live.start()
    try:
        yield live
    finally:
        live.stop()


def _province(
    hub: LiveHub, home: Path, tmp_path: Path, region: str = "440000", **extra: str
) -> LiveProvince:
    token = add_org(hub.db_url, "province", region, f"province {region}")
    return LiveProvince(
        region=region,
        hub_url=hub.url,
        hub_token=token,
        hub_db=hub.db_url,
        home=home,
        folder=tmp_path,
        **extra,
    )


@pytest.fixture
def province(hub: LiveHub, home: Path, tmp_path: Path) -> Iterator[LiveProvince]:
    live = _province(hub, home, tmp_path)
    live.start()
    try:
        yield live
    finally:
        live.stop()


def _me(province: LiveProvince, token: str) -> dict[str, Any]:
    r = httpx.get(province.url + "/v1/me", headers=bearer(token), timeout=10)
    assert r.status_code == 200, r.text
    answer: dict[str, Any] = r.json()
    return answer


@pytest.fixture
def unpolled(hub: LiveHub, home: Path, tmp_path: Path) -> Iterator[LiveProvince]:
    """A province whose report loop polls once an hour: reports reach the hub only because a
    commit that queued them wakes the loop."""
    live = _province(hub, home, tmp_path, HEALTHCODE_PROVINCE_REPORT_SECONDS="3600")
    live.start()
    try:
        yield live
    finally:
        live.stop()


@pytest.mark.slow
def test_a_positive_nat_at_the_hub_turns_the_person_red_and_the_hub_knows(
    hub: LiveHub, unpolled: LiveProvince
) -> None:
    province = unpolled
    lab = bearer(add_org(hub.db_url, "lab", "440106", "GZ lab"))
    station = bearer(add_org(hub.db_url, "checkpoint", "110105", "Beijing West"))
    r = httpx.post(province.url + "/v1/applications", json=applicant(), timeout=30)
    assert r.status_code == 200, r.text
    person = r.json()
    assert _me(province, person["token"])["colour"] == "green"
    green = httpx.get(province.url + "/v1/me/code", headers=bearer(person["token"]), timeout=10)
    assert green.status_code == 200, green.text
    sampled = (datetime.now(UTC) - timedelta(hours=2)).isoformat()
    record = nat_record("S-E2E-1", applicant()["id_number"], sampled_at=sampled)
    assert httpx.post(hub.url + "/v1/records/nat", json=record, headers=lab).status_code == 200
    wait_for("red", lambda: _me(province, person["token"])["colour"] == "red")

    def hub_says_red() -> bool:
        r = httpx.get(
            hub.url + "/v1/status", params={"pseudonym": person["pseudonym"]}, headers=station
        )
        return r.status_code == 200 and r.json()["colour"] == "red"

    wait_for("the hub's status red", hub_says_red)
    red = httpx.get(province.url + "/v1/me/code", headers=bearer(person["token"]), timeout=10)
    assert red.json()["colour"] == "red"
    serial = red.json()["serial"]

    def serial_known() -> bool:
        return httpx.get(hub.url + f"/v1/status/{serial}", headers=station).status_code == 200

    wait_for("the code's serial at the hub", serial_known)
    old = httpx.get(hub.url + f"/v1/status/{green.json()['serial']}", headers=station).json()
    assert old["colour"] == "green"  # the older code: superseded by the person's red
    a = applicant()
    shown = cli(
        hub.db_url,
        "code",
        "show",
        "--province",
        province.url,
        "--id",
        a["id_number"],
        "--name",
        a["name"],
        "--phone",
        a["phone"],
        "--residence",
        a["residence_region"],
        "--lang",
        "en",
        "--paper",
    )
    assert shown.returncode == 0, shown.stderr
    assert "colour: red" in shown.stdout and "NAT_POSITIVE" in shown.stdout
    assert "CN1:" in shown.stdout
    by_token = cli(hub.db_url, "code", "show", "--province", province.url, "--token", "hcp1.x.y")
    assert by_token.returncode == 1 and "PERSON_TOKEN_INVALID" in by_token.stderr


@pytest.mark.slow
def test_two_provinces_a_positive_nat_turns_the_person_red_in_both_and_stops_their_codes(
    hub: LiveHub, province: LiveProvince, home: Path, tmp_path: Path
) -> None:
    """Guangdong holds the person (residence), Beijing too (a stay): a positive NAT at the hub
    turns them red in both; their older green code, still unexpired, is answered superseded
    (now red) by the hub by serial and red by pseudonym; a fresh red code is stopped by the
    native verifier's acceptance rules (green only)."""
    beijing = _province(hub, home, tmp_path, region="110000")
    beijing.start()
    try:
        _red_in_both(hub, province, beijing, home)
    finally:
        beijing.stop()


def _red_in_both(hub: LiveHub, gd: LiveProvince, bj: LiveProvince, home: Path) -> None:
    lab = bearer(add_org(hub.db_url, "lab", "440106", "GZ lab"))
    station = bearer(add_org(hub.db_url, "checkpoint", "110105", "Beijing West"))
    person = httpx.post(gd.url + "/v1/applications", json=applicant(), timeout=30).json()
    stay = {**applicant(), "reason": "stay"}
    visitor = httpx.post(bj.url + "/v1/applications", json=stay, timeout=30).json()
    assert visitor["pseudonym"] == person["pseudonym"]
    assert _me(gd, person["token"])["colour"] == _me(bj, visitor["token"])["colour"] == "green"
    green = httpx.get(gd.url + "/v1/me/code", headers=bearer(person["token"]), timeout=10).json()
    serial = green["serial"]

    def status(serial: str) -> Any:
        r = httpx.get(hub.url + f"/v1/status/{serial}", headers=station, timeout=10)
        return r.json() if r.status_code == 200 else None

    wait_for("the green code's serial at the hub", lambda: status(serial))
    sampled = (datetime.now(UTC) - timedelta(hours=2)).isoformat()
    record = nat_record("S-E2E-2", applicant()["id_number"], sampled_at=sampled)
    assert httpx.post(hub.url + "/v1/records/nat", json=record, headers=lab).status_code == 200
    wait_for("red at home", lambda: _me(gd, person["token"])["colour"] == "red")
    wait_for("red on the stay", lambda: _me(bj, visitor["token"])["colour"] == "red")
    old = wait_for("the green code superseded", lambda: (status(serial) or {}).get("now"))
    assert old["colour"] == "red"
    answer = status(serial)
    assert answer["colour"] == "green" and answer["current"] and answer["superseded"]

    def by_pseudonym() -> Any:
        params = {"pseudonym": person["pseudonym"]}
        return httpx.get(hub.url + "/v1/status", params=params, headers=station).json()

    assert by_pseudonym()["colour"] == "red"
    assert {c["province"] for c in by_pseudonym()["codes"]} == {"440000", "110000"}
    red = httpx.get(bj.url + "/v1/me/code", headers=bearer(visitor["token"]), timeout=10).json()
    assert red["colour"] == "red"
    _stopped_offline(hub, home, green["code"], red["code"])


def _stopped_offline(hub: LiveHub, home: Path, green: str, red: str) -> None:
    """The native verifier with the network's trust list: the green code passes, the red one
    fails the acceptance rules (stage rules)."""
    db = Database.from_url(hub.db_url)
    try:
        now = datetime.now(UTC)
        network = Network.open(home, store=SqlStateStore(db, clock=SystemClock()))
        native = NativeFormat(NativeSettings(trust=network.trust_list(at=now)))
    finally:
        db.dispose()
    assert native.verify(green, now).colour == "green"
    with pytest.raises(VerificationFailed) as refused:
        native.verify(red, now)
    assert refused.value.code == ErrorCode.RULE_FAILED


def _submit_many(hub: LiveHub, kind: str, records: list[dict[str, Any]]) -> None:
    who = {"nat": ("lab", "440106"), "contact": ("disease-control", "440106")}[kind]
    token = bearer(add_org(hub.db_url, who[0], who[1], f"{kind} source"))
    for i in range(0, len(records), 500):
        r = httpx.post(
            hub.url + f"/v1/records/{kind}/batch",
            json=records[i : i + 500],
            headers=token,
            timeout=120,
        )
        assert r.status_code == 200, r.text


def _people(n: int) -> list[str]:
    return [
        resident_id(birth=f"19{60 + i // 1000:02d}0101", seq=f"{i % 1000:03d}") for i in range(n)
    ]


@pytest.mark.slow
def test_kill9_while_applying_a_feed_page_loses_nothing_and_applies_nothing_twice(
    hub: LiveHub, home: Path, tmp_path: Path
) -> None:
    ids = _people(1500)
    sampled = (datetime.now(UTC) - timedelta(hours=3)).isoformat()
    _submit_many(
        hub,
        "nat",
        [nat_record(f"K{i}", n, sampled_at=sampled, result="negative") for i, n in enumerate(ids)],
    )
    province = _province(hub, home, tmp_path, HEALTHCODE_PROVINCE_FEED_PAGE="200")
    province.start()
    try:
        wait_for(
            "a first page applied",
            lambda: (province.scalar("SELECT seq FROM feed_cursor") or 0) > 0,
        )
        province.kill9()
        cursor = province.scalar("SELECT seq FROM feed_cursor")
        # the cursor and the effects went together: exactly the entries up to it are stored
        assert province.scalar("SELECT count(*) FROM fact_records") == cursor
        assert province.scalar("SELECT count(*) FROM colours") == cursor
        province.start()
        wait_for("the feed drained", lambda: province.scalar("SELECT seq FROM feed_cursor") == 1500)
    finally:
        province.stop()
    assert province.scalar("SELECT count(*) FROM fact_records") == 1500
    assert province.scalar("SELECT count(DISTINCT record_id) FROM fact_records") == 1500
    assert province.scalar("SELECT count(*) FROM person_summaries") == 1500
    assert province.scalar("SELECT max(version) FROM fact_records") == 1


@pytest.mark.slow
def test_kill9_while_the_sweep_fires_loses_nothing(
    hub: LiveHub, home: Path, tmp_path: Path
) -> None:
    now = datetime.now(UTC)
    exposure = now - timedelta(days=10) + timedelta(seconds=20)  # close contact: 7 + 3 days
    ids = _people(800)
    province = _province(hub, home, tmp_path)
    province.start()
    try:
        held = [
            httpx.post(
                province.url + "/v1/applications",
                json={**applicant(), "id_number": n, "residence_region": "440106"},
                timeout=30,
            ).json()
            for n in ids[:3]
        ]
        contacts = [
            {
                "record_id": f"C{i}",
                "id_number": n,
                "kind": "close",
                "last_exposure_at": exposure.isoformat(),
                "identified_at": (now - timedelta(seconds=1)).isoformat(),
            }
            for i, n in enumerate(ids)
        ]
        _submit_many(hub, "contact", contacts)
        wait_for(
            "everyone evaluated", lambda: province.scalar("SELECT count(*) FROM colours") == 800
        )
        until = exposure + timedelta(days=10)
        naive = until.replace(tzinfo=None).isoformat(sep=" ")
        early = province.scalar(f"SELECT count(*) FROM colours WHERE evaluated_at < '{naive}'")
        early_red = province.scalar(
            f"SELECT count(*) FROM colours WHERE evaluated_at < '{naive}' AND colour = 'red'"
        )
        assert early == early_red  # red until the rule's time runs out
        wait_for("the until", lambda: datetime.now(UTC) >= until, timeout=30)
        province.kill9()  # the sweep is due: running, or about to
        reds = province.scalar("SELECT count(*) FROM colours WHERE colour = 'red'")
        assert reds in (0, early)  # one transaction: all or nothing
        province.start()  # the missed time fires on start-up
        wait_for(
            "everyone green",
            lambda: province.scalar("SELECT count(*) FROM colours WHERE colour = 'green'") == 800,
        )
        wait_for(
            "the outbox sent", lambda: province.scalar("SELECT count(*) FROM status_outbox") == 0
        )
    finally:
        province.stop()
    station = bearer(add_org(hub.db_url, "checkpoint", "110105", "station"))
    for person in held:
        answer = httpx.get(
            hub.url + "/v1/status", params={"pseudonym": person["pseudonym"]}, headers=station
        ).json()
        assert answer["colour"] == "green"
    assert (
        province.scalar(
            "SELECT count(*) FROM colours WHERE until IS NOT NULL AND until <= "
            f"'{datetime.now(UTC).replace(tzinfo=None).isoformat(sep=' ')}'"
        )
        == 0
    )
