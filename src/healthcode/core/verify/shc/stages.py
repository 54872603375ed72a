"""The SMART Health Cards (``shc:/``) format: :class:`ShcFormat` and its typed :class:`ShcSettings`.

See :mod:`healthcode.core.verify.shc` for the plan; the numbered comments mark its steps.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from cryptography.exceptions import InvalidSignature

from healthcode.core.codes import cose
from healthcode.core.error_codes import ErrorCode, Stage
from healthcode.core.errors import VerificationFailed
from healthcode.core.keys import NO_KEYS, KeyStore, TrustedKey
from healthcode.core.verify.result import VerificationResult
from healthcode.core.verify.shc.fhir import facts_of
from healthcode.core.verify.shc.jws import (
    PREFIX,
    Jws,
    decode_jws,
    decode_numeric,
    parse_json_object,
)
from healthcode.core.verify.shc.trust import ShcTrust
from healthcode.core.verify.stages import DEFAULT_SKEW, guarded, stage, trusted_keys

__all__ = [
    "FORMAT",
    "MAX_PAYLOAD_BYTES",
    "ShcFormat",
    "ShcParts",
    "ShcSettings",
    "inflate_raw",
    "verify_es256",
]

FORMAT = "shc"
#: A SHC payload fits in a QR code once compressed; inflating past this is an attack.
MAX_PAYLOAD_BYTES = 256 * 1024
#: The credential type every SMART Health Card carries.
HEALTH_CARD = "https://smarthealth.cards#health-card"


def verify_es256(jws: Jws, public_key: Any) -> None:
    """Check an ES256 JWS signature (64 bytes, r then s); raises ``SIGNATURE_INVALID``."""
    try:
        cose.verify_es256(public_key, jws.signature, jws.signing_input)
    except InvalidSignature as exc:
        raise VerificationFailed(
            ErrorCode.SIGNATURE_INVALID, "the signature does not verify with the issuer's key"
        ) from exc


def inflate_raw(data: bytes, *, max_size: int = MAX_PAYLOAD_BYTES) -> bytes:
    """Inflate raw DEFLATE (RFC 1951), at most ``max_size`` bytes; ``DECOMPRESS_FAILED``."""
    inflater = zlib.decompressobj(wbits=-15)
    try:
        out = inflater.decompress(data, max_size)
    except zlib.error as exc:
        raise VerificationFailed(ErrorCode.DECOMPRESS_FAILED, f"not raw DEFLATE: {exc}") from exc
    if inflater.unconsumed_tail or not inflater.eof or inflater.unused_data:
        raise VerificationFailed(
            ErrorCode.DECOMPRESS_FAILED, "DEFLATE stream truncated, too long or followed by bytes"
        )
    return out


@dataclass(frozen=True, slots=True)
class ShcSettings:
    """What a checkpoint gives the SHC format: trusted issuers (an :class:`ShcTrust`)."""

    trust: KeyStore = NO_KEYS
    skew: timedelta = DEFAULT_SKEW


@dataclass(frozen=True, slots=True)
class ShcParts:
    """The replaceable parts of a SMART Health Card: text decoders, signature check, limit."""

    numeric: Callable[[str], str] = decode_numeric
    jws: Callable[[str], Jws] = decode_jws
    signature: Callable[[Jws, Any], None] = verify_es256
    max_payload_bytes: int = MAX_PAYLOAD_BYTES


@dataclass(frozen=True)
class ShcFormat:
    """The SMART Health Card stages (the plan in :mod:`healthcode.core.verify.shc`)."""

    settings: ShcSettings
    parts: ShcParts = field(default_factory=ShcParts)
    name: ClassVar[str] = FORMAT
    prefix: ClassVar[str] = PREFIX

    def verify(self, text: str, now: datetime) -> VerificationResult:
        """Verify one ``shc:/`` text (or every chunk of one card) at ``now``; raises
        VerificationFailed at the first failure."""
        # 1-2. numeric text, compact JWS
        jws = self._jws(self._numeric(text))
        # 3. signature: the issuer key with this kid (its kid is its thumbprint)
        key = self._check_signature(jws)
        # 4. raw DEFLATE, JSON
        payload = self._payload(jws)
        try:
            # 5. claims, and the key's x5c chain to an anchor (when the checkpoint holds any)
            nbf, exp = self._check_claims(payload, key, now)
            self._check_x5c(key, now)
            # 6. the credential and its FHIR bundle
            vc, facts = _credential(payload)
            # 7. revocation by rid
            warnings = self._check_revocation(jws, vc, payload)
        except VerificationFailed as exc:
            exc.details.update(kid=jws.kid, issuer=key.issuer)
            raise
        if key.not_after is not None and now > key.not_after:
            warnings.append(f"the key's x5c certificate expired at {key.not_after.isoformat()}")
        return VerificationResult(
            valid=True,
            format=FORMAT,
            issuer=key.issuer,
            badges=tuple(f"immunization {i['vaccine']}" for i in facts["immunizations"]),
            subject=facts["patient"],
            payload={"facts": facts, "types": vc.get("type"), "rid": vc.get("rid")},
            issued_at=nbf,
            expires_at=exp,
            kid=jws.kid,
            warnings=tuple(warnings),
        )

    @stage(Stage.NUMERIC)
    def _numeric(self, text: str) -> str:
        numeric = self.parts.numeric
        compact: str = guarded(
            ErrorCode.SHC_NUMERIC_INVALID, "numeric decoding", numeric, text, returns=str
        )
        return compact

    @stage(Stage.JWS)
    def _jws(self, compact: str) -> Jws:
        jws: Jws = guarded(
            ErrorCode.JWS_MALFORMED, "JWS decoding", self.parts.jws, compact, returns=Jws
        )
        return jws

    @stage(Stage.SIGNATURE)
    def _check_signature(self, jws: Jws) -> TrustedKey:
        candidates = trusted_keys(self.settings.trust, jws.kid.encode("utf-8"), jws.kid)
        for key in candidates:
            if key.revoked:
                continue
            try:
                verdict = guarded(
                    ErrorCode.SIGNATURE_INVALID,
                    "the signature check",
                    self.parts.signature,
                    jws,
                    key.public_key,
                )
            except VerificationFailed:
                continue
            if verdict is None:  # a check raises to refuse; anything it returns is no "yes"
                return key
        raise VerificationFailed(
            ErrorCode.SIGNATURE_INVALID, "the signature does not verify with the issuer's key"
        )

    @stage(Stage.SIGNATURE)
    def _check_x5c(self, key: TrustedKey, now: datetime) -> None:
        store = self.settings.trust
        if isinstance(store, ShcTrust):
            store.check_x5c(key, key.issuer, now)

    @stage(Stage.DECOMPRESS)
    def _payload(self, jws: Jws) -> dict[str, Any]:
        return parse_json_object(
            inflate_raw(jws.payload, max_size=self.parts.max_payload_bytes), "the payload"
        )

    @stage(Stage.CLAIMS)
    def _check_claims(
        self, payload: Mapping[str, Any], key: TrustedKey, now: datetime
    ) -> tuple[datetime | None, datetime | None]:
        """``iss`` is the key's issuer, ``nbf``/``exp`` hold at ``now``; returns (nbf, exp)."""
        if str(payload.get("iss", "")).rstrip("/") != key.issuer:
            raise VerificationFailed(
                ErrorCode.SHC_ISSUER_MISMATCH,
                f"iss {payload.get('iss')!r} is not the key's issuer {key.issuer!r}",
            )
        skew = self.settings.skew
        nbf = _instant(payload.get("nbf"), "nbf")
        exp = _instant(payload.get("exp"), "exp")
        if nbf is not None and nbf > now + skew:
            raise VerificationFailed(
                ErrorCode.CWT_NOT_YET_VALID, f"not valid before {nbf.isoformat()}"
            )
        if exp is not None and exp < now - skew:
            raise VerificationFailed(ErrorCode.CWT_EXPIRED, f"expired at {exp.isoformat()}")
        return nbf, exp

    @stage(Stage.REVOCATION)
    def _check_revocation(
        self, jws: Jws, vc: Mapping[str, Any], payload: Mapping[str, Any]
    ) -> list[str]:
        """Raises ``REVOKED`` for a revoked ``rid``; returns warnings."""
        store = self.settings.trust
        if not isinstance(store, ShcTrust):
            return []
        rid = vc.get("rid")
        if rid is not None:
            why = store.revocation_of(jws.kid, str(rid), float(payload.get("nbf") or 0))
            if why:
                raise VerificationFailed(ErrorCode.REVOKED, why)
        if store.crl_expected(jws.kid) and not store.has_crl_for(jws.kid):
            return ["the issuer publishes a revocation list that is not held"]
        return []


def _instant(value: Any, name: str) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise VerificationFailed(ErrorCode.CWT_MALFORMED, f"{name} must be a number of seconds")
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise VerificationFailed(ErrorCode.CWT_MALFORMED, f"{name} is out of range") from exc


@stage(Stage.SCHEMA)
def _credential(payload: Mapping[str, Any]) -> tuple[Mapping[str, Any], dict[str, Any]]:
    """The verifiable credential and the facts of its FHIR bundle; raises ``SCHEMA_INVALID``."""
    vc = payload.get("vc")
    subject = vc.get("credentialSubject") if isinstance(vc, Mapping) else None
    bundle = subject.get("fhirBundle") if isinstance(subject, Mapping) else None
    types = vc.get("type") if isinstance(vc, Mapping) else None
    if (
        not isinstance(vc, Mapping)
        or not isinstance(bundle, Mapping)
        or bundle.get("resourceType") != "Bundle"
        or not isinstance(bundle.get("entry"), list)
        or not isinstance(types, list)
        or HEALTH_CARD not in types
    ):
        raise VerificationFailed(ErrorCode.SCHEMA_INVALID, "not a health card with a FHIR Bundle")
    return vc, facts_of(bundle)
