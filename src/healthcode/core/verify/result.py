"""The outcome of verifying one credential, whatever its format.

A verifier stage raises :class:`healthcode.core.errors.VerificationFailed` with a stable code and
the stage's name; the pipeline turns the outcome into a :class:`VerificationResult`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

__all__ = ["Stage", "VerificationResult"]


class Stage:
    """Stable names of the verifier stages, in pipeline order."""

    PREFIX = "prefix"
    BASE45 = "base45"
    DECOMPRESS = "decompress"
    COSE = "cose"
    SIGNATURE = "signature"
    CLAIMS = "claims"
    KEY_USAGE = "key_usage"  # EU DCC: the signer's EKU does not cover this kind of certificate
    SCHEMA = "schema"
    REVOCATION = "revocation"
    RULES = "rules"
    # SMART Health Cards
    NUMERIC = "numeric"
    JWS = "jws"


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
