"""SMART Health Cards under attack: every stage on its own, and mutations of valid cards.

Each stage function takes arbitrary input and may only refuse it with a VerificationFailed of
its own stage; the whole format, on mutated cards (signed by an untrusted hand or by a trusted
issuer with a malformed payload), only ever answers a result: never an exception, never a pass
of something it should refuse.
"""

from __future__ import annotations

import base64
import copy
import json
import zlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shc_issuer import ShcIssuer, b64url

from healthcode.core.clock import FixedClock
from healthcode.core.errors import VerificationFailed
from healthcode.core.verify import ShcSettings, ShcTrust, VerificationResult, Verifier
from healthcode.core.verify.shc import (
    Jws,
    decode_jws,
    decode_numeric,
    encode_numeric,
    facts_of,
    inflate_raw,
    parse_json_object,
    verify_es256,
)

NOW = datetime(2023, 6, 23, tzinfo=UTC)
SPEC_ISSUER = "https://spec.smarthealth.cards/examples/issuer"
HOSTILE = settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(max_size=8)
    | st.sampled_from(["\ud800", "2021-01-01", "Patient", "Immunization", "Observation"]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner),
    max_leaves=20,
)


def verifier(trust: ShcTrust) -> Verifier:
    return Verifier.default(shc=ShcSettings(trust=trust), clock=FixedClock(NOW))


def refused_at(stage: str, call: Any, *args: Any) -> None:
    """``call(*args)`` returns, or refuses with a VerificationFailed of ``stage``."""
    try:
        call(*args)
    except VerificationFailed as exc:
        assert exc.stage == stage, (exc.stage, exc.code, exc.message)


# --- each stage on its own ----------------------------------------------------------------------


@HOSTILE
@given(st.text(alphabet="0123456789/shc: \n\ud800x", max_size=120) | st.text(max_size=60))
def test_numeric_stage_only_refuses(text: str) -> None:
    refused_at("numeric", decode_numeric, text)


@HOSTILE
@given(
    st.lists(st.binary(max_size=60).map(b64url) | st.text(max_size=20), min_size=1, max_size=4).map(
        ".".join
    )
)
def test_jws_stage_only_refuses(compact: str) -> None:
    refused_at("jws", decode_jws, compact)


@HOSTILE
@given(
    st.binary(max_size=200)
    | json_values.map(lambda v: json.dumps(v).encode())
    | st.integers(1, 3000).map(lambda n: b"[" * n + b"]" * n)
    | st.integers(1, 3000).map(lambda n: b'{"a":' * n + b"1" + b"}" * n)
)
def test_json_of_header_and_payload_only_refuses(raw: bytes) -> None:
    refused_at("jws", parse_json_object, raw, "the header")


@HOSTILE
@given(signature=st.binary(max_size=80), signing_input=st.binary(max_size=40))
def test_signature_stage_only_refuses(
    shc_issuer: ShcIssuer, signature: bytes, signing_input: bytes
) -> None:
    jws = Jws(header={}, signing_input=signing_input, payload=b"", signature=signature)
    refused_at("signature", verify_es256, jws, shc_issuer.key.public_key())


@HOSTILE
@given(json_values.filter(lambda v: isinstance(v, dict)))
def test_a_trusted_issuers_arbitrary_payload_gets_a_code(
    shc_issuer: ShcIssuer, payload: dict[str, Any]
) -> None:
    """Claims, credential and revocation stages on whatever JSON object a trusted key signed."""
    for doc in (payload, {**payload, "iss": shc_issuer.example["iss"]}):
        result = verifier(shc_issuer.trust).verify(shc_issuer.card(doc))
        assert not result.valid and (result.stage, result.error_code) in POST_SIGNATURE


@HOSTILE
@given(st.binary(max_size=300) | st.binary(max_size=300).map(zlib.compress))
def test_deflate_stage_only_refuses(data: bytes) -> None:
    refused_at("decompress", inflate_raw, data)


@HOSTILE
@given(json_values)
def test_fhir_facts_stage_only_refuses(value: Any) -> None:
    bundle = value if isinstance(value, dict) else {"entry": value}
    refused_at("schema", facts_of, bundle)


@HOSTILE
@given(data=st.data())
def test_fhir_facts_of_a_mutated_bundle_only_refuse(data: st.DataObject, testdata: Path) -> None:
    payload = json.loads((testdata / "shc/example-00-b-jws-payload-expanded.json").read_text())
    bundle = payload["vc"]["credentialSubject"]["fhirBundle"]
    mutated = _mutate(bundle, data)
    refused_at("schema", facts_of, mutated)


# --- the known cases, each at its stage with its code --------------------------------------------


def _example_jws(testdata: Path) -> list[str]:
    return (testdata / "shc/example-00-d-jws.txt").read_text().strip().split(".")


def _header(raw: bytes) -> str:
    return b64url(raw)


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        (b"[" * 1000, "nests too deep"),
        (b"[" * 1000 + b"]" * 1000, "nests too deep"),
        (b'{"alg":"ES256","zip":"DEF","kid":"\\ud800"}', "not valid Unicode"),
        (b'{"alg":"ES256","zip":"DEF","kid":"\xed\xa0\x80"}', "not valid Unicode"),
        (b'{"alg":"ES256","zip":"DEF","kid":"a\xff"}', "not JSON"),
    ],
    ids=["brackets", "brackets-closed", "lone-surrogate-kid", "surrogate-as-utf8", "not-utf8"],
)
def test_hostile_header_fails_at_jws(testdata: Path, header: bytes, reason: str) -> None:
    """Regression: these headers raised RecursionError / UnicodeEncodeError before the signature."""
    _, payload, signature = _example_jws(testdata)
    text = encode_numeric(f"{_header(header)}.{payload}.{signature}")
    trust = ShcTrust.from_directory(testdata / "shc" / "issuer", issuer=SPEC_ISSUER)
    result = verifier(trust).verify(text)
    assert (result.valid, result.stage, result.error_code) == (False, "jws", "JWS_MALFORMED")
    assert reason in (result.reason or "")


def _set(doc: dict[str, Any], path: list[Any], value: Any) -> dict[str, Any]:
    out = copy.deepcopy(doc)
    target: Any = out
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return out


ENTRY = ["vc", "credentialSubject", "fhirBundle", "entry"]


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ([*ENTRY, 0, "resource", "name"], 1),
        ([*ENTRY, 0, "resource", "name"], {"family": "x"}),
        ([*ENTRY, 0, "resource", "name", 0, "given"], 7),
        ([*ENTRY, 0, "resource", "name", 0, "family"], ["x"]),
        ([*ENTRY, 1, "resource", "performer"], True),
        ([*ENTRY, 1, "resource", "performer", 0, "actor"], "lab"),
        ([*ENTRY, 1, "resource", "vaccineCode", "coding"], 1.5),
        ([*ENTRY, 1, "resource", "vaccineCode", "coding", 0, "code"], {"x": 1}),
        ([*ENTRY, 1], "not an entry"),
        ([*ENTRY, 1, "resource"], None),
    ],
    ids=lambda v: "/".join(map(str, v)) if isinstance(v, list) else type(v).__name__,
)
def test_trusted_card_with_malformed_fhir_fails_at_schema(
    shc_issuer: ShcIssuer, path: list[Any], value: Any
) -> None:
    """Regression: a trusted issuer's malformed bundle raised TypeError after the signature."""
    result = verifier(shc_issuer.trust).verify(
        shc_issuer.card(_set(shc_issuer.example, path, value))
    )
    assert (result.valid, result.stage, result.error_code) == (False, "schema", "SCHEMA_INVALID")
    assert result.kid == shc_issuer.kid and "FHIR bundle" in (result.reason or "")


@pytest.mark.parametrize(
    "payload",
    [
        b"[" * 5000 + b"]" * 5000,
        b'{"iss": "https://issuer.example/shc", "x": "\\udfff"}',
        b'{"iss": "\xed\xb0\x80"}',
        b"\xff\xfe",
        b"[]",
    ],
    ids=["deep", "lone-surrogate", "surrogate-as-utf8", "not-utf8", "not-an-object"],
)
def test_trusted_card_with_a_hostile_payload_fails_at_jws(
    shc_issuer: ShcIssuer, payload: bytes
) -> None:
    result = verifier(shc_issuer.trust).verify(shc_issuer.card(payload))
    assert (result.valid, result.stage, result.error_code) == (False, "jws", "JWS_MALFORMED")


def test_our_issuer_passes(shc_issuer: ShcIssuer) -> None:
    result = verifier(shc_issuer.trust).verify(shc_issuer.card(shc_issuer.example))
    assert result.valid, result


def test_chunk_counts_of_thousands_of_digits(testdata: Path) -> None:
    """Regression: int() refuses over 4,300 digits with a ValueError of its own."""
    result = verifier(ShcTrust()).verify("shc:/" + "1" * 5000 + "/2/00")
    assert (result.stage, result.error_code) == ("numeric", "SHC_NUMERIC_INVALID")


# --- structure-aware mutations of valid cards ---------------------------------------------------


def _paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [path]
    if isinstance(value, dict):
        for key, item in value.items():
            out += _paths(item, (*path, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            out += _paths(item, (*path, i))
    return out


def _mutate(doc: Any, data: st.DataObject) -> Any:
    """One structural change somewhere in ``doc``: a value replaced, a key dropped or added."""
    path = data.draw(st.sampled_from(_paths(doc)[1:]))
    out = copy.deepcopy(doc)
    parent: Any = out
    for step in path[:-1]:
        parent = parent[step]
    action = data.draw(st.sampled_from(["replace", "drop", "wrap"]))
    if action == "drop":
        del parent[path[-1]]
    elif action == "wrap":
        parent[path[-1]] = [parent[path[-1]]]
    else:
        parent[path[-1]] = data.draw(json_values)
    return out


#: What a trusted issuer's mutated card may fail with, and at which stage.
POST_SIGNATURE = {
    ("claims", "SHC_ISSUER_MISMATCH"),
    ("claims", "CWT_MALFORMED"),
    ("claims", "CWT_EXPIRED"),
    ("claims", "CWT_NOT_YET_VALID"),
    ("schema", "SCHEMA_INVALID"),
    ("jws", "JWS_MALFORMED"),
}


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_mutated_payloads_of_a_trusted_issuer_give_a_result(
    data: st.DataObject, shc_issuer: ShcIssuer
) -> None:
    mutated = _mutate(shc_issuer.example, data)
    result = verifier(shc_issuer.trust).verify(shc_issuer.card(mutated))
    assert isinstance(result, VerificationResult)
    if not result.valid:
        assert (result.stage, result.error_code) in POST_SIGNATURE, result
    else:
        json.dumps(result.to_json(), ensure_ascii=False).encode("utf-8")  # printable


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_mutated_headers_and_texts_never_pass(data: st.DataObject, testdata: Path) -> None:
    """A changed header (re-encoded) or a changed digit of the spec's card never passes."""
    header, payload, signature = _example_jws(testdata)
    trust = ShcTrust.from_directory(testdata / "shc" / "issuer", issuer=SPEC_ISSUER)
    if data.draw(st.booleans()):
        decoded = json.loads(base64.urlsafe_b64decode(header + "=="))
        text = encode_numeric(
            f"{b64url(json.dumps(_mutate(decoded, data)).encode())}.{payload}.{signature}"
        )
    else:
        text = encode_numeric(f"{header}.{payload}.{signature}")
        i = data.draw(st.integers(len("shc:/"), len(text) - 1))
        text = text[:i] + data.draw(st.sampled_from("0123456789/:x\n")) + text[i + 1 :]
    result = verifier(trust).verify(text)
    if result.valid:  # only a no-op change may pass
        assert decode_numeric(text) == ".".join((header, payload, signature))
    else:
        assert result.stage in {"prefix", "numeric", "jws", "signature"}, result


def test_a_non_canonical_signature_text_is_refused(testdata: Path) -> None:
    """Regression: 'A' and 'B' as the last of 86 characters decode to the same 64 bytes, so one
    card had several texts."""
    header, payload, signature = _example_jws(testdata)
    assert signature.endswith("A")
    trust = ShcTrust.from_directory(testdata / "shc" / "issuer", issuer=SPEC_ISSUER)
    text = encode_numeric(f"{header}.{payload}.{signature[:-1]}B")
    result = verifier(trust).verify(text)
    assert (result.stage, result.error_code) == ("jws", "JWS_MALFORMED")
    assert "canonical" in (result.reason or "")
