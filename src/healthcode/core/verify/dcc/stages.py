"""The EU DCC (``HC1:``) stages in the verifier pipeline; registers the format on import.

See :mod:`healthcode.core.verify.dcc` for the plan; the numbered comments mark its steps.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from healthcode.core.codes.cwt import ISS, check_times
from healthcode.core.error_codes import ErrorCode
from healthcode.core.errors import VerificationFailed
from healthcode.core.verify.dcc.payload import badges_of, dcc_kind, decode_dcc_claims, subject_of
from healthcode.core.verify.dcc.rules import check_rules, external_data
from healthcode.core.verify.dcc.schema import schema_of, validate_schema
from healthcode.core.verify.keys import TrustedKey
from healthcode.core.verify.pipeline import VerifyContext, register_format
from healthcode.core.verify.result import Stage, VerificationResult
from healthcode.core.verify.stages import (
    check_signature,
    decode_base45,
    decode_cose,
    inflate,
    strip_prefix,
)

__all__ = [
    "FORMAT",
    "PREFIX",
    "check_key_usage",
    "check_signer_validity",
    "verify_dcc",
    "verify_dcc_cose",
]

PREFIX = "HC1:"
FORMAT = "dcc"


def check_signer_validity(
    key: TrustedKey,
    issued_at: datetime | None,
    expires_at: datetime | None,
    *,
    now: datetime,
    skew: timedelta,
) -> tuple[datetime | None, str | None]:
    """HCERT 3.3.3: ``iat`` must not predate the DSC, and ``exp`` must not exceed it.

    An ``exp`` past the DSC's end is an issuer's fault, not a forgery: the certificate then
    expires with its signer (the effective expiry is the earlier of the two, returned with a
    warning). Raises ``CWT_OUTSIDE_SIGNER_VALIDITY`` (stage claims) when ``iat`` predates the
    DSC, or when ``now`` is past the DSC's end (with skew).
    """
    if issued_at is not None and key.not_before is not None and issued_at < key.not_before:
        raise VerificationFailed(
            ErrorCode.CWT_OUTSIDE_SIGNER_VALIDITY,
            f"issued at {issued_at.isoformat()}, before the signer's validity",
            stage=Stage.CLAIMS,
        )
    if key.not_after is None or (expires_at is not None and expires_at <= key.not_after):
        return expires_at, None
    if now - skew > key.not_after:
        raise VerificationFailed(
            ErrorCode.CWT_OUTSIDE_SIGNER_VALIDITY,
            f"the signer's validity ended at {key.not_after.isoformat()}",
            stage=Stage.CLAIMS,
        )
    stated = expires_at.isoformat() if expires_at else "no exp"
    return key.not_after, f"exp ({stated}) exceeds the signer's validity; expires with the signer"


def check_key_usage(key: TrustedKey, payload: Mapping[str, Any]) -> None:
    """A DSC with HCERT EKU OIDs may sign only those kinds; ``KEY_USAGE_MISMATCH``."""
    kind = dcc_kind(payload)
    if key.usages and kind is not None and kind not in key.usages:
        raise VerificationFailed(
            ErrorCode.KEY_USAGE_MISMATCH,
            f"the signer may sign {sorted(key.usages)} certificates, not {kind!r}",
            stage=Stage.KEY_USAGE,
        )


def verify_dcc(text: str, context: VerifyContext) -> VerificationResult:
    """Verify one ``HC1:`` text; returns a valid result or raises VerificationFailed."""
    # 1-3. prefix, Base45, zlib
    cose_bytes = inflate(decode_base45(strip_prefix(text, PREFIX)))
    return verify_dcc_cose(cose_bytes, context)


def verify_dcc_cose(cose_bytes: bytes, context: VerifyContext) -> VerificationResult:
    """Steps 4-9 of :func:`verify_dcc`, from the COSE bytes on."""
    now = context.clock.now()
    # 4. COSE
    msg = decode_cose(cose_bytes)
    # 5. signature: every DSC sharing the kid is tried
    key = check_signature(msg, context.keys(FORMAT))
    kid_b64 = base64.b64encode(key.kid).decode()
    # 6. claims and times (the clock, then the signer's validity)
    claims, payload = decode_dcc_claims(msg)
    try:
        issued_at, expires_at = check_times(claims, context.clock, skew=context.skew)
        expires_at, exp_warning = check_signer_validity(
            key, issued_at, expires_at, now=now, skew=context.skew
        )
    except VerificationFailed as exc:
        exc.details.update(kid=kid_b64, payload=payload)
        raise
    iss = claims.get(ISS)
    issuer = iss if isinstance(iss, str) else key.issuer
    try:
        # 7. the DSC's key usage
        check_key_usage(key, payload)
        # 8. schema
        validate_schema(payload, schema_of(context))
        # 9. acceptance rules
        rules = context.acceptance_rules.get(FORMAT) or ()
        if rules:
            failed = check_rules(
                rules,
                payload,
                external_data(context, claims, key.kid, now),
                now=now,
                country=context.country,
            )
            if failed:
                raise VerificationFailed(
                    ErrorCode.RULES_FAILED,
                    "; ".join(f"{f.identifier} ({f.result}): {f.description}" for f in failed),
                    stage=Stage.RULES,
                    rules=",".join(f.identifier for f in failed),
                )
    except VerificationFailed as exc:
        exc.details.update(kid=kid_b64, payload=payload, issuer=issuer)
        raise
    held = getattr(context.keys(FORMAT), "warnings", ())
    warnings = tuple(w for w in held if key.kid.hex() in w) + (
        (exp_warning,) if exp_warning else ()
    )
    return VerificationResult(
        valid=True,
        format=FORMAT,
        issuer=issuer,
        badges=badges_of(payload),
        subject=subject_of(payload),
        payload=payload,
        issued_at=issued_at,
        expires_at=expires_at,
        kid=kid_b64,
        warnings=tuple(warnings),
    )


register_format(PREFIX, FORMAT, verify_dcc)
