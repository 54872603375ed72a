"""EU Digital COVID Certificates (``HC1:``): DSC trust lists and the verification stages.

The plan of :func:`verify_dcc` (HCERT 1.3 and the dgc-testdata steps, in that order):

1. prefix ``HC1:``                                  → ``PREFIX_INVALID``        (prefix)
2. Base45                                           → ``BASE45_INVALID``        (base45)
3. zlib                                             → ``DECOMPRESS_FAILED``     (decompress)
4. COSE_Sign1 (tag 18, none, 61+18)                 → ``COSE_MALFORMED``        (cose)
5. signature: every DSC with the kid is tried       → ``KEY_NOT_IN_TRUST_LIST``,
                                                      ``SIGNATURE_INVALID``      (signature)
6. CWT claims, ``iat``/``exp`` on the clock, and    → ``CWT_MALFORMED``, ``CWT_EXPIRED``,
   within the DSC's validity                          ``CWT_NOT_YET_VALID``,
                                                      ``CWT_OUTSIDE_SIGNER_VALIDITY`` (claims)
7. EKU of the DSC allows this kind of certificate   → ``KEY_USAGE_MISMATCH``    (key_usage)
8. payload schema (EU DCC 1.3.3)                    → ``SCHEMA_INVALID``        (schema)
9. acceptance rules (EU business rules, CertLogic)  → ``RULES_FAILED``          (rules)

>>> from datetime import datetime, timezone
>>> from healthcode.core.clock import FixedClock
>>> from healthcode.core.verify.pipeline import VerifyContext
>>> ctx = VerifyContext(clock=FixedClock(datetime(2021, 6, 1, tzinfo=timezone.utc)),
...                     key_stores={"dcc": DscTrustList()})
>>> verify_dcc("HC1:6BF", ctx)
Traceback (most recent call last):
...
healthcode.core.errors.VerificationFailed: DECOMPRESS_FAILED: zlib stream is truncated
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.x509.oid import NameOID

from healthcode.core.codes.cose import CoseSign1
from healthcode.core.codes.cwt import (
    ISS,
    check_times,
    decode_claims,
    hcert_payload,
    to_instant,
)
from healthcode.core.errors import HealthcodeError, TrustError, VerificationFailed
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
    "EKU_USAGES",
    "PREFIX",
    "DccSchema",
    "DscTrustList",
    "RuleOutcome",
    "check_key_usage",
    "check_rules",
    "check_signer_validity",
    "dcc_kind",
    "decode_dcc_claims",
    "kid_of_der",
    "validate_schema",
    "verify_dcc",
    "verify_dcc_cose",
]

PREFIX = "HC1:"
FORMAT = "dcc"
#: HCERT 1.3, section 3.3.1 (key usage): the EKU OIDs that restrict a DSC to certificate kinds.
EKU_USAGES: Mapping[str, str] = {
    "1.3.6.1.4.1.1847.2021.1.1": "t",
    "1.3.6.1.4.1.1847.2021.1.2": "v",
    "1.3.6.1.4.1.1847.2021.1.3": "r",
    "1.3.6.1.4.1.0.1847.2021.1.1": "t",
    "1.3.6.1.4.1.0.1847.2021.1.2": "v",
    "1.3.6.1.4.1.0.1847.2021.1.3": "r",
}
_KINDS = ("v", "t", "r")


def kid_of_der(der: bytes) -> bytes:
    """HCERT appendix A: the kid is the first 8 bytes of SHA-256 over the DER certificate."""
    return hashlib.sha256(der).digest()[:8]


def _country_of(cert: x509.Certificate) -> str:
    try:
        attrs = cert.subject.get_attributes_for_oid(NameOID.COUNTRY_NAME)
    except ValueError:
        return ""
    value = attrs[0].value if attrs else ""
    return value if isinstance(value, str) else value.decode("ascii", "replace")


def _usages_of(cert: x509.Certificate) -> tuple[frozenset[str], str | None]:
    """The certificate kinds a DSC may sign ({} = any), and a warning when parsing was lenient."""
    try:
        eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        return frozenset(), None
    except ValueError as exc:
        # Some DSCs (the Finnish ones) are not strict DER (a DEFAULT value encoded in
        # BasicConstraints); the certificate is still usable: read its EKU by hand.
        oids = _eku_oids_lenient(cert.tbs_certificate_bytes)
        usages = frozenset(EKU_USAGES[o] for o in oids if o in EKU_USAGES)
        return usages, f"signer certificate extensions are not strict DER ({exc}); read leniently"
    oids = {oid.dotted_string for oid in eku}
    return frozenset(EKU_USAGES[o] for o in oids if o in EKU_USAGES), None


def _der_items(data: bytes, start: int, end: int) -> Iterable[tuple[int, int, int]]:
    """(tag, content start, content end) of each DER item in data[start:end]."""
    pos = start
    while pos < end:
        tag = data[pos]
        length = data[pos + 1]
        pos += 2
        if length & 0x80:
            n = length & 0x7F
            length = int.from_bytes(data[pos : pos + n], "big")
            pos += n
        yield tag, pos, pos + length
        pos += length


def _oid_text(raw: bytes) -> str:
    parts = [raw[0] // 40, raw[0] % 40]
    value = 0
    for byte in raw[1:]:
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            parts.append(value)
            value = 0
    return ".".join(str(p) for p in parts)


def _eku_oids_lenient(tbs: bytes) -> set[str]:
    """The EKU OIDs of a TBSCertificate, read without checking the other extensions."""
    try:
        (_, s, e), *_ = _der_items(tbs, 0, len(tbs))
        for tag, cs, ce in _der_items(tbs, s, e):
            if tag != 0xA3:  # [3] extensions
                continue
            for _, es, ee in _der_items(tbs, cs, ce):  # SEQUENCE OF Extension
                for _, xs, xe in _der_items(tbs, es, ee):
                    fields = list(_der_items(tbs, xs, xe))
                    if _oid_text(tbs[fields[0][1] : fields[0][2]]) != "2.5.29.37":
                        continue
                    _, vs, ve = fields[-1]  # extnValue OCTET STRING
                    (_, ss, se), *_ = _der_items(tbs, vs, ve)
                    return {_oid_text(tbs[a:b]) for _, a, b in _der_items(tbs, ss, se)}
    except (IndexError, ValueError):
        return set()
    return set()


class DscTrustList:
    """EU Document Signer Certificates by kid; implements :class:`KeyStore`.

    Build it from certificates (PEM or DER, :meth:`from_certificates`) or from the EU gateway's
    ``/trustList/DSC`` JSON (:meth:`from_gateway_json`). ``warnings`` says what was read
    leniently or skipped.

    >>> DscTrustList().keys_for_kid(b"12345678")
    ()
    """

    def __init__(self) -> None:
        self._by_kid: dict[bytes, tuple[TrustedKey, ...]] = {}
        self.warnings: list[str] = []

    def __len__(self) -> int:
        return sum(len(v) for v in self._by_kid.values())

    def keys_for_kid(self, kid: bytes) -> Sequence[TrustedKey]:
        return self._by_kid.get(kid, ())

    def add_der(self, der: bytes, *, country: str | None = None) -> TrustedKey:
        """Add one DER certificate; raises TrustError ``DSC_INVALID`` when it cannot be read."""
        try:
            cert = x509.load_der_x509_certificate(der)
            public_key = cert.public_key()
            not_before = cert.not_valid_before_utc
            not_after = cert.not_valid_after_utc
        except ValueError as exc:
            raise TrustError("DSC_INVALID", f"not a readable X.509 certificate: {exc}") from exc
        usages, warning = _usages_of(cert)
        kid = kid_of_der(der)
        if warning:
            self.warnings.append(f"{kid.hex()}: {warning}")
        key = TrustedKey(
            kid=kid,
            public_key=public_key,
            issuer=country or _country_of(cert),
            not_before=not_before,
            not_after=not_after,
            certificate=cert,
            usages=usages,
        )
        self._by_kid[kid] = (*self._by_kid.get(kid, ()), key)
        return key

    def add_pem_or_der(self, data: bytes) -> list[TrustedKey]:
        """Add every certificate of a PEM file, or the one certificate of a DER file."""
        if b"-----BEGIN CERTIFICATE-----" not in data:
            return [self.add_der(data)]
        added = []
        for block in data.split(b"-----BEGIN CERTIFICATE-----")[1:]:
            body = block.split(b"-----END CERTIFICATE-----")[0]
            try:
                der = base64.b64decode(b"".join(body.split()), validate=True)
            except binascii.Error as exc:
                raise TrustError("DSC_INVALID", "a PEM block is not base64") from exc
            added.append(self.add_der(der))
        return added

    @classmethod
    def from_certificates(cls, items: Iterable[bytes | x509.Certificate]) -> DscTrustList:
        """A list of DER/PEM bytes or ``x509.Certificate`` objects."""
        out = cls()
        for item in items:
            if isinstance(item, x509.Certificate):
                from cryptography.hazmat.primitives.serialization import Encoding

                out.add_der(item.public_bytes(Encoding.DER))
            else:
                out.add_pem_or_der(item)
        return out

    @classmethod
    def from_gateway_json(cls, text: str | bytes) -> DscTrustList:
        """The DGCG ``/trustList/DSC`` JSON array.

        Each entry: ``kid`` (base64), ``country``, ``certificateType`` (``"DSC"``), ``rawData``
        (base64 DER), ``thumbprint`` (SHA-256 hex), ``signature``, ``timestamp``. An entry whose
        kid or thumbprint does not match its certificate is skipped with a warning (the kid must
        match the certificate). Raises TrustError ``TRUST_LIST_INVALID`` when it is not such a
        list.
        """
        try:
            entries = json.loads(text)
        except ValueError as exc:
            raise TrustError("TRUST_LIST_INVALID", f"not JSON: {exc}") from exc
        if not isinstance(entries, list):
            raise TrustError("TRUST_LIST_INVALID", "the gateway trust list is a JSON array")
        out = cls()
        for i, entry in enumerate(entries):
            if not isinstance(entry, dict) or "rawData" not in entry:
                raise TrustError("TRUST_LIST_INVALID", f"entry {i} has no rawData")
            if entry.get("certificateType", "DSC") != "DSC":
                continue
            try:
                der = base64.b64decode(entry["rawData"], validate=True)
            except (binascii.Error, TypeError, ValueError) as exc:
                raise TrustError("TRUST_LIST_INVALID", f"entry {i}: rawData not base64") from exc
            kid = kid_of_der(der)
            listed = entry.get("kid")
            if listed is not None and listed != base64.b64encode(kid).decode():
                out.warnings.append(f"entry {i}: kid {listed} does not match its certificate")
                continue
            thumb = entry.get("thumbprint")
            if thumb is not None and str(thumb).lower() != hashlib.sha256(der).hexdigest():
                out.warnings.append(f"entry {i}: thumbprint does not match its certificate")
                continue
            try:
                out.add_der(der, country=entry.get("country") or None)
            except TrustError as exc:
                out.warnings.append(f"entry {i}: {exc.message}")
        return out

    @classmethod
    def load(cls, path: str | Path) -> DscTrustList:
        """A file: gateway JSON, PEM or DER (detected by content)."""
        data = Path(path).read_bytes()
        if data.lstrip()[:1] == b"[":
            return cls.from_gateway_json(data)
        return cls.from_pem_or_der_bytes(data)

    @classmethod
    def from_pem_or_der_bytes(cls, data: bytes) -> DscTrustList:
        out = cls()
        out.add_pem_or_der(data)
        return out

    def merge(self, other: DscTrustList) -> None:
        """Add every key of ``other``."""
        for kid, keys in other._by_kid.items():
            self._by_kid[kid] = (*self._by_kid.get(kid, ()), *keys)
        self.warnings.extend(other.warnings)


# --- stages -----------------------------------------------------------------------------------


def decode_dcc_claims(msg: CoseSign1) -> tuple[dict[Any, Any], dict[str, Any]]:
    """The CWT claims and the DCC payload (as JSON types); ``CWT_MALFORMED`` (claims)."""
    claims = decode_claims(msg.payload)
    payload = _jsonable(hcert_payload(claims))
    if not isinstance(payload, dict):
        raise VerificationFailed("CWT_MALFORMED", "the DCC payload is not a map", stage="claims")
    return claims, payload


def _jsonable(value: Any, depth: int = 0) -> Any:
    """CBOR values as JSON values (dates as ISO text); raises CWT_MALFORMED for the rest."""
    if depth > 32:
        raise VerificationFailed("CWT_MALFORMED", "the payload nests too deep", stage="claims")
    if isinstance(value, Mapping):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise VerificationFailed(
                    "CWT_MALFORMED", f"payload key {k!r} is not text", stage="claims"
                )
            out[k] = _jsonable(v, depth + 1)
        return out
    if isinstance(value, list | tuple):
        return [_jsonable(v, depth + 1) for v in value]
    if value is None or isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, datetime):  # CBOR tag 0/1 date-times: RFC 3339 text, UTC as "Z"
        return value.isoformat().replace("+00:00", "Z")
    if hasattr(value, "isoformat"):
        return value.isoformat()
    raise VerificationFailed(
        "CWT_MALFORMED", f"payload holds a {type(value).__name__}", stage="claims"
    )


def dcc_kind(payload: Mapping[str, Any]) -> str | None:
    """``"v"``, ``"t"`` or ``"r"``: which group the payload holds (None when not exactly one)."""
    present = [k for k in _KINDS if k in payload]
    return present[0] if len(present) == 1 else None


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
            "CWT_OUTSIDE_SIGNER_VALIDITY",
            f"issued at {issued_at.isoformat()}, before the signer's validity",
            stage=Stage.CLAIMS,
        )
    if key.not_after is None or (expires_at is not None and expires_at <= key.not_after):
        return expires_at, None
    if now - skew > key.not_after:
        raise VerificationFailed(
            "CWT_OUTSIDE_SIGNER_VALIDITY",
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
            "KEY_USAGE_MISMATCH",
            f"the signer may sign {sorted(key.usages)} certificates, not {kind!r}",
            stage=Stage.KEY_USAGE,
        )


class DccSchema:
    """The EU DCC payload JSON Schema, compiled once.

    The schema is trust material like a DSC list: the checkpoint is given it (``load(path)``,
    e.g. ``eu-dcc-schema/DCC.combined-schema.json`` release 1.3.3) and passes it in the context
    as ``options["dcc_schema"]``; without one, the schema stage fails closed.
    """

    def __init__(self, schema: dict[str, Any]) -> None:
        import jsonschema

        cls = jsonschema.validators.validator_for(schema)
        cls.check_schema(schema)
        self._validator = cls(schema)
        # Speed: the Rust validator is ~30x faster than jsonschema on this schema; the pure
        # Python one is the fallback and the reference (both run on every vector in the tests).
        self._fast: Any = None
        try:
            import jsonschema_rs
        except ImportError:  # pragma: no cover - jsonschema-rs is a dependency
            return
        self._fast = jsonschema_rs.validator_for(schema)

    @classmethod
    def load(cls, path: str | Path) -> DccSchema:
        return cls(json.loads(Path(path).read_text(encoding="utf-8")))

    @classmethod
    @cache
    def cached(cls, path: str) -> DccSchema:
        """One compiled schema per path for the process."""
        return cls.load(path)

    def first_error(self, payload: Mapping[str, Any], *, reference: bool = False) -> str | None:
        """The first schema violation, None when valid; ``reference`` uses jsonschema."""
        fast_says_invalid = False
        if self._fast is not None and not reference:
            try:
                if self._fast.is_valid(payload):
                    return None
                fast_says_invalid = True
            except (ValueError, TypeError, OverflowError):
                pass  # a value the Rust side cannot take: let the reference judge it
        error = next(iter(self._validator.iter_errors(payload)), None)
        if error is None:  # fail closed when the two validators disagree
            return "(root): refused by the schema validator" if fast_says_invalid else None
        where = "/".join(str(p) for p in error.absolute_path) or "(root)"
        return f"{where}: {error.message[:200]}"


def _schema_of(context: VerifyContext) -> DccSchema:
    schema = context.options.get("dcc_schema")
    if isinstance(schema, DccSchema):
        return schema
    if isinstance(schema, str | Path):
        return DccSchema.cached(str(schema))
    raise VerificationFailed(
        "SCHEMA_UNAVAILABLE", "no EU DCC schema was given to the verifier", stage=Stage.SCHEMA
    )


def validate_schema(payload: Mapping[str, Any], schema: DccSchema) -> None:
    """The EU DCC JSON Schema, and exactly one group; raises ``SCHEMA_INVALID`` (schema)."""
    error = schema.first_error(payload)
    if error is not None:
        raise VerificationFailed("SCHEMA_INVALID", error, stage=Stage.SCHEMA)
    if dcc_kind(payload) is None:
        raise VerificationFailed(
            "SCHEMA_INVALID", "exactly one of v, t, r must be present", stage=Stage.SCHEMA
        )


@dataclass(frozen=True, slots=True)
class RuleOutcome:
    """A business rule that did not pass, with its description."""

    identifier: str
    description: str
    result: str  # "FAIL" or "OPEN" (the rule could not be evaluated)


def _rule_applies(
    rule: Mapping[str, Any], kind: str | None, now: datetime, country: str | None
) -> bool:
    cert_type = str(rule.get("CertificateType", "General"))
    wanted = {"Vaccination": "v", "Test": "t", "Recovery": "r"}.get(cert_type)
    if wanted is not None and wanted != kind:
        return False
    if country and rule.get("Country") and rule.get("Country") != country:
        return False
    try:
        valid_from = datetime.fromisoformat(str(rule["ValidFrom"]).replace("Z", "+00:00"))
        valid_to = datetime.fromisoformat(str(rule["ValidTo"]).replace("Z", "+00:00"))
    except (KeyError, ValueError):
        return True
    return valid_from <= now <= valid_to


def _description(rule: Mapping[str, Any]) -> str:
    for item in rule.get("Description") or []:
        if isinstance(item, Mapping) and item.get("lang") == "en":
            return str(item.get("desc", ""))
    return str(rule.get("Identifier", ""))


def check_rules(
    rules: Sequence[Mapping[str, Any]],
    payload: Mapping[str, Any],
    external: Mapping[str, Any],
    *,
    now: datetime,
    country: str | None = None,
) -> list[RuleOutcome]:
    """Evaluate the EU business rules that apply; returns those that fail or stay open.

    A rule applies when its ``CertificateType`` (General / Vaccination / Test / Recovery) fits
    the payload, its ``Country`` is the checkpoint's (when given) and ``now`` is within
    ``ValidFrom``..``ValidTo``. Only ``Engine: CERTLOGIC`` rules are run; others stay open.
    """
    from healthcode.core import certlogic

    kind = dcc_kind(payload)
    data = {"payload": payload, "external": dict(external)}
    failed: list[RuleOutcome] = []
    for rule in rules:
        if not _rule_applies(rule, kind, now, country):
            continue
        ident = str(rule.get("Identifier", "?"))
        if str(rule.get("Engine", "CERTLOGIC")).upper() != "CERTLOGIC":
            failed.append(RuleOutcome(ident, _description(rule), "OPEN"))
            continue
        try:
            result = certlogic.evaluate(rule.get("Logic"), data)
        except HealthcodeError:
            failed.append(RuleOutcome(ident, _description(rule), "OPEN"))
            continue
        if result is not True:
            failed.append(RuleOutcome(ident, _description(rule), "FAIL"))
    return failed


def _external(
    context: VerifyContext, claims: Mapping[Any, Any], kid: bytes, now: datetime
) -> dict[str, Any]:
    exp = to_instant(claims, 4)
    iat = to_instant(claims, 6)
    return {
        "valueSets": dict(context.value_sets),
        "validationClock": now.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "countryCode": context.country or "",
        "exp": exp.isoformat().replace("+00:00", "Z") if exp else None,
        "iat": iat.isoformat().replace("+00:00", "Z") if iat else None,
        "issuerCountryCode": claims.get(ISS) if isinstance(claims.get(ISS), str) else "",
        "kid": base64.b64encode(kid).decode(),
    }


# --- the pipeline -----------------------------------------------------------------------------


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
        validate_schema(payload, _schema_of(context))
        # 9. acceptance rules
        rules = context.acceptance_rules.get(FORMAT) or ()
        if rules:
            failed = check_rules(
                rules,
                payload,
                _external(context, claims, key.kid, now),
                now=now,
                country=context.country,
            )
            if failed:
                raise VerificationFailed(
                    "RULES_FAILED",
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
        badges=_badges(payload),
        subject=_subject(payload),
        payload=payload,
        issued_at=issued_at,
        expires_at=expires_at,
        kid=kid_b64,
        warnings=tuple(warnings),
    )


def _subject(payload: Mapping[str, Any]) -> dict[str, Any]:
    nam = payload.get("nam") if isinstance(payload.get("nam"), Mapping) else {}
    assert isinstance(nam, Mapping)
    return {"family_name": nam.get("fn"), "given_name": nam.get("gn"), "dob": payload.get("dob")}


def _badges(payload: Mapping[str, Any]) -> tuple[str, ...]:
    kind = dcc_kind(payload)
    entries = payload.get(kind) if kind else None
    entry = entries[0] if isinstance(entries, list) and entries else {}
    if kind == "v" and isinstance(entry, Mapping):
        return (f"vaccination {entry.get('dn')}/{entry.get('sd')}",)
    if kind == "t":
        return ("test",)
    if kind == "r":
        return ("recovery",)
    return ()


register_format(PREFIX, FORMAT, verify_dcc)
