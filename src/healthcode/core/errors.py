"""One error tree for the whole project, each error with a stable code.

The tree::

    HealthcodeError                 root; .code is stable, .details is a dict for machines
    ├── InvalidInput                a value or record is wrong (identity, region, facts, files)
    ├── CertLogicError              a CertLogic expression is invalid or cannot be evaluated
    ├── RuleSetError                a colour rule set is malformed or refused
    │   └── OverlayRefused          a provincial overlay would lower a colour or drop a rule
    ├── VerificationFailed          a credential failed a verifier stage (.stage names it)
    ├── TrustError                  keys, certificates, signed documents, trust lists
    ├── AuditError                  a colour log's proof, checkpoint, note, tile or leaf fails
    ├── AccessDenied                an organisation may not do this
    └── ConfigError                 a configuration variable is missing or does not parse

Every code is declared once in :mod:`healthcode.core.error_codes` (``ErrorCode``) with its
meaning, HTTP status and stage; an error refuses a code that is not declared there.
This module imports only that catalogue.
"""

from __future__ import annotations

from typing import Any

from healthcode.core.error_codes import ErrorCode, Stage

__all__ = [
    "AccessDenied",
    "AuditError",
    "CertLogicError",
    "ConfigError",
    "ErrorCode",
    "HealthcodeError",
    "InvalidInput",
    "OverlayRefused",
    "RuleSetError",
    "TrustError",
    "VerificationFailed",
]


def declared(code: str) -> ErrorCode:
    """The catalogue's entry for ``code``; ValueError if it is not declared."""
    try:
        return ErrorCode[code]
    except KeyError:
        raise ValueError(f"{code!r} is not declared in healthcode.core.error_codes") from None


class HealthcodeError(Exception):
    """Root of every error the project raises on purpose.

    >>> e = InvalidInput(ErrorCode.ID_CHECK_DIGIT, "check digit is 7, not X", field="id_number")
    >>> (e.code.value, e.details["field"], e.code.http_status)
    ('ID_CHECK_DIGIT', 'id_number', 422)

    Raises ValueError when ``code`` is not declared in the catalogue.
    """

    def __init__(self, code: ErrorCode, message: str = "", **details: Any) -> None:
        self.code = declared(code)
        self.message = message or self.code.meaning
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


class CertLogicError(HealthcodeError):
    """A CertLogic expression is not valid, or evaluating it failed."""


class RuleSetError(HealthcodeError):
    """A colour rule set is malformed, or fails its schema, digest or validity."""


class OverlayRefused(RuleSetError):
    """A provincial overlay would make the national rules less strict."""


class VerificationFailed(HealthcodeError):
    """A credential failed one stage of the verifier; ``stage`` names it."""

    def __init__(
        self, code: ErrorCode, message: str = "", *, stage: Stage | None = None, **details: Any
    ) -> None:
        name = str(stage or declared(code).stage or "")
        super().__init__(code, message, stage=name, **details)
        self.stage = name


class TrustError(HealthcodeError):
    """Keys, certificates, signed documents and trust lists."""


class AuditError(HealthcodeError):
    """A transparency log's proof, checkpoint, signed note, tile or leaf does not check."""


class AccessDenied(HealthcodeError):
    """The caller's organisation may not do this."""


class ConfigError(HealthcodeError):
    """A configuration variable is missing or does not parse; the message names it."""

    def __init__(self, variable: str, problem: str) -> None:
        missing = problem.startswith("is missing")
        code = ErrorCode.CONFIG_MISSING if missing else ErrorCode.CONFIG_INVALID
        super().__init__(code, f"Config '{variable}' {problem}", variable=variable)
        self.variable = variable
