"""The colour log in the province (SQLite, and PostgreSQL when configured): every colour change
a leaf in its transaction (scalar and columnar paths, decisions), rolled back with it;
checkpoints cosigned by the hub's witness; a person's inclusion proofs; consistency proofs; the
public routes."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from hub_testdata import ENV, ASGISyncTransport
from province_testdata import applicant, nat_record, province_settings
from sqlalchemy import func, select

from healthcode.config import Settings
from healthcode.core.audit.checkpoint import open_checkpoint
from healthcode.core.audit.keys import (
    ensure_log_keys,
    log_key_path,
    log_origin,
    read_verifier,
    witness_key_path,
)
from healthcode.core.audit.leaf import decode_leaf
from healthcode.core.audit.merkle import leaf_hash, verify_consistency, verify_inclusion
from healthcode.core.audit.note import NoteVerifier, open_note
from healthcode.core.clock import FixedClock
from healthcode.hub.app import create_app as create_hub_app
from healthcode.hub.batches import Located
from healthcode.hub.services import Hub
from healthcode.province.app import create_app
from healthcode.province.changes import ColourChange
from healthcode.province.models import COLOUR_LOG, Colour
from healthcode.province.service import ProvinceService
from healthcode.store.db import Database

REGION = "440000"


@pytest.fixture
def keys(tmp_path: Path) -> Path:
    home = tmp_path / "keys"
    ensure_log_keys(home, [REGION])
    return home


def _vkey(path: Path) -> NoteVerifier:
    return read_verifier(path.with_suffix(".vkey"))


@pytest.fixture
def hub(db: Database, clock: FixedClock, keys: Path) -> Hub:
    env = {**ENV, "HEALTHCODE_WITNESS_KEY": str(witness_key_path(keys))}
    hub = Hub.build(settings=Settings.from_env(env), db=db, clock=clock)
    vkey = _vkey(log_key_path(keys, REGION)).vkey
    hub.witness.register(origin=log_origin(REGION), vkey=vkey, province=REGION)
    return hub


@pytest.fixture
def province(
    hub: Hub, province_db: Database, clock: FixedClock, org: Callable[..., str], keys: Path
) -> Iterator[ProvinceService]:
    settings = province_settings(
        org("province", REGION),
        HEALTHCODE_PROVINCE_LOG_KEY=log_key_path(keys, REGION),
        HEALTHCODE_PROVINCE_WITNESS_KEY=_vkey(witness_key_path(keys)).vkey,
    )
    service = ProvinceService.build(
        settings=settings,
        db=province_db,
        clock=clock,
        transport=ASGISyncTransport(create_hub_app(hub)),
    )
    yield service
    service.close()


def _leaves(province: ProvinceService) -> list[dict[str, Any]]:
    with province.db.read() as s:
        rows = s.execute(select(COLOUR_LOG.leaves.c.data).order_by(COLOUR_LOG.leaves.c.idx))
        return [decode_leaf(bytes(r)).to_dict() for r in rows.scalars()]


def _submit(hub: Hub, org: Callable[..., str], kind: str, *records: dict[str, Any]) -> None:
    who = {"nat": "lab", "itinerary": "itinerary"}[kind]
    principal = hub.orgs.authenticate(org(who, "440106"))
    hub.ingest.submit(principal, kind, [Located({"index": i}, r) for i, r in enumerate(records)])


def _scan(seq: str, region: str = "440106") -> dict[str, Any]:
    return {
        "record_id": f"V{seq}",
        "id_number": applicant(seq=seq)["id_number"],
        "region_code": region,
        "at": "2022-11-19T10:00:00+08:00",
        "source": "transport_ticket",  # precise; a venue scan alone is weak evidence
    }


def _designate(hub: Hub, org: Callable[..., str], document: str) -> None:
    authority = hub.orgs.authenticate(org("risk-authority", "440106"))
    hub.risk_areas.designate(
        authority,
        {
            "region_code": "440106",
            "level": "high",
            "effective_from": "2022-11-19T00:00:00+08:00",
            "document": document,
        },
    )


def test_every_colour_change_is_a_leaf_with_the_rules_that_gave_it(
    province: ProvinceService, hub: Hub, org: Callable[..., str]
) -> None:
    person = province.applications.apply(applicant())
    subject = province.colour_log.subject(person["pseudonym"])  # type: ignore[union-attr]
    [first] = _leaves(province)
    assert (first["subject"], first["colour"], first["basis"]) == (subject, "green", "rule")
    assert first["reasons"] == [] and first["decision"] is None
    _submit(hub, org, "nat", nat_record("S1", applicant()["id_number"]))
    province.pull_all()
    with province.db.read() as s:
        row = s.get(Colour, person["pseudonym"])
    assert row is not None and row.colour == "red"
    second = _leaves(province)[1]
    assert second["colour"] == "red" and second["reasons"] == ["RED_NAT_POSITIVE"]
    assert second["ruleset"] == row.ruleset_digest
    assert person["pseudonym"] not in str(_leaves(province))  # only the keyed subject
    province.pull_all()  # nothing new: no leaf
    assert len(_leaves(province)) == 2


def _refuse(session: object, changes: object, now: object) -> None:
    raise RuntimeError("refused after the log appended")


def test_a_rolled_back_change_takes_its_leaf_with_it_scalar_path(
    province: ProvinceService, hub: Hub, org: Callable[..., str]
) -> None:
    province.applications.apply(applicant())
    province.changes.add(_refuse)  # after the log's listener: the leaf was appended
    _submit(hub, org, "nat", nat_record("S1", applicant()["id_number"]))
    with pytest.raises(RuntimeError):
        province.pull_once()
    assert [leaf["colour"] for leaf in _leaves(province)] == ["green"]
    with province.db.read() as s:
        assert province.colour_log.log.size(s) == 1  # type: ignore[union-attr]


def test_the_columnar_path_logs_its_changes_and_rolls_them_back(
    province: ProvinceService, hub: Hub, org: Callable[..., str], clock: FixedClock
) -> None:
    province.applications.apply(applicant(seq="201"))
    province.applications.apply(applicant(seq="202"))
    _submit(hub, org, "itinerary", _scan("201"), _scan("202", "440303"))
    province.pull_all()
    clock.advance(timedelta(minutes=1))
    province.changes.add(_refuse)
    _designate(hub, org, "穗防控〔2022〕1号")
    with pytest.raises(RuntimeError):
        province.pull_once()
    assert len(_leaves(province)) == 2  # the two first colours only
    province.changes = type(province.changes)([province.colour_log.record])  # type: ignore[union-attr]
    province.pull_all()
    leaves = _leaves(province)
    assert len(leaves) == 3
    assert (leaves[2]["colour"], leaves[2]["reasons"]) == ("red", ["RED_HIGH_RISK_OUTFLOW"])


def test_a_decision_is_logged_with_its_id(province: ProvinceService) -> None:
    person = province.applications.apply(applicant())
    now = province.clock.now()
    with province.db.write() as s:
        row = s.get(Colour, person["pseudonym"])
        assert row is not None
        row.colour = "yellow"
        change = ColourChange(
            person["pseudonym"], "green", "yellow", None, basis="decision", decision="MD-2022-17"
        )
        province.changes(s, [change], now)
    last = _leaves(province)[-1]
    assert (last["basis"], last["decision"], last["colour"]) == ("decision", "MD-2022-17", "yellow")


def _checkpoint(province: ProvinceService, keys: Path) -> Any:
    note = province.colour_log.served_checkpoint()  # type: ignore[union-attr]
    log_key, witness = _vkey(log_key_path(keys, REGION)), _vkey(witness_key_path(keys))
    open_note(note, [witness])  # the witness cosigned it
    return open_checkpoint(note, [log_key], origin=log_origin(REGION)), note


def test_checkpoints_are_cosigned_and_a_person_proves_each_of_their_leaves(
    province: ProvinceService, hub: Hub, org: Callable[..., str], keys: Path
) -> None:
    person = province.applications.apply(applicant())
    province.applications.apply(applicant(seq="301"))
    assert province.checkpoint_once() == 2
    first, first_note = _checkpoint(province, keys)
    _submit(hub, org, "nat", nat_record("S1", applicant()["id_number"]))
    province.pull_all()
    assert province.checkpoint_once() == 3
    assert province.checkpoint_once() == 3  # nothing new: nothing signed or submitted
    now, note = _checkpoint(province, keys)
    transport = ASGISyncTransport(create_app(province))
    client = httpx.Client(transport=transport, base_url="http://province.test")
    r = client.get("/log/checkpoint")
    assert r.status_code == 200 and r.content == note
    assert r.headers["content-type"] == "text/plain; charset=utf-8"
    assert r.headers["cache-control"] == "public, max-age=1"
    mine = client.get("/v1/me/log", headers={"Authorization": f"Bearer {person['token']}"})
    assert mine.status_code == 200
    body = mine.json()
    assert body["checkpoint"].encode() == note
    assert [leaf["leaf"]["colour"] for leaf in body["leaves"]] == ["green", "red"]
    for leaf in body["leaves"]:
        proof = [base64.b64decode(h) for h in leaf["proof"]]
        data = base64.b64decode(leaf["data"])
        assert decode_leaf(data).subject == body["subject"]
        verify_inclusion(leaf_hash(data), leaf["index"], now.size, proof, now.root)
    cons = client.get("/log/consistency", params={"from": first.size})
    proof = [base64.b64decode(line) for line in cons.text.split()]
    verify_consistency(first.size, now.size, proof, first.root, now.root)
    tile = client.get("/log/tile/0/000.p/3")
    assert tile.status_code == 200 and len(tile.content) == 96
    assert "immutable" in tile.headers["cache-control"]
    assert client.get("/log/tile/0/000.p/4").json()["error"]["code"] == "TILE_MISSING"
    assert client.get("/log/tile/9/zzz").status_code == 422
    assert client.get("/v1/me/log").status_code == 401
    assert first_note != note


def test_a_leaf_not_yet_checkpointed_has_no_proof(province: ProvinceService) -> None:
    person = province.applications.apply(applicant())
    assert province.checkpoint_once() == 1
    province.applications.apply(applicant(seq="302"))
    with province.db.write() as s:  # a second change of the same person, after the checkpoint
        row = s.get(Colour, person["pseudonym"])
        assert row is not None
        row.colour = "red"
        change = ColourChange(person["pseudonym"], "green", "red", None)
        province.changes(s, [change], province.clock.now())
    body = province.colour_log.person(person["pseudonym"])  # type: ignore[union-attr]
    assert [leaf["proof"] is None for leaf in body["leaves"]] == [False, True]


def test_without_a_witness_the_log_serves_what_it_signed(
    hub: Hub, province_db: Database, clock: FixedClock, org: Callable[..., str], keys: Path
) -> None:
    settings = province_settings(
        org("province", REGION), HEALTHCODE_PROVINCE_LOG_KEY=log_key_path(keys, REGION)
    )
    service = ProvinceService.build(settings=settings, db=province_db, clock=clock)
    try:
        assert service.colour_log is not None and service.colour_log.witness is None
        with pytest.raises(Exception) as caught:
            service.colour_log.served_checkpoint()
        assert getattr(caught.value, "code", None) == "TILE_MISSING"
        assert service.checkpoint_once() == 0
        assert (
            open_checkpoint(
                service.colour_log.served_checkpoint(), [_vkey(log_key_path(keys, REGION))]
            ).size
            == 0
        )
    finally:
        service.close()


def test_the_hub_records_what_it_cosigned(province: ProvinceService, hub: Hub) -> None:
    province.applications.apply(applicant())
    province.checkpoint_once()
    [entry] = hub.witness.logs()
    assert (entry["origin"], entry["size"]) == (log_origin(REGION), 1)
    with hub.db.read() as s:
        from healthcode.store.models import WitnessLog

        assert s.execute(select(func.count()).select_from(WitnessLog)).scalar_one() == 1
