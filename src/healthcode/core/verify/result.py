"""The outcome of verifying one credential, whatever its format.

A verifier stage raises :class:`healthcode.core.errors.VerificationFailed` with a stable code and
the stage's name; the pipeline turns the outcome into a :class:`VerificationResult`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from healthcode.core.error_codes import Stage

__all__ = ["Stage", "VerificationResult"]


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


def _slot_setter(cls: type, name: str) -> Callable[[Any, Any], None]:
    """The slot descriptor's setter of field ``name`` (what a frozen dataclass bypasses)."""
    setter: Callable[[Any, Any], None] = cls.__dict__[name].__set__
    return setter


_NEW = object.__new__
(
    _SET_VALID,
    _SET_FORMAT,
    _SET_STAGE,
    _SET_ERROR_CODE,
    _SET_REASON,
    _SET_ISSUER,
    _SET_COLOUR,
    _SET_BADGES,
    _SET_SUBJECT,
    _SET_PAYLOAD,
    _SET_ISSUED_AT,
    _SET_EXPIRES_AT,
    _SET_KID,
    _SET_WARNINGS,
) = (_slot_setter(VerificationResult, name) for name in VerificationResult.__dataclass_fields__)


def passed_result(
    format: str,
    issuer: str | None,
    colour: str | None,
    badges: tuple[str, ...],
    subject: dict[str, Any],
    payload: dict[str, Any] | None,
    issued_at: datetime | None,
    expires_at: datetime | None,
    kid: str | None,
) -> VerificationResult:
    """``VerificationResult(valid=True, format=..., reason="valid", ...)``, the other fields at
    their defaults, built without the dataclass ``__init__`` (~1 µs cheaper per code).

    The same frozen instance (the tests compare the two).
    """
    result: VerificationResult = _NEW(VerificationResult)
    _SET_VALID(result, True)
    _SET_FORMAT(result, format)
    _SET_STAGE(result, None)
    _SET_ERROR_CODE(result, None)
    _SET_REASON(result, "valid")
    _SET_ISSUER(result, issuer)
    _SET_COLOUR(result, colour)
    _SET_BADGES(result, badges)
    _SET_SUBJECT(result, subject)
    _SET_PAYLOAD(result, payload)
    _SET_ISSUED_AT(result, issued_at)
    _SET_EXPIRES_AT(result, expires_at)
    _SET_KID(result, kid)
    _SET_WARNINGS(result, ())
    return result
