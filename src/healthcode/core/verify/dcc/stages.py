"""The EU DCC (``HC1:``) format: :class:`DccFormat` and its typed :class:`DccSettings`.

See :mod:`healthcode.core.verify.dcc` for the plan; the numbered comments mark its steps.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, ClassVar

from cryptography import x509
from cryptography.x509.oid import NameOID

from healthcode.core.codes.cose import CoseSign1
from healthcode.core.codes.cwt import ISS, check_times
from healthcode.core.error_codes import ErrorCode, Stage
from healthcode.core.errors import VerificationFailed
from healthcode.core.keys import NO_KEYS, KeyStore, TrustedKey
from healthcode.core.verify.dcc.payload import badges_of, dcc_kind, decode_dcc_claims, subject_of
from healthcode.core.verify.dcc.revocation import DccRevocationList, check_revocation
from healthcode.core.verify.dcc.rules import check_rules, external_data, shipped_value_sets
from healthcode.core.verify.dcc.schema import DccSchema, shipped_schema, validate_schema
from healthcode.core.verify.dcc.valuesets import check_value_sets
from healthcode.core.verify.result import VerificationResult
from healthcode.core.verify.stages import (
    DEFAULT_SKEW,
    CoseParts,
    check_signature,
    decode_base45,
    decode_cose,
    inflate,
    stage,
    strip_prefix,
)

__all__ = [
    "FORMAT",
    "PREFIX",
    "DccFormat",
    "DccSettings",
    "check_issuer_country",
    "check_key_usage",
    "check_signer_validity",
    "signer_country",
]

PREFIX = "HC1:"
FORMAT = "dcc"


@dataclass(frozen=True, slots=True)
class DccSettings:
    """What a checkpoint gives the EU DCC format: DSCs, the payload schema, business rules.

    ``value_sets`` (value set id: its codes) are checked as their own stage and read by the
    rules; ``revocation`` holds the EU revocation batches (None: no revocation data held).
    """

    trust: KeyStore = NO_KEYS  # a DscTrustList
    schema: DccSchema | None = None  # None: the shipped EU schema (release 1.3.3)
    rules: Sequence[Mapping[str, Any]] = ()  # EU business rules (CertLogic), as dicts
    value_sets: Mapping[str, Any] = field(default_factory=shipped_value_sets)  # the EU ones
    country: str | None = None  # the checkpoint's country, for country rules
    skew: timedelta = DEFAULT_SKEW
    revocation: DccRevocationList | None = None


@stage(Stage.CLAIMS)
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


def signer_country(key: TrustedKey) -> str:
    """The country a DSC signs for: its subject's C, else the country its trust list names."""
    cert = key.certificate
    if isinstance(cert, x509.Certificate):
        try:
            attrs = cert.subject.get_attributes_for_oid(NameOID.COUNTRY_NAME)
        except ValueError:
            attrs = []
        if attrs and isinstance(attrs[0].value, str) and attrs[0].value:
            return attrs[0].value
    return key.issuer


@stage(Stage.CLAIMS)
def check_issuer_country(key: TrustedKey, claims: Mapping[Any, Any]) -> str | None:
    """HCERT 1.3, section 3.3.2: ``iss`` MAY hold the issuing country (ISO 3166-1 alpha-2).

    The signature proves only that the DSC signed; the DSC lists are per country, and a
    country's CSCA names the country it issues for (HCERT section 5). A code whose ``iss``
    names another country than its signer's claims an authority that its signer does not hold
    (and ``iss`` chooses the issuer country the business rules see): it fails with
    ``ISSUER_COUNTRY_MISMATCH`` (stage claims). ``iss`` that is not text is ``CWT_MALFORMED``.
    Returns a warning when the check cannot be made (the DSC names no country), else None.
    """
    iss = claims.get(ISS)
    if iss is None:
        return None
    if not isinstance(iss, str):
        raise VerificationFailed(ErrorCode.CWT_MALFORMED, "iss (claim 1) must be text")
    country = signer_country(key)
    if not country:
        return f"ISSUER_UNCHECKED: iss {iss!r} is not checked: the signer names no country"
    if iss.upper() != country.upper():
        raise VerificationFailed(
            ErrorCode.ISSUER_COUNTRY_MISMATCH,
            f"iss {iss!r} is not the country of the signer certificate ({country!r})",
            issuer=country,
        )
    return None


@stage(Stage.KEY_USAGE)
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
        """Steps 4-11, from the COSE bytes on."""
        settings = self.settings
        # 4. COSE
        msg = decode_cose(cose_bytes, decode=self.parts.cose)
        # 5. signature: every DSC sharing the kid is tried
        key = check_signature(msg, settings.trust, check=self.parts.signature)
        kid_b64 = base64.b64encode(key.kid).decode()
        # 6. claims: times (the clock, then the signer's validity), iss against the DSC
        claims, payload = decode_dcc_claims(msg)
        try:
            issued_at, expires_at, warnings = self._check_claims(claims, key, now)
        except VerificationFailed as exc:
            exc.details.update(kid=kid_b64, payload=payload)
            raise
        issuer = claims.get(ISS) or key.issuer
        schema = settings.schema or shipped_schema()
        try:
            warnings += self._check_payload(msg, claims, payload, key, schema, now)
        except VerificationFailed as exc:
            exc.details.update(
                kid=kid_b64, payload=payload, issuer=issuer, schema_release=schema.release
            )
            raise
        held = getattr(settings.trust, "warnings", ())
        warnings = tuple(w for w in held if key.kid.hex() in w) + warnings
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
            warnings=warnings,
            schema_release=schema.release,
        )

    def _check_payload(
        self,
        msg: CoseSign1,
        claims: Mapping[Any, Any],
        payload: Mapping[str, Any],
        key: TrustedKey,
        schema: DccSchema,
        now: datetime,
    ) -> tuple[str, ...]:
        """Steps 7-11 on a signed payload with valid times; returns warnings."""
        settings = self.settings
        # 7. the DSC's key usage
        check_key_usage(key, payload)
        # 8. schema
        validate_schema(payload, schema)
        # 9. value sets
        warnings = check_value_sets(payload, settings.value_sets)
        # 10. revocation: the UCI, country+UCI and signature hashes
        iss = claims.get(ISS)
        check_revocation(
            settings.revocation,
            kid=key.kid,
            payload=payload,
            country=iss if isinstance(iss, str) else signer_country(key),
            signature=msg.signature,
            alg=msg.alg,
        )
        # 11. acceptance rules
        self._check_rules(claims, payload, key, now)
        return warnings

    @stage(Stage.CLAIMS)
    def _check_claims(
        self, claims: Mapping[Any, Any], key: TrustedKey, now: datetime
    ) -> tuple[datetime | None, datetime | None, tuple[str, ...]]:
        """(issued at, expires at, warnings): the times at ``now`` and within the signer's
        validity, and the ``iss`` claim against the signer's country."""
        skew = self.settings.skew
        issued_at, expires_at = check_times(claims, now, skew=skew)
        expires_at, exp_warning = check_signer_validity(
            key, issued_at, expires_at, now=now, skew=skew
        )
        iss_warning = check_issuer_country(key, claims)
        return issued_at, expires_at, tuple(w for w in (exp_warning, iss_warning) if w)

    @stage(Stage.RULES)
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
