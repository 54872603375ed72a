"""Dispatch by prefix: the longest registered prefix wins, whatever its length."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from healthcode.core.clock import FixedClock
from healthcode.core.verify import pipeline
from healthcode.core.verify.pipeline import VerifyContext, register_format, verify
from healthcode.core.verify.result import VerificationResult

CTX = VerifyContext(clock=FixedClock(datetime(2022, 11, 20, tzinfo=UTC)))


@pytest.fixture
def scratch_formats(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    pipeline.registered_formats()  # built-ins loaded before the registry is swapped
    monkeypatch.setattr(pipeline, "_FORMATS", dict(pipeline._FORMATS))
    yield
    monkeypatch.undo()
    pipeline._rebuild_dispatch()


def _named(name: str) -> pipeline.Verifier:
    def verifier(text: str, context: VerifyContext) -> VerificationResult:
        return VerificationResult(valid=True, format=name)

    return verifier


@pytest.mark.usefixtures("scratch_formats")
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
        ("CN1:", "native"),
        ("HC1:x", "dcc"),
        ("shc:/1", "shc"),
    ],
)
def test_the_longest_matching_prefix_wins(text: str, expected: str) -> None:
    for prefix, name in [
        ("Z", "z"),
        ("ZZ9", "short"),
        ("ZZ9Q", "head"),
        ("ZZ9Q-", "longer"),
        ("ZZ9Q-X", "longest"),
    ]:
        register_format(prefix, name, _named(name))
    assert verify(text, context=CTX).format == expected


def test_registering_a_prefix_again_replaces_its_verifier(scratch_formats: None) -> None:
    register_format("QQ1:", "first", _named("first"))
    register_format("QQ1:", "second", _named("second"))
    assert verify("QQ1:x", context=CTX).format == "second"
    assert pipeline.registered_formats()["QQ1:"] == "second"
