"""``healthcode verify --dcc-revocation`` and ``--dcc-value-sets`` on an EU test vector."""

from __future__ import annotations

import base64
import json
import zlib
from pathlib import Path

from test_verify_cli import dcc_args, dcc_vector
from typer.testing import CliRunner

from healthcode.cli.main import app
from healthcode.core.codes.base45 import b45decode
from healthcode.core.codes.cose import sign1_decode
from healthcode.core.verify.dcc import dcc_kind, decode_dcc_claims, hashes_of, kid_of_der

runner = CliRunner()
VECTOR = "AT/1.json"


def _batch(testdata: Path, tmp_path: Path) -> Path:
    v = dcc_vector(testdata, VECTOR)
    msg = sign1_decode(zlib.decompress(b45decode(str(v["PREFIX"])[4:])))
    claims, payload = decode_dcc_claims(msg)
    kind = dcc_kind(payload)
    assert kind
    uci = payload[kind][0]["ci"]
    hashes = hashes_of(uci=uci, country=claims.get(1), signature=msg.signature, alg=msg.alg)
    ctx = v["TESTCTX"]
    assert isinstance(ctx, dict)
    kid = kid_of_der(base64.b64decode(ctx["CERTIFICATE"]))
    batch = {
        "country": "AT",
        "kid": base64.b64encode(kid).decode(),
        "hashType": "COUNTRYCODEUCI",
        "expires": "2030-01-01T00:00:00Z",
        "entries": [{"hash": base64.b64encode(hashes["COUNTRYCODEUCI"]).decode()}],
    }
    path = tmp_path / "batch.json"
    path.write_text(json.dumps(batch))
    return path


def test_revoked_code_refused_offline(testdata: Path, tmp_path: Path) -> None:
    code = str(dcc_vector(testdata, VECTOR)["PREFIX"])
    args = dcc_args(testdata, tmp_path, VECTOR)
    assert runner.invoke(app, [*args, code]).exit_code == 0
    batch = _batch(testdata, tmp_path)
    result = runner.invoke(app, [*args, "--dcc-revocation", str(batch), code])
    assert result.exit_code == 1, result.output
    out = json.loads(result.output.strip().splitlines()[-1])
    assert (out["stage"], out["error_code"]) == ("revocation", "DCC_REVOKED")


def test_bad_revocation_file_is_a_usage_error(testdata: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"hashType": "UCI", "entries": [{"hash": "x"}]}')
    args = dcc_args(testdata, tmp_path, VECTOR)
    result = runner.invoke(app, [*args, "--dcc-revocation", str(bad), "HC1:X"])
    assert result.exit_code == 2
    assert "DCC_REVOCATION_LIST_INVALID" in result.output
    missing = runner.invoke(app, [*args, "--dcc-revocation", str(tmp_path / "no.json"), "HC1:X"])
    assert missing.exit_code == 2


def test_value_sets_override(testdata: Path, tmp_path: Path) -> None:
    code = str(dcc_vector(testdata, VECTOR)["PREFIX"])
    args = dcc_args(testdata, tmp_path, VECTOR)
    sets = tmp_path / "sets"
    sets.mkdir()
    (sets / "country-2-codes.json").write_text(
        json.dumps({"valueSetId": "country-2-codes", "valueSetValues": {"DE": {}}})
    )
    result = runner.invoke(app, [*args, "--dcc-value-sets", str(sets), code])
    assert result.exit_code == 1, result.output
    out = json.loads(result.output.strip().splitlines()[-1])
    assert (out["stage"], out["error_code"]) == ("value_sets", "VALUE_SET_COUNTRY_UNKNOWN")
    (sets / "country-2-codes.json").write_text("[]")
    result = runner.invoke(app, [*args, "--dcc-value-sets", str(sets), code])
    assert result.exit_code == 2 and "VALUE_SETS_UNAVAILABLE" in result.output
