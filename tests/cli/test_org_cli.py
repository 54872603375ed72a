from __future__ import annotations

import base64
from pathlib import Path

import pytest
from typer.testing import CliRunner

from healthcode.cli.main import app

KEY = base64.b64encode(bytes(range(32))).decode()


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEALTHCODE_DATABASE_URL", f"sqlite:///{tmp_path / 'hub.db'}")
    monkeypatch.setenv("HEALTHCODE_FIELD_KEY", KEY)
    monkeypatch.setenv("HEALTHCODE_PSEUDONYM_KEY", KEY)


def test_add_list_expire_revoke(env: None) -> None:
    runner = CliRunner()
    r = runner.invoke(app, ["org", "add", "--kind", "lab", "--region", "440106", "--name", "Lab"])
    assert r.exit_code == 0, r.output
    token = r.output.strip().splitlines()[-1]
    assert token.startswith("hc_")
    listed = runner.invoke(app, ["org", "list"]).output
    assert "lab\t440106\tLab\tactive" in listed and token not in listed
    assert runner.invoke(app, ["org", "expire", "1"]).exit_code == 0
    assert "expired" in runner.invoke(app, ["org", "list"]).output
    assert runner.invoke(app, ["org", "token", "1"]).output.startswith("hc_")
    assert runner.invoke(app, ["org", "revoke", "2"]).exit_code == 0
    assert "revoked" in runner.invoke(app, ["org", "list"]).output


def test_bad_input_and_missing_config(env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    runner = CliRunner()
    r = runner.invoke(app, ["org", "add", "--kind", "wizard", "--region", "440106", "--name", "x"])
    assert r.exit_code == 1 and "ORG_KIND_UNKNOWN" in r.output
    r = runner.invoke(
        app, ["org", "add", "--kind", "province", "--region", "440106", "--name", "x"]
    )
    assert r.exit_code == 1 and "ORG_REGION_NOT_PROVINCE" in r.output
    monkeypatch.delenv("HEALTHCODE_FIELD_KEY")
    r = runner.invoke(app, ["org", "list"])
    assert r.exit_code == 2 and "HEALTHCODE_FIELD_KEY" in r.output
