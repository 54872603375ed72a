"""``healthcode verify --trust`` with a VCI directory snapshot, and ``--shc-anchor``."""

from __future__ import annotations

import base64
import json
from pathlib import Path

from typer.testing import CliRunner

from healthcode.cli.main import app

runner = CliRunner()
ISSUER = "https://spec.smarthealth.cards/examples/issuer"


def _qr(testdata: Path, n: str) -> str:
    return (testdata / f"shc/example-{n}-f-qr-code-numeric-value-0.txt").read_text().strip()


def _snapshot(testdata: Path, tmp_path: Path) -> Path:
    base = testdata / "shc/issuer/.well-known"
    doc = {
        "issuer_info": [
            {
                "issuer": {"iss": ISSUER, "name": "Example"},
                "keys": json.loads((base / "jwks.json").read_text())["keys"],
                "crls": [json.loads(p.read_text()) for p in sorted((base / "crl").glob("*.json"))],
            }
        ]
    }
    path = tmp_path / "vci_snapshot.json"
    path.write_text(json.dumps(doc))
    return path


def test_directory_as_trust_source(testdata: Path, tmp_path: Path) -> None:
    args = ["verify", "--trust", str(_snapshot(testdata, tmp_path)), "--at", "2023-06-23T00:00:00Z"]
    args += ["--trust-store", str(tmp_path / "store"), "--json"]
    result = runner.invoke(app, [*args, _qr(testdata, "00"), _qr(testdata, "03")])
    assert result.exit_code == 1, result.output
    lines = [json.loads(line) for line in result.stdout.strip().splitlines()]
    assert [r["valid"] for r in lines] == [True, False]
    assert lines[1]["error_code"] == "REVOKED"
    jwks = json.loads((testdata / "shc/issuer/.well-known/jwks.json").read_text())
    [x5c] = [k["x5c"] for k in jwks["keys"] if k.get("x5c")]
    root = tmp_path / "root.der"
    root.write_bytes(base64.b64decode(x5c[-1]))
    result = runner.invoke(app, [*args, "--shc-anchor", str(root), _qr(testdata, "01")])
    assert result.exit_code == 1
    assert json.loads(result.stdout.strip())["error_code"] == "SHC_X5C_INVALID"


def test_issuer_list_without_keys_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "vci-issuers.json"
    path.write_text(json.dumps({"participating_issuers": [{"iss": ISSUER, "name": "x"}]}))
    result = runner.invoke(
        app, ["verify", "--trust", str(path), "--trust-store", str(tmp_path / "s"), "shc:/00"]
    )
    assert result.exit_code == 2 and "SHC_DIRECTORY_INVALID" in result.output
