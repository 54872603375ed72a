"""``healthcode verify`` as a checkpoint: its trust store refuses rollback between runs, and every
input gets a result line however malformed it is."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import Result
from typer.testing import CliRunner

from healthcode.cli.main import app
from healthcode.core.verify.shc import encode_numeric

runner = CliRunner()
NOW = "2022-11-20T09:00"
REVOKED_AT = "2022-11-20T09:01"
LATER = "2022-11-20T09:02"  # a native code lives five minutes
HEALTHCODE = Path(sys.executable).parent / "healthcode"


def _ok(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout


class Network:
    """A network of one province: a code, list #1 (before its signer is revoked) and list #2."""

    def __init__(self, tmp_path: Path) -> None:
        home = str(tmp_path / "net")
        self.root = tmp_path / "net" / "root.cert.pem"
        self.list1, self.list2 = tmp_path / "list1.cose", tmp_path / "list2.cose"
        _ok("keys", "init", "--provinces", "440000", "--home", home, "--now", NOW)
        _ok("trust", "publish", "--home", home, "--now", NOW, "--out", str(self.list1))
        self.code = _ok("code", "issue", "--province", "440000", "--home", home, "--now", NOW)
        self.code = self.code.strip()
        self.kid = json.loads(
            self.verify(tmp_path / "scratch", self.list1, "--national-root", str(self.root)).stdout
        )["kid"]
        _ok("keys", "revoke", "--kid", self.kid, "--home", home, "--now", REVOKED_AT)
        _ok("trust", "publish", "--home", home, "--now", REVOKED_AT, "--out", str(self.list2))

    def verify(self, store: Path, trust: Path | None, *extra: str) -> Result:
        args = ["verify", self.code, "--trust-store", str(store), "--at", LATER, "--json"]
        return runner.invoke(app, [*args, *(["--trust", str(trust)] if trust else []), *extra])


@pytest.fixture(scope="module")
def network(tmp_path_factory: pytest.TempPathFactory) -> Network:
    return Network(tmp_path_factory.mktemp("network"))


def _answer(result: Result) -> tuple[bool, str | None]:
    out = json.loads(result.stdout)
    return out["valid"], out["error_code"]


def test_an_older_list_is_refused_and_the_held_one_still_used(
    network: Network, tmp_path: Path
) -> None:
    """Regression: --trust opened whatever list it was given, so last month's list (before the
    revocation) got the revoked signer's codes accepted."""
    store = tmp_path / "checkpoint"
    first = network.verify(store, network.list2, "--national-root", str(network.root))
    assert first.exit_code == 1 and _answer(first) == (False, "KEY_REVOKED")
    assert "took trust list #2" in first.stderr and "trust list #2, issued" in first.stderr

    rolled_back = network.verify(store, network.list1, "--national-root", str(network.root))
    assert rolled_back.exit_code == 2 and rolled_back.stdout == ""
    assert rolled_back.stderr.startswith("error ENVELOPE_ROLLBACK:")
    assert "keeps trust list #2" in rolled_back.stderr

    # The held list #2 is still the one used, without --trust and without --national-root.
    again = network.verify(store, None)
    assert again.exit_code == 1 and _answer(again) == (False, "KEY_REVOKED")
    assert "trust list #2" in again.stderr and "ago" in again.stderr


def test_the_same_list_again_is_taken_quietly(network: Network, tmp_path: Path) -> None:
    store = tmp_path / "checkpoint"
    root = ("--national-root", str(network.root))
    network.verify(store, network.list1, *root)
    again = network.verify(store, network.list1, *root)
    assert again.exit_code == 0 and "took" not in again.stderr
    assert network.verify(store, network.list2, *root).exit_code == 1  # newer: taken


def test_the_store_survives_between_processes(network: Network, tmp_path: Path) -> None:
    store = tmp_path / "checkpoint"
    env = {k: v for k, v in os.environ.items() if k != "HEALTHCODE_TRUST_STORE"}
    env["XDG_DATA_HOME"] = str(tmp_path / "data")  # the default store, inside the test's folder

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        argv = [str(HEALTHCODE), "verify", network.code, "--at", LATER, "--json", *args]
        return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60)

    root = ("--national-root", str(network.root))
    taken = run("--trust-store", str(store), "--trust", str(network.list2), *root)
    assert taken.returncode == 1, taken.stderr
    refused = run("--trust-store", str(store), "--trust", str(network.list1), *root)
    assert refused.returncode == 2 and "ENVELOPE_ROLLBACK" in refused.stderr
    held = run("--trust-store", str(store))
    assert held.returncode == 1 and json.loads(held.stdout)["error_code"] == "KEY_REVOKED"
    # Without --trust-store, the default store is under $XDG_DATA_HOME.
    assert run("--trust", str(network.list2), *root).returncode == 1
    assert (tmp_path / "data" / "healthcode" / "trust" / "trust-list.cose").is_file()
    assert run("--trust", str(network.list1), *root).returncode == 2


def test_a_held_list_past_the_tolerance_stops_the_run(network: Network, tmp_path: Path) -> None:
    store = tmp_path / "checkpoint"
    network.verify(store, network.list2, "--national-root", str(network.root))
    days_later = ["verify", network.code, "--trust-store", str(store), "--at", "2022-11-23T09:00"]
    result = runner.invoke(app, days_later)
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.startswith("error ENVELOPE_EXPIRED: trust list #2, issued")
    tolerant = runner.invoke(app, [*days_later, "--max-stale-hours", "72"])
    assert tolerant.exit_code == 1 and "expired" in tolerant.stderr  # the code itself expired


def test_another_national_root_is_refused(network: Network, tmp_path: Path) -> None:
    store = tmp_path / "checkpoint"
    network.verify(store, network.list1, "--national-root", str(network.root))
    other = tmp_path / "other"
    _ok("keys", "init", "--provinces", "110000", "--home", str(other), "--now", NOW)
    result = network.verify(store, None, "--national-root", str(other / "root.cert.pem"))
    assert result.exit_code == 2 and "TRUST_STORE_ROOT_MISMATCH" in result.stderr


def test_no_store_and_no_list_verifies_without_native_trust(
    network: Network, tmp_path: Path
) -> None:
    result = network.verify(tmp_path / "empty", None)
    assert result.exit_code == 1 and _answer(result) == (False, "KEY_NOT_IN_TRUST_LIST")
    assert result.stderr == "" and not (tmp_path / "empty").exists()


# --- one bad input never stops the others ------------------------------------------------------


def _dcc(testdata: Path, tmp_path: Path) -> tuple[list[str], str]:
    vector = json.loads((testdata / "dcc/AT/1.json").read_text())
    ctx = vector["TESTCTX"]
    cert = tmp_path / "dsc.der"
    cert.write_bytes(base64.b64decode(ctx["CERTIFICATE"]))
    schema = testdata / "dcc-schema" / "DCC.combined-schema.json"
    args = ["verify", "--trust", str(cert), "--dcc-schema", str(schema)]
    return [*args, "--at", str(ctx["VALIDATIONCLOCK"]), "--json"], str(vector["PREFIX"])


def _bracket_card(testdata: Path) -> str:
    _, payload, signature = (testdata / "shc/example-00-d-jws.txt").read_text().strip().split(".")
    header = base64.urlsafe_b64encode(b"[" * 1000).rstrip(b"=").decode()
    return encode_numeric(f"{header}.{payload}.{signature}")


def test_bad_lines_on_stdin_each_get_a_result(testdata: Path, tmp_path: Path) -> None:
    """Regression: a line that is not UTF-8, or a card that broke a stage, ended the whole run
    with a traceback and no results."""
    args, valid = _dcc(testdata, tmp_path)
    lines = [
        valid.encode(),
        b"HC1:\xff\xfe not utf-8",
        b"shc:/1/x/00",
        _bracket_card(testdata).encode(),
        b"shc:/" + b"1" * 5000 + b"/2/00",
        b"HC1:" + b"A" * 100_000,
        b"   ",
        valid.encode(),
    ]
    result = runner.invoke(app, args, input=b"\n".join(lines) + b"\n")
    assert result.exit_code == 1, result.output
    answers = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(a["valid"], a["error_code"]) for a in answers] == [
        (True, None),
        (False, "TEXT_NOT_UNICODE"),
        (False, "SHC_NUMERIC_INVALID"),
        (False, "JWS_MALFORMED"),
        (False, "SHC_NUMERIC_INVALID"),
        (False, "TEXT_TOO_LONG"),
        (True, None),
    ]


def test_human_lines_for_bad_inputs(testdata: Path, tmp_path: Path) -> None:
    args, valid = _dcc(testdata, tmp_path)
    args.remove("--json")
    result = runner.invoke(app, [*args, valid, _bracket_card(testdata), "CN1:\ud800"])
    assert result.exit_code == 1
    out = result.stdout.splitlines()
    assert out[0].startswith("VALID") and len(out) == 3
    assert out[1].startswith("INVALID shc") and "jws: JWS_MALFORMED" in out[1]
    assert "prefix: TEXT_NOT_UNICODE" in out[2]
