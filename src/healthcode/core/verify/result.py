"""The outcome of verifying one credential, whatever its format.

A verifier stage raises :class:`healthcode.core.errors.VerificationFailed` with a stable code and
the stage's name; the :class:`healthcode.core.verify.verifier.Verifier` turns that error into a
failed :class:`VerificationResult` (:func:`failed_result`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from healthcode.core.error_codes import Stage
from healthcode.core.errors import VerificationFailed

__all__ = ["Stage", "VerificationResult", "failed_result"]


@dataclass(frozen=True, slots=True)
class VerificationResult:
    """What a checkpoint sees: pass/fail, and why."""

    valid: bool
    format: str  # "native" | "dcc" | "shc" | "unknown"
    stage: str | None = None  # the stage that failed, None when valid
    error_code: str | None = None
    reason: str | None = None
    issuer: str | None = None  # province code, country, or issuer URL
    colour: str | None = None  # native codes only
    badges: tuple[str, ...] = ()
    subject: dict[str, Any] = field(default_factory=dict)  # masked identity
    payload: dict[str, Any] | None = None
    issued_at: datetime | None = None
    expires_at: datetime | None = None
    kid: str | None = None
    warnings: tuple[str, ...] = ()
    schema_release: str | None = None  # EU DCC: the payload schema release it was checked with
    profile: str | None = None  # native codes: "full", or "light" (colour only, no identity)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (datetimes as ISO 8601)."""
        out: dict[str, Any] = {}
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            if isinstance(value, datetime):
                value = value.isoformat()
            elif isinstance(value, tuple):
                value = list(value)
            out[name] = value
        return out


def failed_result(format_name: str, error: VerificationFailed) -> VerificationResult:
    """The result for a code that failed ``error.stage``; keeps what was learnt before it."""
    details = error.details
    payload = details.get("payload")
    kid = details.get("kid")
    issuer = details.get("issuer")
    release = details.get("schema_release")
    return VerificationResult(
        valid=False,
        format=format_name,
        stage=error.stage or None,
        error_code=error.code,
        reason=error.message,
        issuer=issuer if isinstance(issuer, str) else None,
        payload=payload if isinstance(payload, dict) else None,
        kid=kid if isinstance(kid, str) else None,
        schema_release=release if isinstance(release, str) else None,
    )
