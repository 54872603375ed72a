"""``healthcode init``: a data folder with keys, secrets, tokens and a description; run again,
it keeps everything; the hub serves from it with nobody typing a key."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from healthcode.config import Settings
from healthcode.network.datadir import DataDir, org_specs
from healthcode.network.init import init_network

CLI = [sys.executable, "-m", "healthcode.cli.main"]


def _snapshot(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.suffix not in (".db", ".db-wal", ".db-shm") and p.name != ".lock"
    }


def test_init_makes_the_folder_and_again_keeps_it(tmp_path: Path) -> None:
    root = tmp_path / "net"
    first = init_network(root, base_port=18600)
    folder = first.folder
    assert folder.provinces == ["440000", "110000"]
    assert (folder.keys / "root.cert.pem").is_file()
    assert len(list((folder.keys / "signers").iterdir())) == 2
    assert list((folder.keys / "publishers").glob("*.key.pem"))
    for name in ("field", "pseudonym", "province-440000", "province-110000"):
        assert stat.S_IMODE((folder.secrets / f"{name}.key").stat().st_mode) == 0o600
    specs = org_specs(("440000", "110000"))
    assert {s.kind for s in specs} >= {"province", "checkpoint", "lab", "vaccination",
                                       "disease-control", "risk-authority"}  # fmt: skip
    for spec in specs:
        path = folder.token_path(spec.name)
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert folder.token(spec.name).startswith("hc_")
    doc = json.loads(folder.description_path.read_text())
    assert doc["hub"]["port"] == 18600 and doc["checkpoint"]["port"] == 18603
    assert doc["province_services"]["440000"]["database"] == "province-440000.db"
    before = _snapshot(root)
    second = init_network(root, base_port=19999)
    assert second.made == [] and _snapshot(root) == before
    assert DataDir.open(root).service("hub")["port"] == 18600


def test_a_lost_token_is_replaced_without_a_second_organisation(tmp_path: Path) -> None:
    folder = init_network(tmp_path / "net").folder
    folder.token_path("lab").unlink()
    again = init_network(tmp_path / "net")
    assert [line for line in again.made if "lab" in line]
    settings = Settings.from_env(folder.hub_environment({}))
    from healthcode.hub.orgs import OrgService
    from healthcode.store.db import Database

    orgs = OrgService(db=Database.from_url(settings.database_url), clock=_clock())
    labs = {t.org_id for t in orgs.tokens() if t.kind == "lab"}
    assert len(labs) == 1
    assert orgs.authenticate(folder.token("lab")).kind == "lab"


def _clock():  # type: ignore[no-untyped-def]
    from healthcode.core.clock import SystemClock

    return SystemClock()


def test_the_cli_prints_what_it_made(tmp_path: Path) -> None:
    root = tmp_path / "net"
    done = subprocess.run([*CLI, "init", str(root), "--base-port", "18700"],
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "made  key home" in done.stdout and "http://127.0.0.1:18700" in done.stdout
    again = subprocess.run([*CLI, "init", str(root)], capture_output=True, text=True, timeout=120)
    assert again.returncode == 0 and "made" not in again.stdout


def test_not_a_data_folder_is_a_usage_error(tmp_path: Path) -> None:
    done = subprocess.run([*CLI, "hub", "serve", "--data", str(tmp_path)],
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.returncode == 2 and "error FILE_ERROR" in done.stderr


@pytest.mark.slow
def test_hub_serve_reads_its_keys_from_the_data_folder(tmp_path: Path) -> None:
    from live_network import free_base_port

    folder = init_network(tmp_path / "net", base_port=free_base_port()).folder
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEALTHCODE_")}
    argv = [*CLI, "hub", "serve", "--data", str(folder.root)]
    proc = subprocess.Popen(
        argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        url = folder.url("hub")
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None and time.monotonic() < deadline
            try:
                if httpx.get(url + "/v1/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        headers = {"Authorization": f"Bearer {folder.token('checkpoint')}"}
        listed = httpx.get(url + "/v1/published/trust-list", headers=headers)
        assert listed.status_code == 200 and listed.headers["X-Sequence"]
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=20)
    assert f"hub on {folder.url('hub')}" in out


@pytest.mark.slow
def test_checkpoint_serve_reads_the_data_folder_and_starts_without_a_hub(tmp_path: Path) -> None:
    from live_network import free_base_port

    folder = init_network(tmp_path / "net", base_port=free_base_port()).folder
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEALTHCODE_")}
    argv = [*CLI, "checkpoint", "serve", "--data", str(folder.root)]
    proc = subprocess.Popen(
        argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        url = folder.url("checkpoint")
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None and time.monotonic() < deadline
            try:
                answer = httpx.get(url + "/v1/trust", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        assert answer.json()["trust_list"] is None  # the hub is not there: nothing taken yet
        assert answer.json()["last_refresh"]["error"] == "HUB_UNREACHABLE"
        check = httpx.post(url + "/v1/check", json={"code": "CN1:ABC"}).json()
        assert check["decision"] == "stop"
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=20)
    assert f"checkpoint on {folder.url('checkpoint')} (trust list: none yet)" in out
