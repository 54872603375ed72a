"""EU DCC revocation: the three hashes of the EU concept, batches held offline, ``DCC_REVOKED``.

``dcc-revocation/`` holds real EU DCCs (two German ES256, one Lithuanian PS256) with the hashes
the German verifier app computes for them: ours must be the same bytes.
"""

from __future__ import annotations

import base64
import json
import zlib
from pathlib import Path
from typing import Any

import pytest
from dcc_issuer import NOW, VACCINATION, DccIssuer, make_dcc_issuer

from healthcode.core.clock import FixedClock
from healthcode.core.codes.base45 import b45decode
from healthcode.core.codes.cose import sign1_decode
from healthcode.core.errors import TrustError
from healthcode.core.verify import DccRevocationList, DccSettings, Verifier
from healthcode.core.verify.dcc import HASH_TYPES, dcc_kind, decode_dcc_claims, hashes_of


def _cases(testdata: Path) -> list[dict[str, str]]:
    path = testdata / "dcc-revocation" / "RevocationCalculationSampleData.json"
    cases: list[dict[str, str]] = json.loads(path.read_text(encoding="utf-8"))
    return cases


def _hashes_of_code(text: str) -> dict[str, bytes]:
    msg = sign1_decode(zlib.decompress(b45decode(text.removeprefix("HC1:"))))
    claims, payload = decode_dcc_claims(msg)
    kind = dcc_kind(payload)
    assert kind is not None
    return hashes_of(
        uci=payload[kind][0]["ci"], country=claims[1], signature=msg.signature, alg=msg.alg
    )


def test_hashes_of_the_german_app_examples(testdata: Path) -> None:
    cases = _cases(testdata)
    assert len(cases) == 3
    for case in cases:
        ours = {t: h.hex() for t, h in _hashes_of_code(case["barcodeData"]).items()}
        assert ours == {t: case[f"exp{t}"] for t in HASH_TYPES}, case["description"]


@pytest.fixture(scope="module")
def issuer() -> DccIssuer:
    return make_dcc_issuer("AT")


def _batch(hash_type: str, hashes: list[bytes], kid: bytes | None, **extra: Any) -> dict[str, Any]:
    return {
        "country": "AT",
        "kid": base64.b64encode(kid).decode() if kid else None,
        "hashType": hash_type,
        "expires": "2022-06-01T00:00:00Z",
        "entries": [{"hash": base64.b64encode(h).decode()} for h in hashes],
        **extra,
    }


def _verify(issuer: DccIssuer, code: str, revocation: DccRevocationList | None) -> Any:
    settings = DccSettings(trust=issuer.trust, revocation=revocation)
    return Verifier.default(dcc=settings, clock=FixedClock(NOW)).verify(code)


@pytest.mark.parametrize("hash_type", HASH_TYPES)
def test_a_revoked_code_is_refused_offline(issuer: DccIssuer, hash_type: str) -> None:
    code = issuer.code(VACCINATION)
    held = DccRevocationList()
    held.add_batch(_batch(hash_type, [_hashes_of_code(code)[hash_type]], issuer.kid))
    result = _verify(issuer, code, held)
    assert (result.valid, result.stage, result.error_code) == (False, "revocation", "DCC_REVOKED")
    assert hash_type in (result.reason or "")
    assert _verify(issuer, code, None).valid
    other = issuer.code({**VACCINATION, "dob": "1998-02-27"})
    assert _verify(issuer, other, held).valid != (hash_type != "SIGNATURE")


def test_es256_signature_hash_covers_its_twin(issuer: DccIssuer) -> None:
    """(r, n - s) is a second valid signature of the same code: only r is hashed."""
    del issuer
    sig = bytes(range(64))
    twin = sig[:32] + bytes(32)
    assert hashes_of(uci=None, country=None, signature=sig, alg=-7) == hashes_of(
        uci=None, country=None, signature=twin, alg=-7
    )
    assert hashes_of(uci=None, country=None, signature=sig, alg=-37) != hashes_of(
        uci=None, country=None, signature=twin, alg=-37
    )


def test_a_batch_of_another_signer_does_not_apply(issuer: DccIssuer) -> None:
    code = issuer.code(VACCINATION)
    held = DccRevocationList()
    held.add_batch(_batch("UCI", [_hashes_of_code(code)["UCI"]], b"\x01" * 8))
    assert _verify(issuer, code, held).valid
    held.add_batch(_batch("UCI", [_hashes_of_code(code)["UCI"]], None))  # no kid: any signer
    assert _verify(issuer, code, held).error_code == "DCC_REVOKED"


def test_deleted_batches_are_skipped_and_files_load(issuer: DccIssuer, tmp_path: Path) -> None:
    code = issuer.code(VACCINATION)
    uci = _hashes_of_code(code)["UCI"]
    (tmp_path / "a.json").write_text(json.dumps(_batch("UCI", [uci], issuer.kid, deleted=True)))
    held = DccRevocationList.load([tmp_path])
    assert (held.batches, len(held)) == (0, 0)
    (tmp_path / "b.json").write_text(json.dumps({"batches": [_batch("UCI", [uci], issuer.kid)]}))
    held = DccRevocationList.load([tmp_path])
    assert (held.batches, len(held)) == (1, 1)
    assert _verify(issuer, code, held).error_code == "DCC_REVOKED"


def test_a_full_sha256_entry_is_cut_to_128_bits(issuer: DccIssuer) -> None:
    import hashlib

    code = issuer.code(VACCINATION)
    full = hashlib.sha256(VACCINATION["v"][0]["ci"].encode()).digest()
    held = DccRevocationList()
    held.add_batch(_batch("UCI", [full], issuer.kid))
    assert _verify(issuer, code, held).error_code == "DCC_REVOKED"


@pytest.mark.parametrize(
    "batch",
    [
        [],
        {"hashType": "MD5", "entries": []},
        {"hashType": "UCI"},
        {"hashType": "UCI", "entries": [{"hash": "not base64!"}]},
        {"hashType": "UCI", "entries": [{"hash": base64.b64encode(b"short").decode()}]},
        {"hashType": "UCI", "kid": base64.b64encode(b"123").decode(), "entries": []},
        {"hashType": "UCI", "entries": [{"hash": 5}]},
    ],
)
def test_malformed_batches_are_refused(batch: Any) -> None:
    held = DccRevocationList()
    with pytest.raises(TrustError) as info:
        held.add_json(json.dumps(batch) if batch != [] else "[1]")
    assert info.value.code == "DCC_REVOCATION_LIST_INVALID"
    with pytest.raises(TrustError):
        held.add_json("{not json")
