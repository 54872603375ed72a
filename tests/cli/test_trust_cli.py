"""`healthcode trust publish|show` and verifying an issued code with the published list."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from healthcode.cli.main import app
from healthcode.core.clock import FixedClock, parse_instant
from healthcode.core.trust.certs import load_certificate
from healthcode.core.trust.envelope import open_envelope

runner = CliRunner()
NOW = "2022-11-20T09:00"


def _run(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout


def test_publish_show_and_verify(tmp_path: Path) -> None:
    home = str(tmp_path)
    _run("keys", "init", "--provinces", "110000,440000", "--home", home, "--now", NOW)
    assert "#1" in _run("trust", "publish", "--home", home, "--now", NOW)
    out = tmp_path / "tl.cose"
    assert "#2" in _run("trust", "publish", "--home", home, "--now", NOW, "--out", str(out))
    shown = json.loads(_run("trust", "show", str(out), "--home", home, "--now", NOW, "--json"))
    assert shown["sequence"] == 2 and len(shown["content"]["signers"]) == 2
    publishers = json.loads(_run("keys", "publisher", "list", "--home", home, "--json"))
    assert shown["publisher"] == publishers[0]["kid"] and shown["revoked_publishers"] == []
    human = _run("trust", "show", str(out), "--home", home, "--now", NOW)
    assert "trust list #2" in human and "440000" in human

    # The signed list is what the checkpoint verifies with (the bare content is refused).
    code = _run("code", "issue", "--province", "440000", "--home", home, "--now", NOW).strip()
    root = str(tmp_path / "root.cert.pem")
    result = runner.invoke(
        app, ["verify", code, "--trust", str(out), "--national-root", root, "--at", NOW]
    )
    assert result.exit_code == 0, result.output
    assert "VALID" in result.stdout and "issuer=440000" in result.stdout

    doc = open_envelope(
        out.read_bytes(),
        root_cert=load_certificate((tmp_path / "root.cert.pem").read_bytes()),
        kind="trust-list",
        clock=FixedClock(parse_instant(NOW)),
    )
    content = tmp_path / "tl.json"
    content.write_bytes(doc.content)
    result = runner.invoke(
        app, ["verify", code, "--trust", str(content), "--national-root", root, "--at", NOW]
    )
    assert result.exit_code == 2
    assert "TRUSTLIST_UNSIGNED" in result.output


def test_show_refuses_stale_and_foreign_lists(tmp_path: Path) -> None:
    home = str(tmp_path / "a")
    _run("keys", "init", "--provinces", "440000", "--home", home, "--now", NOW)
    _run("trust", "publish", "--home", home, "--now", NOW, "--hours", "1")
    published = str(tmp_path / "a" / "published" / "trust-list.cose")
    late = "2022-11-20T14:00"
    result = runner.invoke(
        app, ["trust", "show", published, "--home", home, "--now", late, "--max-stale-hours", "1"]
    )
    assert result.exit_code == 1 and "ENVELOPE_EXPIRED" in result.output
    result = runner.invoke(
        app, ["trust", "show", published, "--home", home, "--now", late, "--max-stale-hours", "6"]
    )
    assert result.exit_code == 0 and "STALE" in result.stdout
    other = str(tmp_path / "b")
    _run("keys", "init", "--provinces", "440000", "--home", other, "--now", NOW)
    result = runner.invoke(app, ["trust", "show", published, "--home", other, "--now", NOW])
    assert result.exit_code == 1 and "ENVELOPE_PUBLISHER_INVALID" in result.output
