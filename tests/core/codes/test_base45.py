"""Base45 (RFC 9285): the RFC's examples, strictness, and round trips."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from healthcode.core.codes.base45 import ALPHABET, b45decode, b45encode
from healthcode.core.errors import VerificationFailed

RFC_EXAMPLES = [
    (b"AB", "BB8"),
    (b"Hello!!", "%69 VD92EX0"),
    (b"base-45", "UJCLQE7W581"),
    (b"ietf!", "QED8WEX0"),
    (b"", ""),
]


@pytest.mark.parametrize(("raw", "text"), RFC_EXAMPLES)
def test_rfc_examples(raw: bytes, text: str) -> None:
    assert b45encode(raw) == text
    assert b45decode(text) == raw


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
def test_strict_refusals(bad: str) -> None:
    with pytest.raises(VerificationFailed) as err:
        b45decode(bad)
    assert (err.value.code, err.value.stage) == ("BASE45_INVALID", "base45")


def test_non_text_is_refused() -> None:
    with pytest.raises(VerificationFailed):
        b45decode(b"QED8WEX0")  # type: ignore[arg-type]


@given(st.binary(max_size=200))
def test_round_trip(raw: bytes) -> None:
    assert b45decode(b45encode(raw)) == raw


@given(st.text(max_size=60))
def test_arbitrary_text_decodes_or_fails_typed(text: str) -> None:
    try:
        out = b45decode(text)
    except VerificationFailed as exc:
        assert exc.code == "BASE45_INVALID"
    else:
        assert b45encode(out) == text


# A plain per-character reference (the RFC's algorithm, written for clarity, not speed): the
# lane arithmetic of base45.py must agree with it on every input.
_REF_VALUE = {ch: i for i, ch in enumerate(ALPHABET)}


def _reference_decode(text: str) -> bytes | None:
    if any(ch not in _REF_VALUE for ch in text) or len(text) % 3 == 1:
        return None
    values = [_REF_VALUE[ch] for ch in text]
    out = bytearray()
    for i in range(0, len(values) - 2, 3):
        value = values[i] + 45 * values[i + 1] + 2025 * values[i + 2]
        if value > 0xFFFF:
            return None
        out += value.to_bytes(2, "big")
    if len(values) % 3 == 2:
        value = values[-2] + 45 * values[-1]
        if value > 0xFF:
            return None
        out.append(value)
    return bytes(out)


def _reference_encode(data: bytes) -> str:
    out = []
    for i in range(0, len(data) - 1, 2):
        value = (data[i] << 8) | data[i + 1]
        out.append(ALPHABET[value % 45] + ALPHABET[value // 45 % 45] + ALPHABET[value // 2025])
    if len(data) % 2:
        out.append(ALPHABET[data[-1] % 45] + ALPHABET[data[-1] // 45])
    return "".join(out)


def test_encode_every_pair_value() -> None:
    """The multiply-and-shift division is exact for all 65,536 pair values."""
    data = b"".join(v.to_bytes(2, "big") for v in range(0x10000))
    text = b45encode(data)
    assert text == _reference_encode(data)
    assert b45decode(text) == data


def test_decode_every_triple_at_the_limit() -> None:
    for value in (0xFFFF, 0x10000, 45**3 - 1):
        c, rest = value % 45, value // 45
        triple = ALPHABET[c] + ALPHABET[rest % 45] + ALPHABET[rest // 45]
        for text in (triple, "QED" + triple, triple + "QED", "QED" + triple + "8W"):
            assert _reference_decode(text) == _decode_or_none(text), text


def _decode_or_none(text: str) -> bytes | None:
    try:
        return b45decode(text)
    except VerificationFailed as exc:
        assert (exc.code, exc.stage) == ("BASE45_INVALID", "base45")
        return None


@given(st.text(alphabet=ALPHABET + "a€\n", max_size=90))
def test_decode_agrees_with_reference(text: str) -> None:
    assert _decode_or_none(text) == _reference_decode(text)


@given(st.binary(max_size=300))
def test_encode_agrees_with_reference(raw: bytes) -> None:
    assert b45encode(raw) == _reference_encode(raw)
