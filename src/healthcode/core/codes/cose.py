"""COSE_Sign1 (RFC 9052) with ES256 and PS256: encode, decode, verify.

>>> from cryptography.hazmat.primitives.asymmetric import ec
>>> key = ec.generate_private_key(ec.SECP256R1())
>>> msg = sign1_decode(sign1_encode(b"hello", private_key=key, kid=b"12345678"))
>>> (msg.payload, msg.kid, msg.alg, msg.tags)
(b'hello', b'12345678', -7, (18,))
>>> verify_signature(msg, key.public_key())

Accepted envelopes: tag 18 (COSE_Sign1), no tag, and tag 61 (CWT) wrapping tag 18. The kid is
read from the protected header, else from the unprotected one (HCERT 1.3, section 3.3.1).

Raises :class:`healthcode.core.errors.VerificationFailed` with ``COSE_MALFORMED`` (stage
``"cose"``), ``ALG_UNSUPPORTED`` (stage ``"cose"``) or ``SIGNATURE_INVALID`` (stage
``"signature"``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from io import BytesIO
from typing import Any

import cbor2
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

from healthcode.core.error_codes import ErrorCode
from healthcode.core.errors import VerificationFailed

__all__ = [
    "ALG_ES256",
    "ALG_PS256",
    "HEADER_ALG",
    "HEADER_KID",
    "SIGN1_STARTS",
    "CoseSign1",
    "es256_signature",
    "protected_header_bytes",
    "sign1_decode",
    "sign1_encode",
    "verify_es256",
    "verify_signature",
]

ALG_ES256 = -7
ALG_PS256 = -37
HEADER_ALG = 1
HEADER_KID = 4
TAG_COSE_SIGN1 = 18
TAG_CWT = 61
#: The largest COSE message decoded (a QR code holds under 3 KiB; this bounds hostile input).
MAX_MESSAGE_BYTES = 64 * 1024
#: How the envelopes :func:`sign1_decode` accepts begin: tag 18, an array of 4, tag 61.
SIGN1_STARTS = (b"\xd2", b"\x84", b"\xd8\x3d")
_SUPPORTED = {ALG_ES256: "ES256", ALG_PS256: "PS256"}
#: ES256 = ECDSA with SHA-256; the object is immutable, so one serves every verification.
_ECDSA_SHA256 = ec.ECDSA(hashes.SHA256())


@dataclass(frozen=True, slots=True)
class CoseSign1:
    """A decoded COSE_Sign1 message; ``protected_bytes`` is kept as signed."""

    protected_bytes: bytes
    protected: dict[Any, Any]
    unprotected: dict[Any, Any]
    payload: bytes
    signature: bytes
    alg: int | None
    kid: bytes | None
    tags: tuple[int, ...] = field(default=())

    def to_be_signed(self) -> bytes:
        """The Sig_structure (RFC 9052, section 4.4) the signature covers."""
        return _sig_structure(self.protected_bytes, self.payload)


def _sig_structure(protected_bytes: bytes, payload: bytes) -> bytes:
    # external_aad is the empty byte string: nothing is signed besides the message.
    return cbor2.dumps(["Signature1", protected_bytes, b"", payload])


def _malformed(message: str) -> VerificationFailed:
    return VerificationFailed(ErrorCode.COSE_MALFORMED, message)


def _loads_exact(data: bytes) -> Any:
    """Decode one CBOR item and refuse trailing bytes; other libraries' errors become ours."""
    stream = BytesIO(data)
    try:
        item = cbor2.CBORDecoder(stream).decode()
    except Exception as exc:  # cbor2 raises several kinds on hostile input
        raise _malformed(f"not valid CBOR: {exc}") from exc
    if stream.tell() != len(data):
        raise _malformed(f"{len(data) - stream.tell()} trailing bytes after the CBOR item")
    return item


def _protected_header(protected_bytes: bytes) -> dict[Any, Any]:
    """The decoded protected header (RFC 9052: an empty byte string is an empty map)."""
    decoded: Any = {} if protected_bytes == b"" else _loads_exact(protected_bytes)
    if not isinstance(decoded, Mapping):
        raise _malformed("protected header must encode a map")
    return dict(decoded)


def _split(data: bytes) -> tuple[tuple[int, ...], bytes, Any, bytes, bytes]:
    """The parts of a COSE_Sign1 message: (tags, protected, unprotected, payload, signature)."""
    item = _loads_exact(data)
    tags: list[int] = []
    while isinstance(item, cbor2.CBORTag):
        tags.append(item.tag)
        item = item.value
    if tags not in ([TAG_COSE_SIGN1], [], [TAG_CWT, TAG_COSE_SIGN1]):
        raise _malformed(f"unexpected CBOR tags {tags}; expected 18, none, or 61 around 18")
    if not isinstance(item, list | tuple) or len(item) != 4:
        raise _malformed("COSE_Sign1 must be an array of 4 items")
    protected_bytes, unprotected, payload, signature = item
    if type(protected_bytes) is not bytes:
        raise _malformed("protected header must be a byte string")
    if not isinstance(unprotected, Mapping):
        raise _malformed("unprotected header must be a map")
    if type(payload) is not bytes:
        raise _malformed("payload must be a byte string (detached payloads are not supported)")
    if type(signature) is not bytes:
        raise _malformed("signature must be a byte string")
    return tuple(tags), protected_bytes, unprotected, payload, signature


def sign1_decode(data: bytes, *, max_bytes: int = MAX_MESSAGE_BYTES) -> CoseSign1:
    """Decode a COSE_Sign1 message (tagged 18, untagged, or tag 61 around tag 18) of at most
    ``max_bytes`` (a code's default; a signed document gives its own bound)."""
    if not isinstance(data, bytes | bytearray):
        raise _malformed("COSE input must be bytes")
    if len(data) > max_bytes:
        raise _malformed(f"COSE message of {len(data)} bytes exceeds {max_bytes}")
    tags, protected_bytes, unprotected, payload, signature = _split(bytes(data))
    protected = _protected_header(protected_bytes)
    try:
        alg = protected.get(HEADER_ALG, unprotected.get(HEADER_ALG))
    except TypeError as exc:  # an unhashable key cannot be looked up
        raise _malformed(f"header map cannot be read: {exc}") from exc
    if alg is not None and type(alg) is not int:
        raise _malformed(f"alg header must be an integer, not {type(alg).__name__}")
    kid = protected.get(HEADER_KID) if HEADER_KID in protected else unprotected.get(HEADER_KID)
    if kid is not None and type(kid) is not bytes:
        raise _malformed(f"kid header must be a byte string, not {type(kid).__name__}")
    return CoseSign1(
        protected_bytes=protected_bytes,
        protected=protected,
        unprotected=dict(unprotected),
        payload=payload,
        signature=signature,
        alg=alg,
        kid=kid,
        tags=tags,
    )


def sign1_encode(
    payload: bytes,
    *,
    private_key: Any,
    kid: bytes,
    alg: int = ALG_ES256,
    kid_in: str = "protected",
    tag: bool = True,
    cwt_tag: bool = False,
    headers: Mapping[int, Any] | None = None,
    unprotected_headers: Mapping[int, Any] | None = None,
) -> bytes:
    """Sign ``payload`` as a COSE_Sign1 with ES256 (EC P-256) or PS256 (RSA).

    ``kid_in`` is ``"protected"``, ``"unprotected"``, ``"both"`` or ``"none"``; ``tag`` adds tag
    18 and ``cwt_tag`` wraps it in tag 61; ``headers`` and ``unprotected_headers`` are further
    header parameters (e.g. ``16`` typ, ``33`` x5chain). Raises VerificationFailed
    ``ALG_UNSUPPORTED`` for another algorithm, and ValueError when the key does not fit it.
    """
    if alg not in _SUPPORTED:
        raise VerificationFailed(ErrorCode.ALG_UNSUPPORTED, f"alg {alg} is not supported")
    if kid_in not in ("protected", "unprotected", "both", "none"):
        raise ValueError(f"kid_in must be protected, unprotected, both or none, not {kid_in!r}")
    unprotected: dict[int, Any] = dict(unprotected_headers or {})
    if kid_in in ("unprotected", "both"):
        unprotected[HEADER_KID] = kid
    protected_bytes = protected_header_bytes(alg, kid if kid_in in ("protected", "both") else None)
    if headers:
        protected_map = {**cbor2.loads(protected_bytes), **headers}
        protected_bytes = cbor2.dumps(protected_map)
    tbs = _sig_structure(protected_bytes, payload)
    if alg == ALG_ES256:
        if not isinstance(private_key, ec.EllipticCurvePrivateKey):
            raise ValueError("ES256 needs an EC P-256 private key")
        signature = es256_signature(private_key, tbs)
    else:
        if not isinstance(private_key, rsa.RSAPrivateKey):
            raise ValueError("PS256 needs an RSA private key")
        signature = private_key.sign(tbs, _pss(), hashes.SHA256())
    message: Any = [protected_bytes, unprotected, payload, signature]
    if tag or cwt_tag:
        message = cbor2.CBORTag(TAG_COSE_SIGN1, message)
    if cwt_tag:
        message = cbor2.CBORTag(TAG_CWT, message)
    return cbor2.dumps(message)


def es256_signature(private_key: ec.EllipticCurvePrivateKey, tbs: bytes) -> bytes:
    """The COSE form of an ES256 signature of ``tbs``: r || s, 32 bytes each (RFC 9053)."""
    r, s = decode_dss_signature(private_key.sign(tbs, _ECDSA_SHA256))
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


@lru_cache(maxsize=256)
def protected_header_bytes(alg: int, kid: bytes | None) -> bytes:
    """The protected header a signer writes: the same bytes for every message it signs."""
    protected: dict[int, Any] = {HEADER_ALG: alg}
    if kid is not None:
        protected[HEADER_KID] = kid
    return cbor2.dumps(protected)


def _pss() -> padding.PSS:
    # RFC 8230, section 2: PS256 uses MGF1 with SHA-256 and a salt as long as the digest.
    return padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)


def verify_signature(msg: CoseSign1, public_key: Any) -> None:
    """Check the signature of ``msg`` with ``public_key``; returns None or raises.

    Raises VerificationFailed ``ALG_UNSUPPORTED`` (stage ``"cose"``) for a missing or unknown
    alg, and ``SIGNATURE_INVALID`` (stage ``"signature"``) when the key does not fit the
    algorithm or the signature does not verify.
    """
    if msg.alg not in _SUPPORTED:
        raise VerificationFailed(ErrorCode.ALG_UNSUPPORTED, f"alg {msg.alg} is not ES256 or PS256")
    tbs = msg.to_be_signed()
    try:
        if msg.alg == ALG_ES256:
            verify_es256(public_key, msg.signature, tbs)
        else:
            if not isinstance(public_key, rsa.RSAPublicKey):
                raise _bad_sig("PS256 needs an RSA key; the signer's key is another kind")
            if public_key.key_size < 2048:
                raise _bad_sig(f"RSA key of {public_key.key_size} bits is too short for PS256")
            public_key.verify(msg.signature, tbs, _pss(), hashes.SHA256())
    except InvalidSignature as exc:
        raise _bad_sig("the signature does not verify with the signer's key") from exc
    except (ValueError, TypeError) as exc:
        raise _bad_sig(f"the signature cannot be checked: {exc}") from exc


def verify_es256(public_key: Any, signature: bytes, signed: bytes) -> None:
    """Check a raw ES256 signature (r then s, 32 bytes each, as COSE and JWS write it) of
    ``signed``; raises InvalidSignature, or SIGNATURE_INVALID for a key that is not P-256 or a
    signature that is not 64 bytes."""
    _check_p256(public_key)
    if len(signature) != 64:
        raise _bad_sig(f"ES256 signature is {len(signature)} bytes, not 64")
    r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
    public_key.verify(encode_dss_signature(r, s), signed, _ECDSA_SHA256)


def _check_p256(public_key: Any) -> None:
    """Raises SIGNATURE_INVALID unless ``public_key`` is an EC P-256 key."""
    if not isinstance(public_key, ec.EllipticCurvePublicKey) or not isinstance(
        public_key.curve, ec.SECP256R1
    ):
        raise _bad_sig("ES256 needs an EC P-256 key; the signer's key is another kind")


def _bad_sig(message: str) -> VerificationFailed:
    return VerificationFailed(ErrorCode.SIGNATURE_INVALID, message)
