"""The native format (``CN1:``) in the verifier pipeline; registers itself on import.

The plan, each step one stage (codes raised at that stage in brackets)::

    1. prefix      "CN1:"                                    [PREFIX_INVALID]
    2. base45      RFC 9285, strict                          [BASE45_INVALID]
    3. decompress  zlib, bounded                             [DECOMPRESS_FAILED]
    4. cose        COSE_Sign1, kid, alg                      [COSE_MALFORMED, KID_MISSING,
                                                              ALG_UNSUPPORTED]
    5. signature   every trust-list key sharing the kid      [KEY_NOT_IN_TRUST_LIST, KEY_REVOKED,
                                                              SIGNATURE_INVALID]
    6. claims      iat/exp on the injected clock, bounded    [CWT_MALFORMED, CWT_EXPIRED,
                   skew; signer valid at iat and now; not     CWT_NOT_YET_VALID, KEY_EXPIRED,
                   retired before iat; iss = signer province  KEY_NOT_YET_VALID, SIGNER_RETIRED,
                                                              ISSUER_MISMATCH]
    7. schema      the native payload schema                 [PAYLOAD_INVALID,
                                                              PAYLOAD_VERSION_UNKNOWN]
    8. revocation  the code's serial                         [CODE_REVOKED, REVOCATION_UNAVAILABLE]
    9. rules       CertLogic acceptance rules of this        [RULE_FAILED, RULE_ERROR]
                   checkpoint (per destination)
   10. result      pass, colour, badges, masked identity, issuer

Trust material: ``context.key_stores["native"]`` must be a :class:`NativeTrust` (the
:class:`healthcode.core.trust.trustlist.TrustList` is one); a key store without revocation
information fails closed (``REVOCATION_UNAVAILABLE``).

Acceptance rules: ``context.acceptance_rules["native"]`` is a list of
``{"id", "logic", "description"?, "destination"?}``; ``logic`` is CertLogic over
``{"payload": NativePayload.to_json(), "external": {"validationClock", "destination"}}``. A rule
with a ``destination`` (a GB/T 2260 code) applies only at checkpoints within it
(``context.options["destination"]``). Without a ``"native"`` entry, :data:`DEFAULT_RULES`
apply: the code must be green.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol, cast, runtime_checkable

from healthcode.core import certlogic, regions
from healthcode.core.codes.cwt import check_times, decode_claims
from healthcode.core.codes.native import PREFIX, NativePayload, parse_payload_at
from healthcode.core.error_codes import ErrorCode
from healthcode.core.errors import CertLogicError, InvalidInput, VerificationFailed
from healthcode.core.verify.keys import KeyStore, TrustedKey
from healthcode.core.verify.pipeline import VerifyContext, register_format
from healthcode.core.verify.result import Stage, VerificationResult, passed_result
from healthcode.core.verify.stages import (
    check_key_validity,
    check_signature,
    decode_base45,
    decode_cose,
    inflate,
    strip_prefix,
)

__all__ = ["DEFAULT_RULES", "FORMAT", "NativeTrust", "check_rules", "verify_native"]

FORMAT = "native"
#: Applied when a checkpoint configures no native acceptance rules.
DEFAULT_RULES: tuple[Mapping[str, Any], ...] = (
    {
        "id": "NATIVE-GREEN",
        "description": "Only a green code passes.",
        "logic": {"===": [{"var": "payload.colour"}, "green"]},
    },
)
_COMPILED: dict[int, tuple[Any, certlogic.Compiled]] = {}
#: isinstance() against a runtime-checkable Protocol is slow (tens of µs); cache it per type.
_NATIVE_TRUST_TYPES: dict[type, bool] = {}
_MAX_COMPILED = 512


@runtime_checkable
class NativeTrust(KeyStore, Protocol):
    """A key store that also knows revoked serials and retired signers (a trust list)."""

    def is_serial_revoked(self, serial: bytes) -> bool: ...

    def retired_at(self, kid: bytes) -> datetime | None: ...


def _check_claims(
    claims: Mapping[Any, Any],
    key: TrustedKey,
    context: VerifyContext,
    now: datetime | None = None,
) -> tuple[datetime, datetime]:
    if now is None:
        now = context.clock.now()
    issued_at, expires_at = check_times(claims, context.clock, skew=context.skew, now=now)
    if issued_at is None or expires_at is None:
        raise VerificationFailed(
            ErrorCode.CWT_MALFORMED, "iat and exp are required", stage=Stage.CLAIMS
        )
    # The signer must have been valid when it signed, and still be valid now.
    check_key_validity(key, issued_at)
    check_key_validity(key, now)
    if claims.get(1) != key.issuer:
        raise VerificationFailed(
            ErrorCode.ISSUER_MISMATCH,
            f"the code claims issuer {claims.get(1)!r}, its signer belongs to {key.issuer}",
            stage=Stage.CLAIMS,
        )
    return issued_at, expires_at


def _check_retired(
    store: NativeTrust, key: TrustedKey, issued_at: datetime, ctx: VerifyContext
) -> None:
    retired = store.retired_at(key.kid)
    if retired is not None and issued_at > retired + ctx.skew:
        raise VerificationFailed(
            ErrorCode.SIGNER_RETIRED,
            f"the signer retired at {retired.isoformat()}, before this code was issued",
            stage=Stage.CLAIMS,
        )


def _is_native_trust(store: object) -> bool:
    kind = type(store)
    known = _NATIVE_TRUST_TYPES.get(kind)
    if known is None:
        known = _NATIVE_TRUST_TYPES[kind] = isinstance(store, NativeTrust)
    return known


def check_rules(
    payload: NativePayload | Mapping[str, Any],
    rules: Sequence[Mapping[str, Any]],
    context: VerifyContext,
    *,
    now: datetime | None = None,
) -> None:
    """Apply acceptance rules to a payload (or its JSON form); raises ``RULE_FAILED`` /
    ``RULE_ERROR`` (stage rules).

    ``now`` (the validation clock) defaults to ``context.clock.now()``.
    """
    destination = context.options.get("destination")
    data: dict[str, Any] | None = None
    for rule in rules:
        scope = rule.get("destination")
        if scope is not None and not _within(destination, str(scope)):
            continue
        if data is None:
            data = {
                "payload": payload.to_json() if isinstance(payload, NativePayload) else payload,
                "external": {
                    "validationClock": (context.clock.now() if now is None else now).isoformat(),
                    "destination": destination,
                },
            }
        rule_id = str(rule.get("id", "?"))
        try:
            passed = certlogic.boolsiness(_compiled(rule)(data))
        except CertLogicError as exc:
            raise VerificationFailed(
                ErrorCode.RULE_ERROR,
                f"rule {rule_id}: {exc.message}",
                stage=Stage.RULES,
                rule=rule_id,
            ) from exc
        if not passed:
            raise VerificationFailed(
                ErrorCode.RULE_FAILED,
                str(rule.get("description") or f"rule {rule_id} is not met"),
                stage=Stage.RULES,
                rule=rule_id,
            )


def _within(destination: Any, scope: str) -> bool:
    if not isinstance(destination, str):
        return False
    try:
        return destination == scope or regions.is_within(destination, scope)
    except InvalidInput:
        return False


def _compiled(rule: Mapping[str, Any]) -> certlogic.Compiled:
    cached = _COMPILED.get(id(rule))
    if cached is not None and cached[0] is rule:
        return cached[1]
    compiled = certlogic.compile(rule.get("logic"))
    if len(_COMPILED) >= _MAX_COMPILED:
        _COMPILED.clear()
    _COMPILED[id(rule)] = (rule, compiled)
    return compiled


def verify_native(text: str, context: VerifyContext) -> VerificationResult:
    """Run the native stages on ``text``; raises VerificationFailed at the first failing stage.

    Callers normally use :func:`healthcode.core.verify.pipeline.verify`, which turns the error
    into a failed result.
    """
    store = context.keys(FORMAT)
    # 1-4: prefix, Base45, zlib, COSE.
    msg = decode_cose(inflate(decode_base45(strip_prefix(text, PREFIX))))
    # 5: signature, with every key sharing the kid.
    key = check_signature(msg, store)
    kid = key.kid.hex()
    try:
        # 6: claims and the signer's standing.
        claims = decode_claims(msg.payload)
        now = context.clock.now()  # one instant for every check of this code
        issued_at, expires_at = _check_claims(claims, key, context, now)
        if not _is_native_trust(store):
            raise VerificationFailed(
                ErrorCode.REVOCATION_UNAVAILABLE,
                "the key store carries no revocation information",
                stage=Stage.REVOCATION,
            )
        trust = cast(NativeTrust, store)
        _check_retired(trust, key, issued_at, context)
        # 7: schema.
        payload = parse_payload_at(claims, issued_at, expires_at)
        as_json = payload.to_json()
        # 8: revocation of this code.
        if trust.is_serial_revoked(payload.serial):
            raise VerificationFailed(
                ErrorCode.CODE_REVOKED,
                f"code {payload.serial.hex()} is revoked",
                stage=Stage.REVOCATION,
                payload=as_json,
            )
        # 9: acceptance rules of this checkpoint.
        rules = context.acceptance_rules.get(FORMAT, DEFAULT_RULES)
        try:
            check_rules(as_json, rules, context, now=now)
        except VerificationFailed as exc:
            exc.details["payload"] = as_json
            raise
    except VerificationFailed as exc:
        exc.details.setdefault("kid", kid)
        exc.details.setdefault("issuer", key.issuer)
        raise
    # 10: result.
    return passed_result(
        FORMAT,
        payload.issuer,
        payload.colour,
        payload.badges,
        {"name": payload.masked_name, "id": payload.masked_id, "pseudonym": payload.subject},
        as_json,
        issued_at,
        expires_at,
        kid,
    )


register_format(PREFIX, FORMAT, verify_native)
