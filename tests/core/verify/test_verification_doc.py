"""docs/verification.md names every code the verifier can raise."""

from __future__ import annotations

from pathlib import Path

from healthcode.core.error_codes import ErrorCode

DOC = Path(__file__).resolve().parents[3] / "docs" / "verification.md"


def test_every_verifier_code_is_explained() -> None:
    text = DOC.read_text(encoding="utf-8")
    codes = [c for c in ErrorCode if c.stage is not None] + [ErrorCode.STAGE_FAULT]
    assert [c.value for c in codes if f"`{c.value}`" not in text] == []
