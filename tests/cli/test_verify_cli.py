"""``healthcode verify``: exit codes 0/1/2 and the JSON shape, on the shared vectors in place."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import segno
from typer.testing import CliRunner

from healthcode.cli.main import app

runner = CliRunner()
SHC_ISSUER = "https://spec.smarthealth.cards/examples/issuer"


def dcc_vector(testdata: Path, name: str) -> dict[str, object]:
    data: dict[str, object] = json.loads((testdata / "dcc" / name).read_text())
    return data


def dcc_args(testdata: Path, tmp_path: Path, name: str) -> list[str]:
    v = dcc_vector(testdata, name)
    ctx = v["TESTCTX"]
    assert isinstance(ctx, dict)
    cert = tmp_path / "dsc.der"
    cert.write_bytes(base64.b64decode(ctx["CERTIFICATE"]))
    schema = testdata / "dcc-schema" / "DCC.combined-schema.json"
    at = str(ctx["VALIDATIONCLOCK"])
    return ["verify", "--trust", str(cert), "--dcc-schema", str(schema), "--at", at, "--json"]


def test_valid_dcc_exit_0_and_json(testdata: Path, tmp_path: Path) -> None:
    v = dcc_vector(testdata, "AT/1.json")
    result = runner.invoke(app, [*dcc_args(testdata, tmp_path, "AT/1.json"), str(v["PREFIX"])])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output.strip())
    assert {"valid", "format", "stage", "error_code", "colour", "payload"} <= out.keys()
    assert (out["valid"], out["format"], out["stage"]) == (True, "dcc", None)
    assert out["payload"]["ver"] == "1.0.0"


def test_invalid_exit_1_one_line_per_input(testdata: Path, tmp_path: Path) -> None:
    v = dcc_vector(testdata, "AT/1.json")
    args = dcc_args(testdata, tmp_path, "AT/1.json")
    result = runner.invoke(app, [*args, str(v["PREFIX"]), "HC1:NOT*BASE45!"])
    assert result.exit_code == 1
    lines = [json.loads(line) for line in result.output.strip().splitlines()]
    assert [r["valid"] for r in lines] == [True, False]
    assert (lines[1]["stage"], lines[1]["error_code"]) == ("base45", "BASE45_INVALID")


def test_stdin_one_per_line(testdata: Path, tmp_path: Path) -> None:
    v = dcc_vector(testdata, "AT/1.json")
    args = dcc_args(testdata, tmp_path, "AT/1.json")
    result = runner.invoke(app, args, input=f"{v['PREFIX']}\n{v['PREFIX']}\n")
    assert result.exit_code == 0
    assert len(result.output.strip().splitlines()) == 2


def test_image(testdata: Path, tmp_path: Path) -> None:
    v = dcc_vector(testdata, "AT/1.json")
    png = tmp_path / "code.png"
    png.write_bytes(base64.b64decode(str(v["2DCODE"])))
    result = runner.invoke(app, [*dcc_args(testdata, tmp_path, "AT/1.json"), "--image", str(png)])
    assert result.exit_code == 0, result.output


def test_shc_with_jwks_and_chunked_stdin(testdata: Path) -> None:
    jwks = testdata / "shc/issuer/.well-known/jwks.json"
    chunks = sorted((testdata / "shc").glob("example-02-f-qr-code-numeric-value-*.txt"))
    text = "\n".join(p.read_text().strip() for p in chunks)
    base = ["verify", "--trust", str(jwks), "--shc-issuer", SHC_ISSUER, "--at", "2023-06-23T00:00Z"]
    result = runner.invoke(app, [*base, "--json"], input=text + "\n")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["format"] == "shc"
    revoked = (testdata / "shc/example-03-f-qr-code-numeric-value-0.txt").read_text().strip()
    result = runner.invoke(app, [*base, revoked])
    assert result.exit_code == 1
    assert "REVOKED" in result.output


def test_usage_errors_exit_2(testdata: Path, tmp_path: Path) -> None:
    assert runner.invoke(app, ["verify", "--at", "yesterday", "HC1:X"]).exit_code == 2
    assert runner.invoke(app, ["verify"], input="").exit_code == 2
    jwks = testdata / "shc/issuer/.well-known/jwks.json"
    assert runner.invoke(app, ["verify", "--trust", str(jwks), "shc:/00"]).exit_code == 2
    bad = tmp_path / "bad.pem"
    bad.write_bytes(b"not a certificate")
    assert runner.invoke(app, ["verify", "--trust", str(bad), "HC1:X"]).exit_code == 2
    assert runner.invoke(app, ["verify", "--no-such-flag"]).exit_code == 2


def test_unknown_prefix_is_invalid_not_usage() -> None:
    buf = io.BytesIO()
    segno.make("hello").save(buf, kind="png")
    result = runner.invoke(app, ["verify", "--json", "XX1:hello"])
    assert result.exit_code == 1
    assert json.loads(result.output)["error_code"] == "PREFIX_UNKNOWN"
