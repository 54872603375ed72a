"""The Verifier: formats in one place, dispatch by the longest prefix, failures as results."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from healthcode.core.clock import FixedClock
from healthcode.core.error_codes import ErrorCode
from healthcode.core.errors import VerificationFailed
from healthcode.core.verify import (
    DccFormat,
    NativeFormat,
    ShcFormat,
    VerificationResult,
    Verifier,
    verify,
)
from healthcode.core.verify.verifier import MAX_TEXT_LENGTH

CLOCK = FixedClock(datetime(2022, 11, 20, tzinfo=UTC))


@dataclass(frozen=True)
class Named:
    """A format that passes every code, naming itself in the result."""

    name: str
    prefix: str

    def verify(self, text: str, now: datetime) -> VerificationResult:
        return VerificationResult(valid=True, format=self.name)


@dataclass(frozen=True)
class Refusing:
    name: str = "refusing"
    prefix: str = "NO1:"

    def verify(self, text: str, now: datetime) -> VerificationResult:
        raise VerificationFailed(ErrorCode.SIGNATURE_INVALID, "never", kid="ab", issuer="XX")


def test_the_default_verifier_lists_its_formats() -> None:
    verifier = Verifier.default(clock=CLOCK)
    assert [type(f) for f in verifier.formats] == [NativeFormat, DccFormat, ShcFormat]
    assert [f.name for f in verifier.formats] == ["native", "dcc", "shc"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ZZ9:abc", "short"),
        ("ZZ9Qabc", "head"),
        ("ZZ9Q-abc", "longer"),
        ("ZZ9Q-Xabc", "longest"),
        ("ZZ", "z"),
        ("Y1:", "unknown"),
        ("Z", "z"),
    ],
)
def test_the_longest_matching_prefix_wins(text: str, expected: str) -> None:
    formats = [
        Named("z", "Z"),
        Named("short", "ZZ9"),
        Named("head", "ZZ9Q"),
        Named("longer", "ZZ9Q-"),
        Named("longest", "ZZ9Q-X"),
    ]
    assert Verifier(formats=formats, clock=CLOCK).verify(text).format == expected


@pytest.mark.parametrize(
    ("text", "expected"), [("CN1:", "native"), ("HC1:x", "dcc"), ("shc:/1", "shc")]
)
def test_the_default_formats_are_routed(text: str, expected: str) -> None:
    result = verify(text, clock=CLOCK)
    assert (result.valid, result.format) == (False, expected)


def test_formats_are_refused_when_none_or_sharing_a_prefix() -> None:
    with pytest.raises(ValueError):
        Verifier(formats=[], clock=CLOCK)
    with pytest.raises(ValueError):
        Verifier(formats=[Named("a", "QQ1:"), Named("b", "QQ1:")], clock=CLOCK)
    with pytest.raises(ValueError):
        Verifier(formats=[Named("a", "")], clock=CLOCK)


def test_a_failing_format_gives_a_failed_result_with_what_it_learnt() -> None:
    result = Verifier(formats=[Refusing()], clock=CLOCK).verify("NO1:x\r\n")
    assert (result.valid, result.format, result.stage, result.error_code) == (
        False,
        "refusing",
        "signature",
        "SIGNATURE_INVALID",
    )
    assert (result.kid, result.issuer) == ("ab", "XX")


@pytest.mark.parametrize(
    ("text", "code"),
    [(b"CN1:", "PREFIX_UNKNOWN"), ("CN1:" + "0" * MAX_TEXT_LENGTH, "TEXT_TOO_LONG")],
)
def test_what_is_no_code_fails_at_the_prefix(text: object, code: str) -> None:
    result = Verifier.default(clock=CLOCK).verify(text)  # type: ignore[arg-type]
    assert (result.valid, result.format, result.stage, result.error_code) == (
        False,
        "unknown",
        "prefix",
        code,
    )


# --- failing closed: a stage that breaks, text that is not Unicode --------------------------------


@dataclass(frozen=True)
class Breaking:
    """A format with a defect outside any marked stage."""

    name: str = "breaking"
    prefix: str = "BR1:"

    def verify(self, text: str, now: datetime) -> VerificationResult:
        return {"a": 1}[text]  # type: ignore[return-value]


def test_a_defect_outside_any_stage_fails_closed_and_the_next_code_is_verified() -> None:
    verifier = Verifier(formats=[Breaking(), Named("named", "OK1:")], clock=CLOCK)
    broken, fine = verifier.verify("BR1:x"), verifier.verify("OK1:x")
    assert (broken.valid, broken.format, broken.stage) == (False, "breaking", "result")
    assert broken.error_code == ErrorCode.STAGE_FAULT and "KeyError" in (broken.reason or "")
    assert fine.valid


def test_a_defect_inside_a_marked_stage_names_that_stage() -> None:
    from healthcode.core.error_codes import Stage
    from healthcode.core.verify.stages import stage

    @stage(Stage.CLAIMS)
    def claims(value: str) -> int:
        return int(value)

    with pytest.raises(VerificationFailed) as caught:
        claims("x" * 1000)
    assert (caught.value.code, caught.value.stage) == (ErrorCode.STAGE_FAULT, "claims")
    assert len(caught.value.message) < 400  # the hostile input is not repeated in full
    refusal = VerificationFailed(ErrorCode.CWT_MALFORMED, "ours")

    @stage(Stage.SCHEMA)
    def refuses() -> None:
        raise refusal

    with pytest.raises(VerificationFailed) as again:
        refuses()
    assert again.value is refusal  # a stage's own refusal passes unchanged


@pytest.mark.parametrize("text", ["CN1:\ud800", "\udcff\udcfe", "HC1:AB\udc80"])
def test_text_with_a_lone_surrogate_is_refused_first(text: str) -> None:
    result = Verifier.default(clock=CLOCK).verify(text)
    assert (result.valid, result.stage, result.error_code) == (False, "prefix", "TEXT_NOT_UNICODE")
