"""The private fast constructors build the very instances the dataclass constructors build."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from healthcode.core.codes import cose, native
from healthcode.core.codes.native import build_claims, parse_payload, parse_payload_at

T = datetime(2022, 11, 20, 8, 0, tzinfo=UTC)


def _check_same(fast: object, slow: object) -> None:
    assert type(fast) is type(slow)
    assert fast == slow
    assert repr(fast) == repr(slow)
    for f in dataclasses.fields(slow):  # type: ignore[arg-type]
        assert getattr(fast, f.name) is getattr(slow, f.name)
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(fast, dataclasses.fields(slow)[0].name, None)  # type: ignore[arg-type]


def test_new_sign1_is_the_dataclass() -> None:
    values = (b"\xa1\x01&", {1: -7}, {4: b"k"}, b"payload", b"sig", -7, b"kid", (18,))
    _check_same(cose._new_sign1(*values), cose.CoseSign1(*values))


def test_new_payload_is_the_dataclass() -> None:
    values = (
        "440000",
        "ab" * 16,
        T,
        T + timedelta(minutes=5),
        b"s" * 12,
        "green",
        ("nat-48h",),
        "2022.11",
        "张*丰",
        "4401**1234",
    )
    _check_same(native._new_payload(*values), native.NativePayload(*values))


@pytest.mark.parametrize("iat", [0, 1, 1_668_931_200, 2_000_000_000, 253_402_300_000 - 600])
def test_parse_payload_at_gives_parse_payload(iat: int) -> None:
    issued = datetime.fromtimestamp(iat, UTC)
    expires = datetime.fromtimestamp(iat + 300, UTC)
    claims = build_claims(
        issuer="440000",
        subject="ab" * 16,
        issued_at=issued,
        expires_at=expires,
        serial=b"s" * 12,
        colour="yellow",
        badges=["nat-48h", "vaccine-3"],
        rule_set="2022.11",
        masked_name="张*丰",
        masked_id="4401**1234",
    )
    assert parse_payload_at(claims, issued, expires) == parse_payload(claims)
    # Any other shape goes through the schema field by field, with its errors.
    claims[native.HC_CLAIM][99] = 1
    with pytest.raises(Exception) as slow:
        parse_payload(claims)
    with pytest.raises(Exception) as fast:
        parse_payload_at(claims, issued, expires)
    assert repr(fast.value) == repr(slow.value)
