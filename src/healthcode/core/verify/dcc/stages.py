"""The EU DCC (``HC1:``) format: :class:`DccFormat` and its typed :class:`DccSettings`.

See :mod:`healthcode.core.verify.dcc` for the plan; the numbered comments mark its steps.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, ClassVar

from healthcode.core.codes.cwt import ISS, check_times
from healthcode.core.error_codes import ErrorCode
from healthcode.core.errors import VerificationFailed
from healthcode.core.keys import NO_KEYS, KeyStore, TrustedKey
from healthcode.core.verify.dcc.payload import badges_of, dcc_kind, decode_dcc_claims, subject_of
from healthcode.core.verify.dcc.rules import check_rules, external_data
from healthcode.core.verify.dcc.schema import DccSchema, validate_schema
from healthcode.core.verify.result import VerificationResult
from healthcode.core.verify.stages import (
    DEFAULT_SKEW,
    CoseParts,
    check_signature,
    decode_base45,
    decode_cose,
    inflate,
    strip_prefix,
)

__all__ = [
    "FORMAT",
    "PREFIX",
    "DccFormat",
    "DccSettings",
    "check_key_usage",
    "check_signer_validity",
]

PREFIX = "HC1:"
FORMAT = "dcc"


@dataclass(frozen=True, slots=True)
class DccSettings:
    """What a checkpoint gives the EU DCC format: DSCs, the payload schema, business rules."""

    trust: KeyStore = NO_KEYS  # a DscTrustList
    schema: DccSchema | None = None  # without it the schema stage fails closed
    rules: Sequence[Mapping[str, Any]] = ()  # EU business rules (CertLogic), as dicts
    value_sets: Mapping[str, Any] = field(default_factory=dict)
    country: str | None = None  # the checkpoint's country, for country rules
    skew: timedelta = DEFAULT_SKEW


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
        )
    if key.not_after is None or (expires_at is not None and expires_at <= key.not_after):
        return expires_at, None
    if now - skew > key.not_after:
        raise VerificationFailed(
            ErrorCode.CWT_OUTSIDE_SIGNER_VALIDITY,
            f"the signer's validity ended at {key.not_after.isoformat()}",
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
        )


@dataclass(frozen=True)
class DccFormat:
    """The EU DCC stages (the plan in :mod:`healthcode.core.verify.dcc`) over its settings."""

    settings: DccSettings
    parts: CoseParts = field(default_factory=CoseParts)
    name: ClassVar[str] = FORMAT
    prefix: ClassVar[str] = PREFIX

    def verify(self, text: str, now: datetime) -> VerificationResult:
        """Verify one ``HC1:`` text at ``now``; raises VerificationFailed at the first failure."""
        # 1-3. prefix, Base45, zlib
        data = decode_base45(strip_prefix(text, PREFIX), decode=self.parts.base45)
        return self.verify_cose(inflate(data, max_size=self.parts.max_inflated_bytes), now)

    def verify_cose(self, cose_bytes: bytes, now: datetime) -> VerificationResult:
        """Steps 4-9, from the COSE bytes on."""
        settings = self.settings
        # 4. COSE
        msg = decode_cose(cose_bytes, decode=self.parts.cose)
        # 5. signature: every DSC sharing the kid is tried
        key = check_signature(msg, settings.trust, check=self.parts.signature)
        kid_b64 = base64.b64encode(key.kid).decode()
        # 6. claims and times (the clock, then the signer's validity)
        claims, payload = decode_dcc_claims(msg)
        try:
            issued_at, expires_at = check_times(claims, now, skew=settings.skew)
            expires_at, exp_warning = check_signer_validity(
                key, issued_at, expires_at, now=now, skew=settings.skew
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
            validate_schema(payload, settings.schema)
            # 9. acceptance rules
            self._check_rules(claims, payload, key, now)
        except VerificationFailed as exc:
            exc.details.update(kid=kid_b64, payload=payload, issuer=issuer)
            raise
        held = getattr(settings.trust, "warnings", ())
        warnings = tuple(w for w in held if key.kid.hex() in w)
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
            warnings=warnings + ((exp_warning,) if exp_warning else ()),
        )

    def _check_rules(
        self, claims: Mapping[Any, Any], payload: Mapping[str, Any], key: TrustedKey, now: datetime
    ) -> None:
        settings = self.settings
        if not settings.rules:
            return
        external = external_data(
            claims, key.kid, now=now, value_sets=settings.value_sets, country=settings.country
        )
        failed = check_rules(settings.rules, payload, external, now=now, country=settings.country)
        if failed:
            raise VerificationFailed(
                ErrorCode.RULES_FAILED,
                "; ".join(f"{f.identifier} ({f.result}): {f.description}" for f in failed),
                rules=",".join(f.identifier for f in failed),
            )
