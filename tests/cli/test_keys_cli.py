"""`healthcode keys ...` and `healthcode code issue`: a network from the command line."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from healthcode.cli.main import app
from healthcode.core.clock import parse_instant
from healthcode.core.codes.native import peek_code
from healthcode.core.trust.certs import dump_certificate, dump_private_key, make_root, make_signer

runner = CliRunner()
NOW = "2022-11-20T09:00"


def _run(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout


def _init(home: Path) -> None:
    _run("keys", "init", "--provinces", "110000,440000", "--home", str(home), "--now", NOW)


def test_init_list_rotate_revoke(tmp_path: Path) -> None:
    home = tmp_path / "net"
    _init(home)
    assert (home / "root.cert.pem").exists()
    signers = json.loads(_run("keys", "list", "--home", str(home), "--json"))
    assert sorted(s["province"] for s in signers) == ["110000", "440000"]
    out = _run("keys", "rotate", "--province", "440000", "--home", str(home), "--now", NOW)
    assert "new signer" in out
    states = {s["kid"]: s for s in json.loads(_run("keys", "list", "--home", str(home), "--json"))}
    assert sum(1 for s in states.values() if s["retired_at"]) == 1
    kid = next(k for k, s in states.items() if s["province"] == "110000")
    assert "revoked" in _run("keys", "revoke", "--kid", kid, "--home", str(home), "--now", NOW)
    assert "revoked" in _run(
        "keys", "revoke", "--serial", "aa" * 12, "--home", str(home), "--now", NOW
    )
    assert "revoked" in _run("keys", "list", "--home", str(home))


def test_init_twice_fails_with_the_code(tmp_path: Path) -> None:
    _init(tmp_path)
    result = runner.invoke(app, ["keys", "init", "--provinces", "440000", "--home", str(tmp_path)])
    assert result.exit_code == 1 and "NETWORK_EXISTS" in result.output


def test_revoke_needs_exactly_one_target(tmp_path: Path) -> None:
    _init(tmp_path)
    result = runner.invoke(app, ["keys", "revoke", "--home", str(tmp_path)])
    assert result.exit_code == 2


def test_home_from_environment_and_passphrase(tmp_path: Path) -> None:
    env = {"HEALTHCODE_HOME": str(tmp_path / "n"), "HEALTHCODE_KEY_PASSPHRASE": "pw"}
    result = runner.invoke(app, ["keys", "init", "--provinces", "440000", "--now", NOW], env=env)
    assert result.exit_code == 0, result.output
    key = next((tmp_path / "n" / "signers" / "440000").glob("*.key.pem")).read_bytes()
    assert b"ENCRYPTED" in key
    result = runner.invoke(app, ["code", "issue", "--province", "440000", "--now", NOW], env=env)
    assert result.exit_code == 0, result.output
    result = runner.invoke(
        app,
        ["code", "issue", "--province", "440000", "--now", NOW],
        env={"HEALTHCODE_HOME": str(tmp_path / "n")},
    )
    assert result.exit_code == 1 and "KEY_PASSPHRASE" in result.output


def test_code_issue_writes_qr_and_page(tmp_path: Path) -> None:
    _init(tmp_path)
    text = _run(
        "code",
        "issue",
        "--province",
        "440000",
        "--colour",
        "yellow",
        "--badge",
        "nat-48h",
        "--paper",
        "--png",
        str(tmp_path / "c.png"),
        "--page",
        str(tmp_path / "p.svg"),
        "--home",
        str(tmp_path),
        "--now",
        NOW,
    ).strip()
    p = peek_code(text)
    assert (p.colour, p.badges, p.masked_name, p.masked_id) == (
        "yellow",
        ("nat-48h",),
        "张*丰",
        "4401**********1234",
    )
    assert (tmp_path / "c.png").read_bytes()[:4] == b"\x89PNG"
    assert "<svg" in (tmp_path / "p.svg").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("valid_for", "lifetime"),
    [
        ("90s", timedelta(seconds=90)),
        ("30m", timedelta(minutes=30)),
        ("2h", timedelta(hours=2)),
        ("1d", timedelta(days=1)),
    ],
)
def test_code_issue_valid_for(tmp_path: Path, valid_for: str, lifetime: timedelta) -> None:
    _init(tmp_path)
    args = ["code", "issue", "--province", "440000", "--home", str(tmp_path), "--now", NOW]
    p = peek_code(_run(*args, "--valid-for", valid_for).strip())
    assert p.expires_at - p.issued_at == lifetime
    paper = peek_code(_run(*args, "--paper").strip())
    assert paper.expires_at - paper.issued_at == timedelta(days=1)


@pytest.mark.parametrize(
    ("valid_for", "code"),
    [
        ("2", "CODE_LIFETIME_INVALID"),
        ("0m", "CODE_LIFETIME_INVALID"),
        ("-5m", "CODE_LIFETIME_INVALID"),
        ("1.5h", "CODE_LIFETIME_INVALID"),
        ("2w", "CODE_LIFETIME_INVALID"),
        (" 2h", "CODE_LIFETIME_INVALID"),
        ("25h", "CODE_LIFETIME_TOO_LONG"),
        ("2d", "CODE_LIFETIME_TOO_LONG"),
        ("86401s", "CODE_LIFETIME_TOO_LONG"),
    ],
)
def test_code_issue_refuses_a_bad_or_long_validity(
    tmp_path: Path, valid_for: str, code: str
) -> None:
    _init(tmp_path)
    result = runner.invoke(
        app,
        [
            "code",
            "issue",
            "--province",
            "440000",
            "--home",
            str(tmp_path),
            "--now",
            NOW,
            "--valid-for",
            valid_for,
        ],
    )
    assert result.exit_code != 0 and f"error {code}" in result.output, result.output


def test_code_issue_never_outlives_the_signer(tmp_path: Path) -> None:
    _run(
        "keys",
        "init",
        "--provinces",
        "440000",
        "--home",
        str(tmp_path),
        "--now",
        NOW,
        "--signer-days",
        "1",
    )
    late = (parse_instant(NOW + "+08:00") + timedelta(hours=23)).isoformat()
    args = ["code", "issue", "--province", "440000", "--home", str(tmp_path), "--now", late]
    assert peek_code(_run(*args, "--valid-for", "30m").strip())
    result = runner.invoke(app, [*args, "--valid-for", "2h"])
    assert result.exit_code != 0 and "error CERT_EXPIRED" in result.output, result.output


def test_the_trust_state_is_in_the_shared_database(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'hub.db'}"
    home = str(tmp_path / "keys")
    _run("keys", "init", "--provinces", "440000", "--home", home, "--database", url, "--now", NOW)
    assert not (tmp_path / "keys" / "network.db").exists()  # the state is not beside the keys
    kid = json.loads(_run("keys", "list", "--home", home, "--database", url, "--json"))[0]["kid"]
    _run("keys", "revoke", "--kid", kid, "--home", home, "--database", url, "--now", NOW)
    out = _run("trust", "publish", "--home", home, "--database", url, "--now", NOW)
    assert "#1" in out
    missing = runner.invoke(app, ["keys", "list", "--home", home])  # no state beside the keys
    assert missing.exit_code == 1 and "NETWORK_MISSING" in missing.output


def test_a_home_of_the_earlier_layout_is_adopted(tmp_path: Path) -> None:
    """network.json beside the keys (before issue 9) moves into the state store once."""
    t = parse_instant(NOW + "+08:00")
    root = make_root(now=t - timedelta(days=1))
    signer = make_signer(
        root=root, province="440000", not_before=t, not_after=t + timedelta(days=90)
    )
    home = tmp_path / "old"
    (home / "signers" / "440000").mkdir(parents=True)
    (home / "root.key.pem").write_bytes(dump_private_key(root.private_key))
    (home / "root.cert.pem").write_bytes(dump_certificate(root.certificate))
    kid = signer.kid.hex()
    (home / "signers" / "440000" / f"{kid}.key.pem").write_bytes(
        dump_private_key(signer.private_key)
    )
    (home / "signers" / "440000" / f"{kid}.cert.pem").write_bytes(
        dump_certificate(signer.certificate)
    )
    state = {
        "provinces": ["440000"],
        "signers": {kid: {"province": "440000", "created_at": NOW, "retired_at": None}},
        "revoked_signers": {},
        "revoked_serials": {"aa" * 12: "2022-11-21T00:00:00+00:00"},
        "trust_list_sequence": 7,
        "rule_sets": {},
        "value_sets": {},
    }
    (home / "network.json").write_text(json.dumps(state), encoding="utf-8")
    listed = json.loads(_run("keys", "list", "--home", str(home), "--json"))
    assert [s["kid"] for s in listed] == [kid]
    assert not (home / "network.json").exists() and (home / "network.json.adopted").exists()
    assert "#8" in _run("trust", "publish", "--home", str(home))  # the counter goes on
    again = json.loads(_run("keys", "publisher", "list", "--home", str(home), "--json"))
    assert len(again) == 1 and not again[0]["revoked"]
