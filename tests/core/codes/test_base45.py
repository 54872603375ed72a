"""Base45 (RFC 9285): the RFC's examples, strictness, and round trips."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from healthcode.core.codes.base45 import b45decode, b45encode
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
