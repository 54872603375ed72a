from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from typer.testing import CliRunner

from healthcode.cli.main import app
from healthcode.core.trust.certs import dump_private_key
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
    assert r.exit_code == 2 and "HEALTHCODE_HUB_SIGNING_KEY_FILE" in r.output
    key = ec.generate_private_key(ec.SECP256R1())
    (tmp_path / "hub.pem").write_bytes(dump_private_key(key))
    monkeypatch.setenv("HEALTHCODE_HUB_SIGNING_KEY_FILE", str(tmp_path / "hub.pem"))
    out = tmp_path / "statement.cose"
    r = runner.invoke(app, ["hub", "purge", "--out", str(out)])
    assert r.exit_code == 0, r.output
    statement = json.loads(r.output)
    assert statement["total"] == 0 and "records.nat" in statement["deleted"]
    assert verify_statement(out.read_bytes(), key.public_key()) == statement
