"""Base45 (RFC 9285): the plain reference and the fast form, the RFC's examples, strictness,
round trips, and a property test keeping the two equal (bytes and errors)."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType

import pytest
from hypothesis import given
from hypothesis import strategies as st

from healthcode.core.codes import base45, base45_fast
from healthcode.core.codes.base45 import ALPHABET
from healthcode.core.errors import VerificationFailed

IMPLEMENTATIONS = pytest.mark.parametrize("impl", [base45, base45_fast], ids=["plain", "fast"])

RFC_EXAMPLES = [
    (b"AB", "BB8"),
    (b"Hello!!", "%69 VD92EX0"),
    (b"base-45", "UJCLQE7W581"),
    (b"ietf!", "QED8WEX0"),
    (b"", ""),
]


@IMPLEMENTATIONS
@pytest.mark.parametrize(("raw", "text"), RFC_EXAMPLES)
def test_rfc_examples(impl: ModuleType, raw: bytes, text: str) -> None:
    assert impl.b45encode(raw) == text
    assert impl.b45decode(text) == raw


@IMPLEMENTATIONS
@pytest.mark.parametrize(
    "bad",
    [
        "GGW",  # 65536 + ... : triple above 65535
        ":::",  # 45*45*45-1: far above 65535
        "A",  # dangling character
        "ABCD",  # dangling character after a triple
        "qed8wex0",  # lower case is not in the alphabet
        "QED8WEX0!",
        "QED\n8WEX0",
        "€€",
        "Z9",  # pair above 255
    ],
)
def test_strict_refusals(impl: ModuleType, bad: str) -> None:
    with pytest.raises(VerificationFailed) as err:
        impl.b45decode(bad)
    assert (err.value.code, err.value.stage) == ("BASE45_INVALID", "base45")


@IMPLEMENTATIONS
def test_non_text_is_refused(impl: ModuleType) -> None:
    with pytest.raises(VerificationFailed):
        impl.b45decode(b"QED8WEX0")


@given(st.binary(max_size=200))
def test_round_trip(raw: bytes) -> None:
    assert base45_fast.b45decode(base45_fast.b45encode(raw)) == raw
    assert base45.b45decode(base45.b45encode(raw)) == raw


@given(st.text(max_size=60))
def test_arbitrary_text_decodes_or_fails_typed(text: str) -> None:
    try:
        out = base45_fast.b45decode(text)
    except VerificationFailed as exc:
        assert exc.code == "BASE45_INVALID"
    else:
        assert base45_fast.b45encode(out) == text


def _outcome(decode: Callable[[str], bytes], text: str) -> bytes | tuple[str, str]:
    try:
        return decode(text)
    except VerificationFailed as exc:
        assert (exc.code, exc.stage) == ("BASE45_INVALID", "base45")
        return ("refused", exc.message)


def test_encode_every_pair_value() -> None:
    """The fast form's multiply-and-shift division is exact for all 65,536 pair values."""
    data = b"".join(v.to_bytes(2, "big") for v in range(0x10000))
    text = base45_fast.b45encode(data)
    assert text == base45.b45encode(data)
    assert base45_fast.b45decode(text) == data


def test_decode_every_triple_at_the_limit() -> None:
    for value in (0xFFFF, 0x10000, 45**3 - 1):
        c, rest = value % 45, value // 45
        triple = ALPHABET[c] + ALPHABET[rest % 45] + ALPHABET[rest // 45]
        for text in (triple, "QED" + triple, triple + "QED", "QED" + triple + "8W"):
            assert _outcome(base45.b45decode, text) == _outcome(base45_fast.b45decode, text)


@given(st.text(alphabet=ALPHABET + "a€\n", max_size=90))
def test_fast_decode_equals_the_reference(text: str) -> None:
    """Same bytes, or the same refusal with the same message."""
    assert _outcome(base45_fast.b45decode, text) == _outcome(base45.b45decode, text)


@given(st.binary(max_size=300))
def test_fast_encode_equals_the_reference(raw: bytes) -> None:
    assert base45_fast.b45encode(raw) == base45.b45encode(raw)
