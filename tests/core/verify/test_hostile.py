"""Hostile input: arbitrary text and bytes into every stage give only typed errors, never a pass;
flipping any byte of a valid code fails it at the stage that guards that byte."""

from __future__ import annotations

import base64
import contextlib
import json
import zlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from healthcode.core.clock import FixedClock
from healthcode.core.codes.base45 import b45encode
from healthcode.core.errors import HealthcodeError, VerificationFailed
from healthcode.core.verify import DccSettings, Verifier
from healthcode.core.verify.dcc import DccSchema, DscTrustList, decode_dcc_claims, validate_schema
from healthcode.core.verify.stages import check_signature, decode_cose, inflate

CLOCK = FixedClock(datetime(2021, 5, 4, tzinfo=UTC))
HOSTILE = settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def dcc(testdata: Path) -> DccSettings:
    v = json.loads((testdata / "dcc/common/CO3.json").read_text())
    trust = DscTrustList.from_certificates([base64.b64decode(v["TESTCTX"]["CERTIFICATE"])])
    schema = DccSchema.load(testdata / "dcc-schema/DCC.combined-schema.json")
    return DccSettings(trust=trust, schema=schema)


@pytest.fixture(scope="module")
def ctx(testdata: Path, dcc: DccSettings) -> Verifier:
    v = json.loads((testdata / "dcc/common/CO3.json").read_text())
    clock = FixedClock(datetime.fromisoformat(v["TESTCTX"]["VALIDATIONCLOCK"]))
    return Verifier.default(dcc=dcc, clock=clock)


@pytest.fixture(scope="module")
def valid_cose(testdata: Path) -> bytes:
    return bytes.fromhex(json.loads((testdata / "dcc/common/CO3.json").read_text())["COSE"])


@HOSTILE
@given(prefix=st.sampled_from(["HC1:", "shc:/", "CN1:", ""]), body=st.text(max_size=300))
def test_arbitrary_text_never_passes(ctx: Verifier, prefix: str, body: str) -> None:
    result = ctx.verify(prefix + body)
    assert not result.valid and result.error_code and result.stage


@HOSTILE
@given(st.binary(max_size=400))
def test_arbitrary_compressed_bytes_never_pass(ctx: Verifier, data: bytes) -> None:
    for payload in (data, zlib.compress(data)):
        result = ctx.verify("HC1:" + b45encode(payload))
        assert not result.valid and result.error_code


@HOSTILE
@given(st.binary(max_size=400))
def test_every_stage_only_raises_typed_errors(dcc: DccSettings, data: bytes) -> None:
    stages: list[Any] = [
        inflate,
        decode_cose,
        lambda d: decode_dcc_claims(decode_cose(d)),
        lambda d: check_signature(decode_cose(d), dcc.trust),
    ]
    for stage in stages:
        with contextlib.suppress(HealthcodeError):
            stage(data)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner),
    max_leaves=20,
)


@HOSTILE
@given(json_values)
def test_schema_stage_only_raises_typed_errors(dcc: DccSettings, value: Any) -> None:
    payload = value if isinstance(value, dict) else {"ver": value}
    try:
        validate_schema(payload, dcc.schema)
    except VerificationFailed as exc:
        assert exc.stage == "schema"


def test_the_valid_code_passes(ctx: Verifier, valid_cose: bytes) -> None:
    assert ctx.verify("HC1:" + b45encode(zlib.compress(valid_cose))).valid


def test_flipping_any_cose_byte_fails(ctx: Verifier, valid_cose: bytes) -> None:
    for i in range(len(valid_cose)):
        for mask in (0x01, 0x80):
            flipped = bytearray(valid_cose)
            flipped[i] ^= mask
            text = "HC1:" + b45encode(zlib.compress(bytes(flipped)))
            result = ctx.verify(text)
            assert not result.valid, (i, mask)
            # structure bytes break COSE; everything signed or the signature breaks the signature
            assert result.stage in {"cose", "signature"}, (i, mask, result)


def test_flipping_any_compressed_byte_fails(ctx: Verifier, valid_cose: bytes) -> None:
    compressed = zlib.compress(valid_cose)
    for i in range(len(compressed)):
        flipped = bytearray(compressed)
        flipped[i] ^= 0x01
        result = ctx.verify("HC1:" + b45encode(bytes(flipped)))
        assert not result.valid, i
        # the Adler-32 checksum catches what the deflate structure does not
        assert result.stage in {"decompress", "cose", "signature"}, (i, result)


def test_changing_any_base45_character_fails(ctx: Verifier, valid_cose: bytes) -> None:
    text = b45encode(zlib.compress(valid_cose))
    for i in range(0, len(text), 7):
        swapped = "1" if text[i] != "1" else "2"
        result = ctx.verify("HC1:" + text[:i] + swapped + text[i + 1 :])
        assert not result.valid, i
        assert result.stage in {"base45", "decompress", "cose", "signature"}, (i, result)


@HOSTILE
@given(json_values)
def test_fast_and_reference_schema_agree(dcc: DccSettings, value: Any) -> None:
    schema = dcc.schema
    assert schema is not None
    payload = value if isinstance(value, dict) else {"ver": value}
    assert (schema.first_error(payload) is None) == (
        schema.first_error(payload, reference=True) is None
    )
