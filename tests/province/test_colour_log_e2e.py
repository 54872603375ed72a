"""End to end over real HTTP: the hub and a province as their own processes, keys made by
``healthcode keys init`` (log keys and witness key, the log registered with the witness). A
person turned red finds both changes in the log with proofs against a checkpoint the hub
cosigned; ``healthcode audit log URL`` audits the live log and saves a copy, which audits
offline, and a tampered copy fails; the hub's monitor route serves what it cosigned."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from live import LiveHub, add_org, cli
from live_province import LiveProvince, keys_init, wait_for
from province_testdata import applicant, nat_record

from healthcode.core.audit.checkpoint import open_checkpoint
from healthcode.core.audit.keys import log_key_path, log_origin, read_verifier, witness_key_path
from healthcode.core.audit.merkle import leaf_hash, verify_inclusion
from healthcode.core.audit.note import open_note
from healthcode.core.audit.tiles import decode_bundle, encode_bundle


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "keys"
    monkeypatch.setenv("HEALTHCODE_HOME", str(path))  # the hub finds its witness key there
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


@pytest.fixture
def province(hub: LiveHub, home: Path, tmp_path: Path) -> Iterator[LiveProvince]:
    live = LiveProvince(
        region="440000",
        hub_url=hub.url,
        hub_token=add_org(hub.db_url, "province", "440000", "province 440000"),
        hub_db=hub.db_url,
        home=home,
        folder=tmp_path,
        HEALTHCODE_PROVINCE_CHECKPOINT_SECONDS="0.2",
    )
    live.start()
    try:
        yield live
    finally:
        live.stop()


def _cosigned_size(province: LiveProvince, witness: object) -> int:
    r = httpx.get(province.url + "/log/checkpoint", timeout=10)
    if r.status_code != 200:
        return -1
    open_note(r.content, [witness])  # type: ignore[list-item]
    return int(r.content.split(b"\n")[1])


@pytest.mark.slow
def test_a_provinces_log_is_witnessed_proved_and_audited(
    hub: LiveHub, province: LiveProvince, home: Path, tmp_path: Path
) -> None:
    log_key = read_verifier(log_key_path(home, "440000").with_suffix(".vkey"))
    witness = read_verifier(witness_key_path(home).with_suffix(".vkey"))
    r = httpx.post(province.url + "/v1/applications", json=applicant(), timeout=30)
    assert r.status_code == 200, r.text
    person = r.json()
    lab = {"Authorization": f"Bearer {add_org(hub.db_url, 'lab', '440106', 'GZ lab')}"}
    sampled = (datetime.now(UTC) - timedelta(hours=2)).isoformat()
    record = nat_record("S-LOG-1", applicant()["id_number"], sampled_at=sampled)
    assert httpx.post(hub.url + "/v1/records/nat", json=record, headers=lab).status_code == 200
    wait_for(
        "a cosigned checkpoint of both changes", lambda: _cosigned_size(province, witness) >= 2
    )
    note = httpx.get(province.url + "/log/checkpoint").content
    checkpoint = open_checkpoint(note, [log_key], origin=log_origin("440000"))
    mine = httpx.get(
        province.url + "/v1/me/log", headers={"Authorization": f"Bearer {person['token']}"}
    ).json()
    assert [leaf["leaf"]["colour"] for leaf in mine["leaves"]] == ["green", "red"]
    for leaf in mine["leaves"]:
        proof = [base64.b64decode(h) for h in leaf["proof"]]
        data = base64.b64decode(leaf["data"])
        verify_inclusion(leaf_hash(data), leaf["index"], checkpoint.size, proof, checkpoint.root)
    digest = hashlib.sha256(log_origin("440000").encode()).hexdigest()
    monitored = httpx.get(f"{hub.url}/v1/witness/{digest}/checkpoint")
    assert monitored.status_code == 200
    assert open_checkpoint(monitored.content, [log_key]).size >= checkpoint.size

    copy = tmp_path / "copy"
    keys = ["--key", log_key.vkey, "--witness", witness.vkey]
    done = cli(hub.db_url, "audit", "log", province.url, *keys, "--save", str(copy))
    assert done.returncode == 0, done.stderr
    done = cli(hub.db_url, "audit", "log", str(copy), *keys, "--json")
    assert done.returncode == 0, done.stderr
    assert '"red": 1' in done.stdout
    bundle = next((copy / "tile" / "entries").rglob("*"))
    while bundle.is_dir():
        bundle = next(bundle.iterdir())
    entries = decode_bundle(bundle.read_bytes())
    entries[-1] = entries[-1].replace(b'"red"', b'"green"')
    bundle.write_bytes(encode_bundle(entries))
    done = cli(hub.db_url, "audit", "log", str(copy), *keys)
    assert done.returncode == 1 and "MERKLE_ROOT_MISMATCH" in done.stderr
