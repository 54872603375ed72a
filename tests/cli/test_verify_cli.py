"""``healthcode verify``: exit codes 0/1/2 and the JSON shape, on the vectors of tests/data."""

from __future__ import annotations

import base64
import hashlib
import io
import json
from pathlib import Path

import cbor2
import segno
from click.testing import Result
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


# --- native codes and the signed trust list ---------------------------------------------------

NATIVE_NOW = "2022-11-20T09:00"


def _native_network(tmp_path: Path, hours: int = 24) -> tuple[str, Path, Path]:
    """A network with one province: (a code it issued, the signed list, the root cert)."""
    home = str(tmp_path / "net")
    for args in (
        ["keys", "init", "--provinces", "440000", "--home", home, "--now", NATIVE_NOW],
        ["trust", "publish", "--home", home, "--now", NATIVE_NOW, "--hours", str(hours)],
    ):
        assert runner.invoke(app, args).exit_code == 0
    issued = runner.invoke(
        app, ["code", "issue", "--province", "440000", "--home", home, "--now", NATIVE_NOW]
    )
    assert issued.exit_code == 0, issued.output
    signed = tmp_path / "net" / "published" / "trust-list.cose"
    return issued.stdout.strip(), signed, tmp_path / "net" / "root.cert.pem"


def _verify_native(code: str, trust: Path, root: Path, *extra: str) -> Result:
    args = ["verify", code, "--trust", str(trust), "--national-root", str(root), *extra]
    return runner.invoke(app, [*args, "--json"])


def test_native_with_signed_trust_list(tmp_path: Path) -> None:
    code, signed, root = _native_network(tmp_path)
    result = _verify_native(code, signed, root, "--at", NATIVE_NOW)
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert (out["valid"], out["format"], out["warnings"]) == (True, "native", [])


def test_bare_trust_list_is_refused(tmp_path: Path) -> None:
    """Regression: the bare JSON content carries no signature, so its revocations can be cut."""
    code, signed, root = _native_network(tmp_path)
    body = cbor2.loads(cbor2.loads(signed.read_bytes()).value[2])
    bare = tmp_path / "trust-list.json"
    bare.write_bytes(body["content"])
    result = _verify_native(code, bare, root, "--at", NATIVE_NOW)
    assert result.exit_code == 2
    assert "TRUSTLIST_UNSIGNED" in result.output


def test_tampered_envelope_is_refused(tmp_path: Path) -> None:
    """Deleting the revocations inside the envelope (digest fixed up) breaks the signature."""
    code, signed, root = _native_network(tmp_path)
    message = cbor2.loads(signed.read_bytes())
    protected, unprotected, payload, signature = message.value
    body = cbor2.loads(payload)
    listing = json.loads(body["content"])
    listing["revoked_serials"] = []
    listing["revoked_signers"] = []
    body["content"] = json.dumps(listing).encode()
    body["digest"] = hashlib.sha256(body["content"]).digest()
    forged = cbor2.CBORTag(18, [protected, unprotected, cbor2.dumps(body), signature])
    tampered = tmp_path / "tampered.cose"
    tampered.write_bytes(cbor2.dumps(forged))
    result = _verify_native(code, tampered, root, "--at", NATIVE_NOW)
    assert result.exit_code == 2
    assert "ENVELOPE_SIGNATURE_INVALID" in result.output
    # A flipped byte anywhere is refused too.
    raw = bytearray(signed.read_bytes())
    raw[len(raw) // 2] ^= 0x01
    tampered.write_bytes(bytes(raw))
    result = _verify_native(code, tampered, root, "--at", NATIVE_NOW)
    assert result.exit_code == 2
    assert "ENVELOPE_" in result.output


def test_signed_list_without_root_is_a_usage_error(tmp_path: Path) -> None:
    code, signed, _ = _native_network(tmp_path)
    result = runner.invoke(app, ["verify", code, "--trust", str(signed), "--at", NATIVE_NOW])
    assert result.exit_code == 2
    assert "--national-root" in result.output


def test_stale_trust_list_warns_then_fails(tmp_path: Path) -> None:
    code, signed, root = _native_network(tmp_path, hours=1)
    # Two hours after the one-hour list expired: within the default 24 h tolerance, with a warning
    # (the code itself is checked at the time it was issued).
    late = "2022-11-20T12:00"
    result = _verify_native(code, signed, root, "--at", late, "--skew", "99999")
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert [w.split(":")[0] for w in out["warnings"]] == ["TRUSTLIST_STALE"]
    human = runner.invoke(
        app,
        ["verify", code, "--trust", str(signed), "--national-root", str(root), "--at", late],
    )
    assert "warning TRUSTLIST_STALE" in human.stdout
    result = _verify_native(code, signed, root, "--at", late, "--max-stale-hours", "1")
    assert result.exit_code == 2
    assert "ENVELOPE_EXPIRED" in result.output
