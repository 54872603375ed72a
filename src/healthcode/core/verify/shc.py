"""SMART Health Cards (``shc:/``): numeric QR text, compact JWS (ES256), issuer JWKS, revocation.

The plan of :func:`verify_shc`:

1. numeric ``shc:/`` text (two digits a character, +45), or every chunk of the deprecated
   chunked form ``shc:/i/n/...`` joined by line breaks → ``SHC_NUMERIC_INVALID`` (numeric)
2. compact JWS: header ``alg`` ES256, ``zip`` DEF, ``kid``   → ``JWS_MALFORMED`` (jws)
3. signature with the issuer key of that kid (kid = RFC 7638 thumbprint, checked at load)
                                     → ``KEY_NOT_IN_TRUST_LIST``, ``SIGNATURE_INVALID`` (signature)
4. raw DEFLATE payload                              → ``DECOMPRESS_FAILED`` (decompress)
5. claims: ``iss`` is the key's issuer, ``nbf``/``exp`` on the clock
                                                    → ``SHC_ISSUER_MISMATCH``, ``CWT_EXPIRED``,
                                                      ``CWT_NOT_YET_VALID`` (claims)
6. the verifiable credential and its FHIR bundle    → ``SCHEMA_INVALID`` (schema)
7. revocation by ``rid`` (``rid`` or ``rid.timestamp``) → ``REVOKED`` (revocation)

>>> encode_numeric("eyJ")
'shc:/567629'
>>> decode_numeric("shc:/567629")
'eyJ'
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from healthcode.core.error_codes import ErrorCode
from healthcode.core.errors import TrustError, VerificationFailed
from healthcode.core.verify.keys import KeyStore, TrustedKey
from healthcode.core.verify.pipeline import VerifyContext, register_format
from healthcode.core.verify.result import Stage, VerificationResult

__all__ = [
    "PREFIX",
    "ShcTrust",
    "decode_jws",
    "decode_numeric",
    "encode_numeric",
    "facts_of",
    "jwk_thumbprint",
    "verify_shc",
]

PREFIX = "shc:/"
FORMAT = "shc"
#: A SHC payload fits in a QR code once compressed; inflating past this is an attack.
MAX_PAYLOAD_BYTES = 256 * 1024
#: The deprecated chunked form allows at most a handful of QR codes (the spec's examples use 3).
MAX_CHUNKS = 16


def _fail(code: ErrorCode, message: str, stage: Stage) -> VerificationFailed:
    return VerificationFailed(code, message, stage=stage)


# --- 1. numeric QR text -----------------------------------------------------------------------


def encode_numeric(jws: str) -> str:
    """The single-QR numeric form of a compact JWS."""
    return PREFIX + "".join(f"{ord(ch) - 45:02d}" for ch in jws)


def _digits_to_text(digits: str) -> str:
    if len(digits) % 2 or not digits.isascii() or not digits.isdigit():
        raise _fail(ErrorCode.SHC_NUMERIC_INVALID, "not an even run of digits", Stage.NUMERIC)
    out = []
    for i in range(0, len(digits), 2):
        value = int(digits[i : i + 2])
        if value > 77:  # "z" - 45: the highest character of base64url and "."
            raise _fail(
                ErrorCode.SHC_NUMERIC_INVALID, f"digit pair {value} is above 77", Stage.NUMERIC
            )
        out.append(chr(value + 45))
    return "".join(out)


def decode_numeric(text: str) -> str:
    """The compact JWS in a ``shc:/`` text: one numeric text, or all chunks of the chunked form.

    Chunks (``shc:/1/3/...``) may come in any order, separated by whitespace.
    """
    parts = text.split()
    if not parts or not all(p.startswith(PREFIX) for p in parts):
        raise _fail(
            ErrorCode.SHC_NUMERIC_INVALID, "every part must start with shc:/", Stage.NUMERIC
        )
    bodies = [p[len(PREFIX) :] for p in parts]
    if len(bodies) == 1 and "/" not in bodies[0]:
        return _digits_to_text(bodies[0])
    chunks: dict[int, str] = {}
    total = None
    for body in bodies:
        fields = body.split("/")
        if len(fields) != 3 or not all(f.isascii() and f.isdigit() for f in fields[:2]):
            raise _fail(
                ErrorCode.SHC_NUMERIC_INVALID, "a chunk must be shc:/i/n/digits", Stage.NUMERIC
            )
        index, count = int(fields[0]), int(fields[1])
        if not 1 <= index <= count <= MAX_CHUNKS or (total is not None and count != total):
            raise _fail(
                ErrorCode.SHC_NUMERIC_INVALID,
                f"chunk {index} of {count} is out of range",
                Stage.NUMERIC,
            )
        total = count
        if index in chunks:
            raise _fail(
                ErrorCode.SHC_NUMERIC_INVALID, f"chunk {index} appears twice", Stage.NUMERIC
            )
        chunks[index] = fields[2]
    assert total is not None
    if len(chunks) != total:
        missing = sorted(set(range(1, total + 1)) - set(chunks))
        raise _fail(
            ErrorCode.SHC_CHUNK_MISSING, f"chunks {missing} of {total} are missing", Stage.NUMERIC
        )
    return "".join(_digits_to_text(chunks[i]) for i in range(1, total + 1))


# --- 2. compact JWS ---------------------------------------------------------------------------


def _b64url(text: str, what: str) -> bytes:
    if not text.isascii() or "=" in text:
        raise _fail(ErrorCode.JWS_MALFORMED, f"{what} is not base64url", Stage.JWS)
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise _fail(ErrorCode.JWS_MALFORMED, f"{what} is not base64url", Stage.JWS) from exc


@dataclass(frozen=True, slots=True)
class Jws:
    """A decoded compact JWS (payload still compressed)."""

    header: dict[str, Any]
    signing_input: bytes
    payload: bytes
    signature: bytes

    @property
    def kid(self) -> str:
        return str(self.header.get("kid", ""))


def decode_jws(compact: str) -> Jws:
    """Split and decode a compact JWS; raises ``JWS_MALFORMED`` (jws)."""
    parts = compact.split(".")
    if len(parts) != 3:
        raise _fail(ErrorCode.JWS_MALFORMED, "a compact JWS has three parts", Stage.JWS)
    try:
        header = json.loads(_b64url(parts[0], "header"))
    except ValueError as exc:
        raise _fail(ErrorCode.JWS_MALFORMED, "the header is not JSON", Stage.JWS) from exc
    if not isinstance(header, dict):
        raise _fail(ErrorCode.JWS_MALFORMED, "the header is not a JSON object", Stage.JWS)
    if header.get("alg") != "ES256":
        raise _fail(ErrorCode.ALG_UNSUPPORTED, f"alg {header.get('alg')!r} is not ES256", Stage.JWS)
    if header.get("zip") != "DEF":
        raise _fail(
            ErrorCode.JWS_MALFORMED, "SMART Health Cards are compressed (zip DEF)", Stage.JWS
        )
    if not isinstance(header.get("kid"), str) or not header["kid"]:
        raise _fail(ErrorCode.KID_MISSING, "the header has no kid", Stage.JWS)
    return Jws(
        header=header,
        signing_input=f"{parts[0]}.{parts[1]}".encode("ascii"),
        payload=_b64url(parts[1], "payload"),
        signature=_b64url(parts[2], "signature"),
    )


# --- trust: issuer JWKS and revocation lists --------------------------------------------------


def jwk_thumbprint(jwk: Mapping[str, Any]) -> str:
    """RFC 7638 thumbprint (SHA-256, base64url) of an EC public JWK."""
    members = {k: jwk[k] for k in ("crv", "kty", "x", "y")}
    canonical = json.dumps(members, separators=(",", ":"), sort_keys=True)
    digest = hashlib.sha256(canonical.encode("utf-8")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


@dataclass
class _Crl:
    ctr: int
    rids: dict[str, float | None] = field(default_factory=dict)  # rid -> revoked before, or all


class ShcTrust:
    """Trusted SHC issuers: their keys by kid (implements KeyStore) and revocation lists.

    >>> ShcTrust().keys_for_kid(b"x")
    ()
    """

    def __init__(self) -> None:
        self._by_kid: dict[bytes, tuple[TrustedKey, ...]] = {}
        self._crls: dict[str, _Crl] = {}
        self._crl_versions: dict[str, int] = {}
        self.warnings: list[str] = []

    def keys_for_kid(self, kid: bytes) -> Sequence[TrustedKey]:
        return self._by_kid.get(kid, ())

    def __len__(self) -> int:
        return sum(len(v) for v in self._by_kid.values())

    def add_jwks(self, jwks: Mapping[str, Any] | str | bytes, *, issuer: str) -> None:
        """Add an issuer's JWKS (``{"keys": [...]}``). A key whose kid is not its RFC 7638
        thumbprint, or that is not an ES256 P-256 signing key, is skipped with a warning.
        Raises TrustError ``JWKS_INVALID`` when it is not a JWKS."""
        if isinstance(jwks, str | bytes):
            try:
                jwks = json.loads(jwks)
            except ValueError as exc:
                raise TrustError(ErrorCode.JWKS_INVALID, f"not JSON: {exc}") from exc
        keys = jwks.get("keys") if isinstance(jwks, Mapping) else None
        if not isinstance(keys, list):
            raise TrustError(ErrorCode.JWKS_INVALID, "a JWKS is an object with a keys array")
        for jwk in keys:
            self._add_jwk(jwk, issuer.rstrip("/"))

    def _add_jwk(self, jwk: Any, issuer: str) -> None:
        if not isinstance(jwk, Mapping) or jwk.get("kty") != "EC" or jwk.get("crv") != "P-256":
            self.warnings.append(f"{issuer}: skipped a key that is not EC P-256")
            return
        kid = str(jwk.get("kid", ""))
        try:
            thumb = jwk_thumbprint(jwk)
            x = int.from_bytes(_b64url(str(jwk["x"]), "x"), "big")
            y = int.from_bytes(_b64url(str(jwk["y"]), "y"), "big")
            public_key = ec.EllipticCurvePublicNumbers(x, y, ec.SECP256R1()).public_key()
        except (KeyError, ValueError, VerificationFailed) as exc:
            self.warnings.append(f"{issuer}: skipped key {kid}: {exc}")
            return
        if kid != thumb:
            self.warnings.append(f"{issuer}: skipped key {kid}: kid is not its thumbprint {thumb}")
            return
        if jwk.get("use", "sig") != "sig" or jwk.get("alg", "ES256") != "ES256":
            self.warnings.append(f"{issuer}: skipped key {kid}: not an ES256 signing key")
            return
        cert, not_before, not_after = None, None, None
        if isinstance(jwk.get("x5c"), list) and jwk["x5c"]:
            try:
                cert = x509.load_der_x509_certificate(base64.b64decode(jwk["x5c"][0]))
                not_before, not_after = cert.not_valid_before_utc, cert.not_valid_after_utc
            except (ValueError, binascii.Error) as exc:
                self.warnings.append(f"{issuer}: skipped key {kid}: unreadable x5c ({exc})")
                return
            if cert.public_key() != public_key:
                self.warnings.append(f"{issuer}: skipped key {kid}: x5c leaf is another key")
                return
        if isinstance(jwk.get("crlVersion"), int):
            self._crl_versions[kid] = jwk["crlVersion"]
        key = TrustedKey(
            kid=kid.encode("ascii"),
            public_key=public_key,
            issuer=issuer,
            not_before=not_before,
            not_after=not_after,
            certificate=cert,
        )
        self._by_kid[key.kid] = (*self._by_kid.get(key.kid, ()), key)

    def add_crl(self, crl: Mapping[str, Any] | str | bytes) -> None:
        """Add a revocation list (``.well-known/crl/<kid>.json``: kid, method rid, ctr, rids)."""
        if isinstance(crl, str | bytes):
            try:
                crl = json.loads(crl)
            except ValueError as exc:
                raise TrustError(ErrorCode.CRL_INVALID, f"not JSON: {exc}") from exc
        if not isinstance(crl, Mapping) or crl.get("method") != "rid":
            raise TrustError(ErrorCode.CRL_INVALID, "a SHC revocation list has method 'rid'")
        rids = crl.get("rids")
        if not isinstance(rids, list) or not isinstance(crl.get("kid"), str):
            raise TrustError(ErrorCode.CRL_INVALID, "a SHC revocation list has a kid and rids")
        entry = _Crl(ctr=int(crl.get("ctr", 0)))
        for item in rids:
            rid, _, stamp = str(item).partition(".")
            try:
                entry.rids[rid] = float(stamp) if stamp else None
            except ValueError as exc:
                raise TrustError(ErrorCode.CRL_INVALID, f"bad rid timestamp in {item!r}") from exc
        self._crls[crl["kid"]] = entry

    def revocation_of(self, kid: str, rid: str, nbf: float) -> str | None:
        """Why the card is revoked (None when it is not, or no list is held)."""
        crl = self._crls.get(kid)
        if crl is None or rid not in crl.rids:
            return None
        before = crl.rids[rid]
        if before is None:
            return f"rid {rid} is revoked"
        if nbf < before:  # the timestamp form revokes the cards issued before it
            return f"rid {rid} is revoked for cards issued before {before:.0f}"
        return None

    def has_crl_for(self, kid: str) -> bool:
        return kid in self._crls

    def crl_expected(self, kid: str) -> bool:
        return kid in self._crl_versions

    @classmethod
    def from_directory(cls, root: str | Path, *, issuer: str) -> ShcTrust:
        """An issuer's ``.well-known`` folder (jwks.json and crl/<kid>.json), read offline."""
        base = Path(root) / ".well-known"
        out = cls()
        out.add_jwks((base / "jwks.json").read_bytes(), issuer=issuer)
        crl_dir = base / "crl"
        if crl_dir.is_dir():
            for path in sorted(crl_dir.glob("*.json")):
                out.add_crl(path.read_bytes())
        return out


# --- stages -----------------------------------------------------------------------------------


def _check_signature(jws: Jws, store: KeyStore) -> TrustedKey:
    keys = store.keys_for_kid(jws.kid.encode("utf-8"))
    if not keys:
        raise VerificationFailed(
            ErrorCode.KEY_NOT_IN_TRUST_LIST,
            f"no trusted issuer key has kid {jws.kid}",
            stage=Stage.SIGNATURE,
            kid=jws.kid,
        )
    if len(jws.signature) != 64:
        raise _fail(
            ErrorCode.SIGNATURE_INVALID, "an ES256 JWS signature is 64 bytes", Stage.SIGNATURE
        )
    der = encode_dss_signature(
        int.from_bytes(jws.signature[:32], "big"), int.from_bytes(jws.signature[32:], "big")
    )
    for key in keys:
        if key.revoked:
            continue
        try:
            key.public_key.verify(der, jws.signing_input, ec.ECDSA(hashes.SHA256()))
        except InvalidSignature:
            continue
        return key
    raise _fail(
        ErrorCode.SIGNATURE_INVALID,
        "the signature does not verify with the issuer's key",
        Stage.SIGNATURE,
    )


def _inflate_raw(data: bytes) -> bytes:
    inflater = zlib.decompressobj(wbits=-15)
    try:
        out = inflater.decompress(data, MAX_PAYLOAD_BYTES)
    except zlib.error as exc:
        raise _fail(
            ErrorCode.DECOMPRESS_FAILED, f"not raw DEFLATE: {exc}", Stage.DECOMPRESS
        ) from exc
    if inflater.unconsumed_tail or not inflater.eof or inflater.unused_data:
        raise _fail(
            ErrorCode.DECOMPRESS_FAILED,
            "DEFLATE stream truncated, too long or followed by bytes",
            Stage.DECOMPRESS,
        )
    return out


def _instant(value: Any, name: str) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _fail(ErrorCode.CWT_MALFORMED, f"{name} must be a number of seconds", Stage.CLAIMS)
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise _fail(ErrorCode.CWT_MALFORMED, f"{name} is out of range", Stage.CLAIMS) from exc


def _coding(concept: Any) -> str | None:
    if isinstance(concept, Mapping):
        for coding in concept.get("coding") or []:
            if isinstance(coding, Mapping) and coding.get("code") is not None:
                system = coding.get("system", "")
                return f"{system}|{coding['code']}" if system else str(coding["code"])
    return None


def facts_of(bundle: Mapping[str, Any]) -> dict[str, Any]:
    """The FHIR bundle as facts: the patient, immunizations and observations."""
    patient: dict[str, Any] = {}
    immunizations: list[dict[str, Any]] = []
    observations: list[dict[str, Any]] = []
    for entry in bundle.get("entry") or []:
        res = entry.get("resource") if isinstance(entry, Mapping) else None
        if not isinstance(res, Mapping):
            continue
        kind = res.get("resourceType")
        if kind == "Patient":
            name = (res.get("name") or [{}])[0]
            if isinstance(name, Mapping):
                patient = {
                    "family": name.get("family"),
                    "given": " ".join(str(g) for g in name.get("given") or []),
                    "birth_date": res.get("birthDate"),
                }
        elif kind == "Immunization":
            performer = (res.get("performer") or [{}])[0]
            actor = performer.get("actor", {}) if isinstance(performer, Mapping) else {}
            immunizations.append(
                {
                    "vaccine": _coding(res.get("vaccineCode")),
                    "date": res.get("occurrenceDateTime"),
                    "lot": res.get("lotNumber"),
                    "status": res.get("status"),
                    "performer": actor.get("display") if isinstance(actor, Mapping) else None,
                }
            )
        elif kind == "Observation":
            value: Any = None
            if "valueCodeableConcept" in res:
                value = _coding(res["valueCodeableConcept"])
            elif isinstance(res.get("valueQuantity"), Mapping):
                q = res["valueQuantity"]
                value = f"{q.get('value')} {q.get('unit', '')}".strip()
            else:
                value = res.get("valueString")
            observations.append(
                {
                    "code": _coding(res.get("code")),
                    "value": value,
                    "effective": res.get("effectiveDateTime"),
                    "status": res.get("status"),
                }
            )
    return {"patient": patient, "immunizations": immunizations, "observations": observations}


def verify_shc(text: str, context: VerifyContext) -> VerificationResult:
    """Verify one ``shc:/`` text (or every chunk of one card); raises VerificationFailed."""
    # 1-2. numeric text, compact JWS
    jws = decode_jws(decode_numeric(text))
    # 3. signature: the issuer key with this kid (its kid is its thumbprint)
    store = context.keys(FORMAT)
    key = _check_signature(jws, store)
    # 4. raw DEFLATE, JSON
    try:
        payload = json.loads(_inflate_raw(jws.payload))
    except ValueError as exc:  # JSON or UTF-8
        raise _fail(ErrorCode.JWS_MALFORMED, f"the payload is not JSON: {exc}", Stage.JWS) from exc
    if not isinstance(payload, dict):
        raise _fail(ErrorCode.JWS_MALFORMED, "the payload is not a JSON object", Stage.JWS)
    extra = {"kid": jws.kid, "issuer": key.issuer}
    try:
        # 5. claims
        if str(payload.get("iss", "")).rstrip("/") != key.issuer:
            raise _fail(
                ErrorCode.SHC_ISSUER_MISMATCH,
                f"iss {payload.get('iss')!r} is not the key's issuer {key.issuer!r}",
                Stage.CLAIMS,
            )
        now = context.clock.now()
        nbf = _instant(payload.get("nbf"), "nbf")
        exp = _instant(payload.get("exp"), "exp")
        if nbf is not None and nbf > now + context.skew:
            raise _fail(
                ErrorCode.CWT_NOT_YET_VALID, f"not valid before {nbf.isoformat()}", Stage.CLAIMS
            )
        if exp is not None and exp < now - context.skew:
            raise _fail(ErrorCode.CWT_EXPIRED, f"expired at {exp.isoformat()}", Stage.CLAIMS)
        # 6. the credential and its FHIR bundle
        vc = payload.get("vc")
        subject = vc.get("credentialSubject") if isinstance(vc, Mapping) else None
        bundle = subject.get("fhirBundle") if isinstance(subject, Mapping) else None
        types = vc.get("type") if isinstance(vc, Mapping) else None
        if (
            not isinstance(bundle, Mapping)
            or bundle.get("resourceType") != "Bundle"
            or not isinstance(bundle.get("entry"), list)
            or not isinstance(types, list)
            or "https://smarthealth.cards#health-card" not in types
        ):
            raise _fail(
                ErrorCode.SCHEMA_INVALID, "not a health card with a FHIR Bundle", Stage.SCHEMA
            )
        facts = facts_of(bundle)
        # 7. revocation by rid
        warnings: list[str] = []
        rid = vc.get("rid") if isinstance(vc, Mapping) else None
        if isinstance(store, ShcTrust):
            if rid is not None:
                why = store.revocation_of(jws.kid, str(rid), float(payload.get("nbf") or 0))
                if why:
                    raise _fail(ErrorCode.REVOKED, why, Stage.REVOCATION)
            if store.crl_expected(jws.kid) and not store.has_crl_for(jws.kid):
                warnings.append("the issuer publishes a revocation list that is not held")
        if key.not_after is not None and now > key.not_after:
            warnings.append(f"the key's x5c certificate expired at {key.not_after.isoformat()}")
    except VerificationFailed as exc:
        exc.details.update(extra)
        raise
    return VerificationResult(
        valid=True,
        format=FORMAT,
        issuer=key.issuer,
        badges=tuple(f"immunization {i['vaccine']}" for i in facts["immunizations"]),
        subject=facts["patient"],
        payload={"facts": facts, "types": types, "rid": rid},
        issued_at=nbf,
        expires_at=exp,
        kid=jws.kid,
        warnings=tuple(warnings),
    )


register_format(PREFIX, FORMAT, verify_shc)
