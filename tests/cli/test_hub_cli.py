from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from healthcode.cli.main import app
from healthcode.core.clock import SystemClock
from healthcode.core.trust.certs import load_certificate
from healthcode.hub.purge import verify_statement

KEY = base64.b64encode(bytes(range(32))).decode()


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEALTHCODE_DATABASE_URL", f"sqlite:///{tmp_path / 'hub.db'}")
    monkeypatch.setenv("HEALTHCODE_FIELD_KEY", KEY)
    monkeypatch.setenv("HEALTHCODE_PSEUDONYM_KEY", KEY)


def test_migrate_and_purge_writes_a_signed_statement(
    env: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["hub", "migrate"]).exit_code == 0
    r = runner.invoke(app, ["hub", "purge"])
    assert r.exit_code == 2 and "HEALTHCODE_HOME" in r.output
    home = tmp_path / "keys"
    monkeypatch.setenv("HEALTHCODE_HOME", str(home))
    r = runner.invoke(app, ["hub", "purge"])  # a key home, but no network in the database
    assert r.exit_code == 1 and "NETWORK_MISSING" in r.output
    r = runner.invoke(app, ["keys", "init", "--provinces", "440000"])  # the hub's database
    assert r.exit_code == 0, r.output
    out = tmp_path / "statement.cose"
    r = runner.invoke(app, ["hub", "purge", "--out", str(out)])
    assert r.exit_code == 0, r.output
    statement = json.loads(r.output)
    assert statement["total"] == 0 and "records.nat" in statement["deleted"]
    root = load_certificate((home / "root.cert.pem").read_bytes())
    assert verify_statement(out.read_bytes(), root_cert=root, clock=SystemClock()) == statement
