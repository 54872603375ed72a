"""The native format (``CN1:``): :class:`NativeFormat` and its typed :class:`NativeSettings`.

The plan, each step one stage (codes raised at that stage in brackets)::

    1. prefix      "CN1:"                                    [PREFIX_INVALID]
    2. base45      RFC 9285, strict                          [BASE45_INVALID]
    3. decompress  zlib, bounded; optional (codes.native)    [DECOMPRESS_FAILED]
    4. cose        COSE_Sign1, kid, alg                      [COSE_MALFORMED, KID_MISSING,
                                                              ALG_UNSUPPORTED]
    5. signature   every trust-list key sharing the kid      [KEY_NOT_IN_TRUST_LIST, KEY_REVOKED,
                                                              SIGNATURE_INVALID]
    6. claims      iat/exp at the verifier's instant, bounded [CWT_MALFORMED, CWT_EXPIRED,
                   skew; signer valid at iat and now; not     CWT_NOT_YET_VALID, KEY_EXPIRED,
                   retired before iat; iss = signer province  KEY_NOT_YET_VALID, SIGNER_RETIRED,
                                                              ISSUER_MISMATCH]
    7. schema      the native payload schema                 [PAYLOAD_INVALID,
                                                              PAYLOAD_VERSION_UNKNOWN]
    8. revocation  the code's serial                         [CODE_REVOKED, REVOCATION_UNAVAILABLE]
    9. status_list the code's entry in the hub's Token       [STATUS_LIST_MISSING,
                   Status List (when the checkpoint holds     STATUS_LIST_STALE,
                   lists): the issuer's list, fresh, index    STATUS_LIST_STALE,
                   inside, 0 VALID; 1 INVALID, 2 SUSPENDED:   STATUS_INDEX_OUT_OF_RANGE,
                   revoked; 3 SUPERSEDED                      CODE_REVOKED, CODE_SUPERSEDED]
   10. rules       CertLogic acceptance rules of this        [RULE_FAILED, RULE_ERROR]
                   checkpoint (per destination); FULL_CODE_RULE
                   refuses a light code where the worker must
                   compare name and ID
   11. result      pass, colour, badges, masked identity, issuer, profile

Any other exception inside a stage fails the code with ``STAGE_FAULT`` at that stage.

The decoders, the zlib limit and the signature check are the format's :class:`CoseParts`
(replaceable, e.g. by a faulty one in a test). Trust material: ``NativeSettings.trust`` should
be a :class:`NativeTrust` (the :class:`healthcode.core.trust.trustlist.TrustList` is one); a key
store without revocation information fails closed (``REVOCATION_UNAVAILABLE``).

Acceptance rules: ``NativeSettings.rules`` is a list of ``{"id", "logic", "description"?,
"destination"?}``; ``logic`` is CertLogic over ``{"payload": NativePayload.to_json(),
"external": {"validationClock", "destination"}}``, compiled once when the format is built. A
rule with a ``destination`` (a GB/T 2260 code) applies only at checkpoints within it
(``NativeSettings.destination``). By default :data:`DEFAULT_RULES` apply: the code must be green.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, ClassVar, Protocol, runtime_checkable

from healthcode.core import certlogic, regions
from healthcode.core.codes.cwt import check_times, decode_claims
from healthcode.core.codes.native import PREFIX, PROFILE_LIGHT, NativePayload, parse_payload
from healthcode.core.codes.status_list import (
    STATUS_SUPERSEDED,
    STATUS_VALID,
    province_of_uri,
)
from healthcode.core.error_codes import ErrorCode, Stage
from healthcode.core.errors import CertLogicError, InvalidInput, TrustError, VerificationFailed
from healthcode.core.keys import NO_KEYS, KeyStore, TrustedKey
from healthcode.core.trust.status_lists import StatusListToken
from healthcode.core.verify.result import VerificationResult
from healthcode.core.verify.stages import (
    DEFAULT_SKEW,
    CoseParts,
    check_key_validity,
    check_signature,
    decode_base45,
    decode_cose,
    inflate,
    stage,
    strip_prefix,
)

__all__ = [
    "DEFAULT_RULES",
    "FORMAT",
    "FULL_CODE_RULE",
    "AcceptanceRule",
    "NativeFormat",
    "NativeSettings",
    "NativeTrust",
    "StatusListSource",
    "check_rules",
    "compile_rules",
]

FORMAT = "native"
#: Applied when a checkpoint configures no native acceptance rules.
DEFAULT_RULES: tuple[Mapping[str, Any], ...] = (
    {
        "id": "NATIVE-GREEN",
        "description": "Only a green code passes.",
        "logic": {"===": [{"var": "payload.colour"}, "green"]},
    },
)


#: An acceptance rule for checkpoints where the worker compares name and ID with a document:
#: a light code (colour only) is refused there (``RULE_FAILED``, rule ``NATIVE-FULL``).
FULL_CODE_RULE: Mapping[str, Any] = {
    "id": "NATIVE-FULL",
    "description": "A light code shows no name or ID: this checkpoint needs the full code.",
    "logic": {"===": [{"var": "payload.profile"}, "full"]},
}


@runtime_checkable
class NativeTrust(KeyStore, Protocol):
    """A key store that also knows revoked serials and retired signers (a trust list)."""

    def is_serial_revoked(self, serial: bytes) -> bool: ...

    def retired_at(self, kid: bytes) -> datetime | None: ...


class StatusListSource(Protocol):
    """Status List Tokens held by URI (``core/trust/status_lists.py``), opened and verified."""

    def token_for(self, uri: str) -> StatusListToken | None: ...


#: How old a held status list may be (from its iat) before codes are refused against it.
DEFAULT_STATUS_MAX_AGE = timedelta(hours=24)


@dataclass(frozen=True, slots=True)
class NativeSettings:
    """What a checkpoint gives the native format: trust list, acceptance rules, its place,
    the status lists it holds (None: no status check) and how old they may be."""

    trust: KeyStore = NO_KEYS
    rules: Sequence[Mapping[str, Any]] = DEFAULT_RULES
    destination: str | None = None  # the checkpoint's GB/T 2260 code, for scoped rules
    skew: timedelta = DEFAULT_SKEW
    status_lists: StatusListSource | None = None
    status_max_age: timedelta = DEFAULT_STATUS_MAX_AGE


@dataclass(frozen=True, slots=True)
class AcceptanceRule:
    """One acceptance rule with its CertLogic compiled (or why it does not compile)."""

    id: str
    description: str
    destination: str | None
    run: certlogic.Compiled | None
    error: CertLogicError | None = None


def compile_rules(rules: Sequence[Mapping[str, Any]]) -> tuple[AcceptanceRule, ...]:
    """Compile acceptance rules once.

    A rule whose logic is not CertLogic is kept with its error: every code it applies to then
    fails with ``RULE_ERROR``, as when a rule fails to evaluate.
    """
    out = []
    for rule in rules:
        rule_id = str(rule.get("id", "?"))
        scope = rule.get("destination")
        run: certlogic.Compiled | None = None
        error: CertLogicError | None = None
        try:
            run = certlogic.compile(rule.get("logic"))
        except CertLogicError as exc:
            error = exc
        out.append(
            AcceptanceRule(
                id=rule_id,
                description=str(rule.get("description") or f"rule {rule_id} is not met"),
                destination=None if scope is None else str(scope),
                run=run,
                error=error,
            )
        )
    return tuple(out)


def check_rules(
    payload: Mapping[str, Any],
    rules: Sequence[AcceptanceRule],
    *,
    now: datetime,
    destination: str | None,
) -> None:
    """Apply acceptance rules to a payload's JSON form at ``now`` (the validation clock).

    Raises ``RULE_FAILED`` / ``RULE_ERROR`` (stage rules).
    """
    data = {
        "payload": payload,
        "external": {"validationClock": now.isoformat(), "destination": destination},
    }
    for rule in rules:
        if rule.destination is not None and not _within(destination, rule.destination):
            continue
        try:
            if rule.run is None:
                assert rule.error is not None
                raise rule.error
            passed = certlogic.boolsiness(rule.run(data))
        except CertLogicError as exc:
            raise VerificationFailed(
                ErrorCode.RULE_ERROR, f"rule {rule.id}: {exc.message}", rule=rule.id
            ) from exc
        if not passed:
            raise VerificationFailed(ErrorCode.RULE_FAILED, rule.description, rule=rule.id)


def _within(destination: str | None, scope: str) -> bool:
    if destination is None:
        return False
    try:
        return destination == scope or regions.is_within(destination, scope)
    except InvalidInput:
        return False


@dataclass(frozen=True)
class NativeFormat:
    """The native format's stages (the module docstring's plan) over its settings and parts."""

    settings: NativeSettings
    parts: CoseParts = field(default_factory=CoseParts)
    name: ClassVar[str] = FORMAT
    prefix: ClassVar[str] = PREFIX
    rules: tuple[AcceptanceRule, ...] = field(init=False, repr=False)
    #: The trust material as a NativeTrust, None when it carries no revocation information.
    native_trust: NativeTrust | None = field(init=False, repr=False)

    def __post_init__(self) -> None:
        trust = self.settings.trust
        object.__setattr__(self, "rules", compile_rules(self.settings.rules))
        object.__setattr__(self, "native_trust", trust if isinstance(trust, NativeTrust) else None)

    def verify(self, text: str, now: datetime) -> VerificationResult:
        """Run the stages on ``text`` at ``now``; raises VerificationFailed at the first failure."""
        parts, trust = self.parts, self.settings.trust
        # 1-4. prefix, Base45, zlib, COSE
        data = decode_base45(strip_prefix(text, PREFIX), decode=parts.base45)
        cose = inflate(data, max_size=parts.max_inflated_bytes, optional=True)
        msg = decode_cose(cose, decode=parts.cose)
        # 5. signature, with every key sharing the kid
        key = check_signature(msg, trust, check=parts.signature)
        try:
            # 6. claims and the signer's standing
            claims = self._check_claims(msg.payload, key, now)
            # 7. schema
            payload, as_json = _parse(claims)
            # 8. revocation of this code
            self._check_revocation(payload, as_json)
            # 9. the code's entry in the hub's status list
            self._check_status(payload, as_json, now)
            # 10. light codes, acceptance rules of this checkpoint
            self._check_rules(as_json, now)
        except VerificationFailed as exc:
            exc.details.setdefault("kid", key.kid.hex())
            exc.details.setdefault("issuer", key.issuer)
            raise
        # 11. result
        return VerificationResult(
            valid=True,
            format=FORMAT,
            reason="valid",
            issuer=payload.issuer,
            colour=payload.colour,
            badges=payload.badges,
            subject=(
                {"pseudonym": payload.subject}
                if payload.profile == PROFILE_LIGHT
                else {
                    "name": payload.masked_name,
                    "id": payload.masked_id,
                    "pseudonym": payload.subject,
                }
            ),
            profile=payload.profile,
            payload=as_json,
            issued_at=payload.issued_at,
            expires_at=payload.expires_at,
            kid=key.kid.hex(),
        )

    @stage(Stage.CLAIMS)
    def _check_claims(self, raw: bytes, key: TrustedKey, now: datetime) -> dict[Any, Any]:
        """The claims: times at ``now``; the signer valid at iat and now, its province the
        issuer, and not retired before iat."""
        claims = decode_claims(raw)
        skew = self.settings.skew
        issued_at, expires_at = check_times(claims, now, skew=skew)
        if issued_at is None or expires_at is None:
            raise VerificationFailed(ErrorCode.CWT_MALFORMED, "iat and exp are required")
        check_key_validity(key, issued_at)
        check_key_validity(key, now)
        if claims.get(1) != key.issuer:
            raise VerificationFailed(
                ErrorCode.ISSUER_MISMATCH,
                f"the code claims issuer {claims.get(1)!r}, its signer belongs to {key.issuer}",
            )
        trust = self._native_trust()
        retired = trust.retired_at(key.kid)
        if retired is not None and issued_at > retired + skew:
            raise VerificationFailed(
                ErrorCode.SIGNER_RETIRED,
                f"the signer retired at {retired.isoformat()}, before this code was issued",
            )
        return claims

    def _native_trust(self) -> NativeTrust:
        if self.native_trust is None:
            raise VerificationFailed(
                ErrorCode.REVOCATION_UNAVAILABLE, "the key store carries no revocation information"
            )
        return self.native_trust

    @stage(Stage.RULES)
    def _check_rules(self, as_json: dict[str, Any], now: datetime) -> None:
        try:
            check_rules(as_json, self.rules, now=now, destination=self.settings.destination)
        except VerificationFailed as exc:
            exc.details["payload"] = as_json
            raise

    @stage(Stage.REVOCATION)
    def _check_revocation(self, payload: NativePayload, as_json: dict[str, Any]) -> None:
        if self._native_trust().is_serial_revoked(payload.serial):
            raise VerificationFailed(
                ErrorCode.CODE_REVOKED, f"code {payload.serial.hex()} is revoked", payload=as_json
            )

    @stage(Stage.STATUS_LIST)
    def _check_status(self, payload: NativePayload, as_json: dict[str, Any], now: datetime) -> None:
        """The draft's "Validation Rules" 1-7 on a code that passed every check before."""
        lists, ref = self.settings.status_lists, payload.status
        if lists is None or ref is None:
            return  # no lists held, or a code of an issuer that gives none: serials only
        listed = province_of_uri(ref.uri)
        if listed is None or listed[0] != payload.issuer:
            raise _listed(ErrorCode.PAYLOAD_INVALID, f"{ref.uri} is not the issuer's list", as_json)
        token = lists.token_for(ref.uri)
        if token is None:
            raise _listed(ErrorCode.STATUS_LIST_MISSING, f"no status list {ref.uri}", as_json)
        try:
            token.check_fresh(now, max_age=self.settings.status_max_age, skew=self.settings.skew)
        except TrustError as exc:
            raise _listed(exc.code, exc.message, as_json) from exc
        try:
            value = token.status_list.get(ref.idx)
        except IndexError as exc:
            raise _listed(ErrorCode.STATUS_INDEX_OUT_OF_RANGE, str(exc), as_json) from exc
        if value == STATUS_SUPERSEDED:
            raise _listed(ErrorCode.CODE_SUPERSEDED, "a newer colour state replaced it", as_json)
        if value != STATUS_VALID:
            raise _listed(ErrorCode.CODE_REVOKED, f"status {value} in {ref.uri}", as_json)


def _listed(code: ErrorCode, message: str, as_json: dict[str, Any]) -> VerificationFailed:
    return VerificationFailed(code, message, stage=Stage.STATUS_LIST, payload=as_json)


@stage(Stage.SCHEMA)
def _parse(claims: Mapping[Any, Any]) -> tuple[NativePayload, dict[str, Any]]:
    """The native payload of the claims, and its JSON form."""
    payload = parse_payload(claims)
    return payload, payload.to_json()
