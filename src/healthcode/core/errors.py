"""One error tree for the whole project, each error with a stable code.

The tree::

    HealthcodeError                 root; .code is stable, .details is a dict for machines
    ├── InvalidInput                a value or record is wrong (identity, region, facts, files)
    ├── CertLogicError              a CertLogic expression is invalid or cannot be evaluated
    ├── RuleSetError                a colour rule set is malformed or refused
    │   └── OverlayRefused          a provincial overlay would lower a colour or drop a rule
    ├── VerificationFailed          a credential failed a verifier stage (.stage names it)
    ├── TrustError                  keys, certificates, signed documents, trust lists
    └── AccessDenied                an organisation may not do this

Codes are UPPER_SNAKE strings and never change meaning once published; tests assert them.
This module imports nothing of the package.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "AccessDenied",
    "CertLogicError",
    "HealthcodeError",
    "InvalidInput",
    "OverlayRefused",
    "RuleSetError",
    "TrustError",
    "VerificationFailed",
]


class HealthcodeError(Exception):
    """Root of every error the project raises on purpose.

    >>> e = InvalidInput("ID_CHECK_DIGIT", "check digit is 7, expected X", field="id_number")
    >>> (e.code, e.details["field"])
    ('ID_CHECK_DIGIT', 'id_number')
    """

    default_code = "ERROR"

    def __init__(self, code: str | None = None, message: str = "", **details: Any) -> None:
        self.code = code or self.default_code
        self.message = message or self.code
        self.details: dict[str, Any] = details
        super().__init__(f"{self.code}: {self.message}")

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form: ``{"code", "message", **details}``."""
        out: dict[str, Any] = {"code": self.code, "message": self.message}
        for key, value in self.details.items():
            out[key] = (
                value if isinstance(value, str | int | float | bool | type(None)) else str(value)
            )
        return out


class InvalidInput(HealthcodeError):
    """A value or a record is wrong; ``details`` names the field (and record, where known)."""

    default_code = "INVALID_INPUT"


class CertLogicError(HealthcodeError):
    """A CertLogic expression is not valid, or evaluating it failed."""

    default_code = "CERTLOGIC_ERROR"


class RuleSetError(HealthcodeError):
    """A colour rule set is malformed, or fails its schema, digest or validity."""

    default_code = "RULESET_INVALID"


class OverlayRefused(RuleSetError):
    """A provincial overlay would make the national rules less strict."""

    default_code = "OVERLAY_REFUSED"


class VerificationFailed(HealthcodeError):
    """A credential failed one stage of the verifier; ``stage`` names it."""

    default_code = "VERIFICATION_FAILED"

    def __init__(
        self, code: str | None = None, message: str = "", *, stage: str = "", **details: Any
    ) -> None:
        super().__init__(code, message, stage=stage, **details)
        self.stage = stage


class TrustError(HealthcodeError):
    """Keys, certificates, signed documents and trust lists."""

    default_code = "TRUST_ERROR"


class AccessDenied(HealthcodeError):
    """The caller's organisation may not do this."""

    default_code = "ACCESS_DENIED"
