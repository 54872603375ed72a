"""The hub's Token Status Lists: indexes reported with colour states, earlier states of a person
superseded, revoked ones invalid, the signed list a checkpoint opens with the national root."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from hub_testdata import ENV, NOW, ASGISyncTransport, resident_id

from healthcode.config import Settings
from healthcode.core.clock import FixedClock
from healthcode.core.codes.status_list import (
    CHUNK_INDEXES,
    STATUS_INVALID,
    STATUS_SUPERSEDED,
    STATUS_VALID,
    list_uri,
)
from healthcode.core.trust.network import Network
from healthcode.core.trust.status_lists import open_status_list
from healthcode.hub.app import create_app
from healthcode.hub.services import Hub
from healthcode.store.db import Database
from healthcode.store.trust_state import SqlStateStore


@pytest.fixture
def network(tmp_path: Path, db: Database) -> Network:
    clock = FixedClock(NOW - timedelta(days=1))
    store = SqlStateStore(db, clock=clock)
    return Network.init(tmp_path / "net", store=store, provinces=["440000"], clock=clock)


@pytest.fixture
def sl_hub(db: Database, clock: FixedClock, network: Network) -> Hub:
    settings = Settings.from_env({**ENV, "HEALTHCODE_HOME": str(network.home)})
    return Hub.build(settings=settings, db=db, clock=clock)


@pytest.fixture
def sl_client(sl_hub: Hub) -> Iterator[httpx.Client]:
    with httpx.Client(transport=ASGISyncTransport(create_app(sl_hub)), base_url="http://t") as c:
        yield c


def _token(hub: Hub, kind: str, region: str = "440000") -> dict[str, str]:
    _, secret = hub.orgs.add(kind=kind, region_code=region, name=f"{kind} {region}")
    return {"Authorization": f"Bearer {secret}"}


def _register(client: httpx.Client, province: dict[str, str], seq: str) -> str:
    r = client.post(
        "/v1/registrations",
        json={"people": [{"id_number": resident_id(seq=seq)}]},
        headers=province,
    )
    assert r.status_code == 200, r.text
    pseudonym: str = r.json()["pseudonyms"][0]
    return pseudonym


def _report(
    client: httpx.Client, province: dict[str, str], *reports: dict[str, object]
) -> httpx.Response:
    return client.post("/v1/status", json={"reports": list(reports)}, headers=province)


def _state(
    serial: str, pseudonym: str, index: int, colour: str = "green", **kw: object
) -> dict[str, object]:
    return {
        "serial": serial,
        "pseudonym": pseudonym,
        "colour": colour,
        "since": "2022-11-19T08:00:00+08:00",
        "ruleset_version": "9.0",
        "status_index": index,
        **kw,
    }


def _list(
    client: httpx.Client, headers: dict[str, str], network: Network, chunk: int = 0
) -> list[int]:
    r = client.get(f"/v1/status-lists/440000/{chunk}", headers=headers)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/statuslist+cwt"
    token = open_status_list(r.content, root_cert=network.root.certificate)
    assert token.uri == list_uri("440000", chunk)
    assert token.status_list.size == CHUNK_INDEXES
    return [token.status_list.get(i) for i in range(8)]


def test_a_newer_colour_state_supersedes_the_older_ones(
    sl_client: httpx.Client, sl_hub: Hub, network: Network, clock: FixedClock
) -> None:
    gd, station = _token(sl_hub, "province"), _token(sl_hub, "checkpoint", "110105")
    anna, bo = _register(sl_client, gd, "123"), _register(sl_client, gd, "124")
    assert _report(sl_client, gd, _state("A0", anna, 0), _state("B1", bo, 1)).status_code == 200
    assert _list(sl_client, station, network)[:3] == [STATUS_VALID] * 3
    clock.advance(timedelta(minutes=10))  # past the ttl: the list is built again
    r = _report(sl_client, gd, _state("A2", anna, 2, "red"), _state("B3", bo, 3, revoked=True))
    assert r.status_code == 200, r.text
    # Bo's new state 3 is revoked; his state 1 is superseded by it all the same
    assert _list(sl_client, station, network)[:4] == [
        STATUS_SUPERSEDED,
        STATUS_SUPERSEDED,
        STATUS_VALID,
        STATUS_INVALID,
    ]
    index = sl_client.get("/v1/status-lists", headers=station).json()
    assert index["lists"] == [
        {
            "uri": list_uri("440000", 0),
            "province": "440000",
            "chunk": 0,
            "path": "/v1/status-lists/440000/0",
        }
    ]


def test_an_out_of_order_report_is_superseded_at_once(
    sl_client: httpx.Client, sl_hub: Hub, network: Network
) -> None:
    gd, station = _token(sl_hub, "province"), _token(sl_hub, "checkpoint", "110105")
    anna = _register(sl_client, gd, "123")
    assert _report(sl_client, gd, _state("A5", anna, 5, "red")).status_code == 200
    assert _report(sl_client, gd, _state("A4", anna, 4)).status_code == 200
    assert _list(sl_client, station, network)[4:6] == [STATUS_SUPERSEDED, STATUS_VALID]


def test_an_index_is_one_colour_state_only(sl_client: httpx.Client, sl_hub: Hub) -> None:
    gd = _token(sl_hub, "province")
    anna, bo = _register(sl_client, gd, "123"), _register(sl_client, gd, "124")
    assert _report(sl_client, gd, _state("A0", anna, 0)).status_code == 200
    r = _report(sl_client, gd, _state("B0", bo, 0))
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "STATUS_INDEX_TAKEN"
    assert _report(sl_client, gd, _state("A0", anna, 0)).status_code == 200  # a retry is safe
    for bad, code in (
        ("x", "FIELD_TYPE"),
        (-1, "VALUE_OUT_OF_RANGE"),
        (1 << 40, "VALUE_OUT_OF_RANGE"),
    ):
        r = _report(sl_client, gd, _state("B9", bo, bad))  # type: ignore[arg-type]
        assert r.status_code == 422 and r.json()["error"]["code"] == code


def test_a_serial_the_trust_state_revokes_is_invalid(
    sl_client: httpx.Client, sl_hub: Hub, network: Network, clock: FixedClock
) -> None:
    gd, station = _token(sl_hub, "province"), _token(sl_hub, "checkpoint", "110105")
    anna = _register(sl_client, gd, "123")
    serial = "0a" * 12
    assert _report(sl_client, gd, _state(serial, anna, 6)).status_code == 200
    network.revoke_serial(bytes.fromhex(serial), until=NOW + timedelta(days=1))
    assert _list(sl_client, station, network)[6] == STATUS_INVALID


def test_lists_need_a_token_and_a_province(sl_client: httpx.Client, sl_hub: Hub) -> None:
    assert sl_client.get("/v1/status-lists/440000/0").status_code == 401
    station = _token(sl_hub, "checkpoint", "110105")
    r = sl_client.get("/v1/status-lists/440106/0", headers=station)
    assert r.status_code == 422 and r.json()["error"]["code"] == "REGION_FORMAT"


def test_the_purge_keeps_the_states_a_list_still_needs(
    sl_client: httpx.Client, sl_hub: Hub, network: Network, clock: FixedClock
) -> None:
    from sqlalchemy import select

    from healthcode.hub.purge import PurgeService
    from healthcode.store.models import CodeStatus

    gd = _token(sl_hub, "province")
    anna, bo = _register(sl_client, gd, "123"), _register(sl_client, gd, "124")
    reports = [_state("A0", anna, 0), _state("B1", bo, 1), {**_state("X", bo, 0), "serial": "N"}]
    reports[2].pop("status_index")  # a report of an issued code: no place in a list
    assert _report(sl_client, gd, *reports).status_code == 200
    clock.advance(timedelta(days=40))
    network.rotate_publisher(clock=clock)  # the first one's weeks are over
    assert _report(sl_client, gd, _state("A2", anna, 2, "red")).status_code == 200
    purge = PurgeService.of_network(db=sl_hub.db, clock=clock, home=network.home, passphrase=None)
    purge.run()
    with sl_hub.db.read() as s:
        kept = set(s.execute(select(CodeStatus.serial)).scalars())
    # A0 superseded a moment ago (a paper code of it may live a day), B1 still valid
    assert kept == {"A0", "B1", "A2"}
    clock.advance(timedelta(days=2))
    purge.run()
    with sl_hub.db.read() as s:
        kept = set(s.execute(select(CodeStatus.serial)).scalars())
    assert kept == {"B1", "A2"}
