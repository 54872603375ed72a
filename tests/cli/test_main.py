"""The ``healthcode`` entry point: help on every command, ``--version``, lazy command groups,
and the one error handler (one line ``error CODE: message``, exit 1 or 2, never a traceback)."""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest
import typer.main
from typer.testing import CliRunner

from healthcode.cli.main import COMMANDS, app

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[2]
FACTS = str(ROOT / "examples" / "facts-close-contact.json")
AT = "2022-11-20T09:00:00+08:00"
#: A metavar reads as a word or two in capitals (FILE, TEXT, CODE...), never as a Python type.
METAVAR = re.compile(r"[A-Z][A-Z_]*(\.\.\.)?")
PYTHON_TYPE = re.compile(r"<(str|int|bool|float|path|Path|list\[[^\]]*\])>|\b(TEXT|INTEGER)\b \[")


def _commands() -> list[tuple[list[str], Any]]:
    """Every command and group under ``healthcode``, with its path of names."""
    root = typer.main.get_command(app)
    found: list[tuple[list[str], Any]] = []

    def walk(path: list[str], command: Any) -> None:
        found.append((path, command))
        ctx = command.make_context("healthcode", [], resilient_parsing=True)
        for name in getattr(command, "list_commands", lambda _: [])(ctx):
            walk([*path, name], command.get_command(ctx, name))

    walk([], root)
    return found


def test_every_option_and_argument_has_help_and_a_word_for_its_value() -> None:
    problems = []
    for path, command in _commands():
        ctx = command.make_context("healthcode", [], resilient_parsing=True)
        for param in command.get_params(ctx):
            name = " ".join(["healthcode", *path, param.name or "?"])
            if param.hidden:
                continue
            if not param.help:
                problems.append(f"{name}: no help")
            if getattr(param, "is_flag", False):
                continue
            if not (param.metavar and METAVAR.fullmatch(param.metavar)):
                problems.append(f"{name}: metavar {param.metavar!r}")
    assert problems == []


def test_help_of_every_command_reads_as_words() -> None:
    commands = _commands()
    assert len(commands) > 20
    for path, _ in commands:
        result = runner.invoke(app, [*path, "--help"])
        assert result.exit_code == 0, (path, result.output)
        assert not PYTHON_TYPE.search(result.output), (path, result.output)


def test_the_list_of_commands_agrees_with_the_commands() -> None:
    root = typer.main.get_command(app)
    ctx = root.make_context("healthcode", [], resilient_parsing=True)
    for name, entry in COMMANDS.items():
        command = root.get_command(ctx, name)
        assert command.help.strip().splitlines()[0] == entry.help, name
    listed = runner.invoke(app, ["--help"]).output
    assert all(name in listed for name in COMMANDS)


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout == f"healthcode {version('healthcode')}\n"


HEAVY = ("sqlalchemy", "alembic", "fastapi", "uvicorn", "pydantic", "polars", "PIL", "zxingcpp")


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["rules", "explain", "--facts", FACTS, "--at", AT],
        ["verify", "--at", AT, "XX1:not a code"],
        ["keys", "list", "--home", "nowhere"],
    ],
    ids=["help", "rules explain", "verify", "keys"],
)
def test_a_command_imports_only_what_it_uses(args: list[str]) -> None:
    script = (
        "import json, sys\n"
        "from healthcode.cli.main import app\n"
        "try:\n"
        f"    app({args!r})\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(json.dumps(sorted(sys.modules)), file=sys.stderr)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    loaded = {m.split(".")[0] for m in json.loads(done.stderr.strip().splitlines()[-1])}
    assert loaded.isdisjoint(HEAVY), sorted(loaded & set(HEAVY))


# --- the error handler ------------------------------------------------------------------------


def _error(args: list[str], status: int, code: str, **kw: Any) -> str:
    result = runner.invoke(app, args, **kw)
    assert result.exit_code == status, result.output
    assert result.stdout == ""
    line = result.stderr
    assert line.startswith(f"error {code}: ") and line.count("\n") == 1, line
    assert "Traceback" not in line
    return line


def test_usage_errors_exit_2_with_one_line() -> None:
    line = _error(["--no-such-option"], 2, "USAGE")
    assert "--no-such-option" in line
    _error(["rules", "explain"], 2, "USAGE")  # missing --facts
    _error(["hub", "serve", "--workers", "0"], 2, "USAGE")
    _error(["rules", "explain", "--facts", FACTS, "--at", "soon"], 2, "TIME_FORMAT")
    _error(["rules", "explain", "--facts", FACTS, "--lang", "fr"], 2, "LANG_UNKNOWN")
    _error(["trust", "publish", "--hours", "-5"], 2, "USAGE")  # was a ValueError traceback
    _error(["keys", "init", "--provinces", "440000", "--signer-days", "9999999"], 2, "USAGE")
    _error(["code", "issue", "--province", "440000", "--colour", "purple"], 2, "USAGE")
    _error(["keys", "revoke"], 2, "USAGE")


def test_trust_material_named_by_an_option_is_a_usage_error(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage"
    garbage.write_bytes(b"not a certificate")
    _error(["trust", "show", str(garbage), "--root", str(garbage)], 2, "CERT_MALFORMED")
    _error(["verify", "--trust", str(garbage), "HC1:X"], 2, "DSC_INVALID")


def test_files_that_cannot_be_used(tmp_path: Path) -> None:
    svg = tmp_path / "code.svg"
    svg.write_text('<svg xmlns="http://www.w3.org/2000/svg"/>', encoding="utf-8")
    _error(["verify", "--image", str(svg)], 2, "QR_UNREADABLE")
    _error(["verify", "--image", str(tmp_path / "missing.png")], 2, "FILE_ERROR")
    _error(["verify", "--image", str(tmp_path)], 2, "FILE_ERROR")
    bad_json = tmp_path / "trust.json"
    bad_json.write_text("[1,", encoding="utf-8")
    _error(["verify", "--trust", str(bad_json), "HC1:X"], 2, "FILE_ERROR")
    bad_yaml = tmp_path / "rules.yaml"
    bad_yaml.write_text("a: [", encoding="utf-8")
    _error(["rules", "check", str(bad_yaml)], 2, "RULESET_UNREADABLE")
    _error(["rules", "check", str(tmp_path)], 2, "RULESET_UNREADABLE")
    _error(["rules", "explain", "--facts", str(tmp_path)], 2, "FACTS_UNREADABLE")
    _error(["trust", "show", str(tmp_path / "missing.cose")], 2, "FILE_ERROR")
    home = tmp_path / "file-not-dir"
    home.write_text("", encoding="utf-8")
    _error(["keys", "init", "--provinces", "440000", "--home", str(home / "x")], 2, "FILE_ERROR")


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_permission_denied(tmp_path: Path) -> None:
    facts = tmp_path / "facts.json"
    facts.write_text("{}", encoding="utf-8")
    facts.chmod(0)
    _error(["rules", "explain", "--facts", str(facts)], 2, "FACTS_UNREADABLE")


def test_refusals_exit_1(tmp_path: Path) -> None:
    _error(["keys", "list", "--home", str(tmp_path)], 1, "NETWORK_MISSING")
    facts = tmp_path / "facts.json"
    facts.write_text(json.dumps({"nat_results": [{"sampled_at": "soon"}]}), encoding="utf-8")
    # The code of a bad --at, but raised for a field of the facts: a refused record.
    _error(["rules", "explain", "--facts", str(facts), "--at", AT], 1, "TIME_FORMAT")


def test_a_database_that_cannot_be_reached(monkeypatch: pytest.MonkeyPatch) -> None:
    key = base64.b64encode(bytes(32)).decode()
    monkeypatch.setenv("HEALTHCODE_FIELD_KEY", key)
    monkeypatch.setenv("HEALTHCODE_PSEUDONYM_KEY", key)
    monkeypatch.setenv("HEALTHCODE_DATABASE_URL", "postgresql://nobody@127.0.0.1:1/x")
    _error(["hub", "migrate"], 2, "DATABASE_UNAVAILABLE")
    monkeypatch.setenv("HEALTHCODE_DATABASE_URL", "nosuchdialect://x")
    _error(["org", "list"], 2, "DATABASE_UNAVAILABLE")
    monkeypatch.delenv("HEALTHCODE_FIELD_KEY")
    _error(["hub", "migrate"], 2, "CONFIG_MISSING")
