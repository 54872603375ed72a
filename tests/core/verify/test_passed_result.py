"""``passed_result`` builds the very result ``VerificationResult(valid=True, ...)`` builds."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest

from healthcode.core.verify.result import VerificationResult, passed_result

T = datetime(2022, 11, 20, 8, 0, tzinfo=UTC)


def test_passed_result_is_the_dataclass() -> None:
    subject = {"name": "张*丰", "id": "4401**1234", "pseudonym": "ab" * 16}
    payload = {"iss": "440000"}
    fast = passed_result("native", "440000", "green", ("nat-48h",), subject, payload, T, T, "00ff")
    slow = VerificationResult(
        valid=True,
        format="native",
        reason="valid",
        issuer="440000",
        colour="green",
        badges=("nat-48h",),
        subject=subject,
        payload=payload,
        issued_at=T,
        expires_at=T,
        kid="00ff",
    )
    assert type(fast) is VerificationResult
    assert fast == slow and repr(fast) == repr(slow) and hash(fast.kid) == hash(slow.kid)
    assert fast.to_json() == slow.to_json()
    for f in dataclasses.fields(VerificationResult):
        assert getattr(fast, f.name) == getattr(slow, f.name)
    assert dataclasses.replace(fast, warnings=("w",)).warnings == ("w",)
    with pytest.raises(dataclasses.FrozenInstanceError):
        fast.valid = False  # type: ignore[misc]
