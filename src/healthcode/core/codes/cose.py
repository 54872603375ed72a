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

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
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

from healthcode.core.error_codes import ErrorCode, Stage
from healthcode.core.errors import VerificationFailed

__all__ = [
    "ALG_ES256",
    "ALG_PS256",
    "HEADER_ALG",
    "HEADER_KID",
    "CoseSign1",
    "sign1_decode",
    "sign1_encode",
    "verify_signature",
]

ALG_ES256 = -7
ALG_PS256 = -37
HEADER_ALG = 1
HEADER_KID = 4
TAG_COSE_SIGN1 = 18
TAG_CWT = 61
_TAGS_18 = (TAG_COSE_SIGN1,)
_TAGS_61_18 = (TAG_CWT, TAG_COSE_SIGN1)
#: The largest COSE message decoded (a QR code holds under 3 KiB; this bounds hostile input).
MAX_MESSAGE_BYTES = 64 * 1024
_SUPPORTED = {ALG_ES256: "ES256", ALG_PS256: "PS256"}
#: Decoded protected headers by their bytes (a signer sends the same header in every message);
#: bounded in count and in header size so hostile input cannot grow it.
_HEADERS: dict[bytes, dict[Any, Any]] = {}
_MAX_CACHED_HEADERS = 256
_MAX_CACHED_HEADER_BYTES = 128
#: ES256 = ECDSA with SHA-256; the object is immutable, so one serves every verification.
_ECDSA_SHA256 = ec.ECDSA(hashes.SHA256())
#: Public keys already checked to be EC P-256, by id (the key is kept so the id stays its own).
_P256_KEYS: dict[int, Any] = {}
_MAX_CHECKED_KEYS = 1024
#: CBOR array(4), text(10) "Signature1": the fixed start of every COSE_Sign1 Sig_structure.
_SIG1_PREFIX = b"\x84\x6aSignature1"
_STAGE_COSE = Stage.COSE
_STAGE_SIG = Stage.SIGNATURE


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
        """The Sig_structure (RFC 9052, section 4.4) the signature covers.

        Concatenated by hand, as cbor2 would encode ``["Signature1", protected, b"",
        payload]`` (the tests check that they agree).
        """
        return b"".join(
            (
                _SIG1_PREFIX,
                _bstr_head(len(self.protected_bytes)),
                self.protected_bytes,
                b"\x40",  # external_aad: the empty byte string
                _bstr_head(len(self.payload)),
                self.payload,
            )
        )


def _slot_setter(cls: type, name: str) -> Callable[[Any, Any], None]:
    """The slot descriptor's setter of field ``name`` (what a frozen dataclass bypasses)."""
    setter: Callable[[Any, Any], None] = cls.__dict__[name].__set__
    return setter


_NEW = object.__new__
(
    _SET_PROTECTED_BYTES,
    _SET_PROTECTED,
    _SET_UNPROTECTED,
    _SET_PAYLOAD,
    _SET_SIGNATURE,
    _SET_ALG,
    _SET_KID,
    _SET_TAGS,
) = (_slot_setter(CoseSign1, name) for name in CoseSign1.__dataclass_fields__)


def _new_sign1(
    protected_bytes: bytes,
    protected: dict[Any, Any],
    unprotected: dict[Any, Any],
    payload: bytes,
    signature: bytes,
    alg: int | None,
    kid: bytes | None,
    tags: tuple[int, ...],
) -> CoseSign1:
    """``CoseSign1(...)`` with the fields in order, without the dataclass ``__init__``.

    The same frozen instance (the tests compare the two); ~1 µs cheaper on the verify path.
    """
    msg: CoseSign1 = _NEW(CoseSign1)
    _SET_PROTECTED_BYTES(msg, protected_bytes)
    _SET_PROTECTED(msg, protected)
    _SET_UNPROTECTED(msg, unprotected)
    _SET_PAYLOAD(msg, payload)
    _SET_SIGNATURE(msg, signature)
    _SET_ALG(msg, alg)
    _SET_KID(msg, kid)
    _SET_TAGS(msg, tags)
    return msg


def _bstr_head(length: int) -> bytes:
    """The CBOR head of a byte string of ``length`` bytes (major type 2, shortest form)."""
    if length < 24:
        return bytes((0x40 | length,))
    if length < 0x100:
        return bytes((0x58, length))
    if length < 0x10000:
        return b"\x59" + length.to_bytes(2, "big")
    if length < 0x100000000:
        return b"\x5a" + length.to_bytes(4, "big")
    return b"\x5b" + length.to_bytes(8, "big")


def _malformed(message: str) -> VerificationFailed:
    return VerificationFailed(ErrorCode.COSE_MALFORMED, message, stage=_STAGE_COSE)


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


def _is_map(value: Any) -> bool:
    # cbor2 decodes maps to dict; the Mapping check (an ABC, slower) covers the rest.
    return type(value) is dict or isinstance(value, Mapping)


def _protected_header(protected_bytes: bytes) -> dict[Any, Any]:
    """The decoded protected header, cached by its bytes (a signer sends the same one).

    The cache holds at most :data:`_MAX_CACHED_HEADERS` headers; callers get a copy.
    """
    cached = _HEADERS.get(protected_bytes)
    if cached is None:
        decoded: Any = {} if protected_bytes == b"" else _loads_exact(protected_bytes)
        if not _is_map(decoded):
            raise _malformed("protected header must encode a map")
        cached = dict(decoded)
        if len(protected_bytes) <= _MAX_CACHED_HEADER_BYTES:
            if len(_HEADERS) >= _MAX_CACHED_HEADERS:
                _HEADERS.clear()
            _HEADERS[protected_bytes] = cached
    return dict(cached)


def _split_cbor(data: bytes) -> tuple[tuple[int, ...], bytes, Any, bytes, bytes]:
    """Any COSE_Sign1 shape, through cbor2: (tags, protected, unprotected, payload, signature)."""
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
    if not _is_map(unprotected):
        raise _malformed("unprotected header must be a map")
    if type(payload) is not bytes:
        raise _malformed("payload must be a byte string (detached payloads are not supported)")
    if type(signature) is not bytes:
        raise _malformed("signature must be a byte string")
    return tuple(tags), protected_bytes, unprotected, payload, signature


def _bstr_at(data: bytes, pos: int) -> tuple[bytes, int] | None:
    """The definite-length byte string at ``pos`` and the position after it, or None."""
    head = data[pos] if pos < len(data) else -1
    if 0x40 <= head <= 0x57:
        length, pos = head - 0x40, pos + 1
    elif head == 0x58:
        length, pos = int.from_bytes(data[pos + 1 : pos + 2], "big"), pos + 2
    elif head == 0x59:
        length, pos = int.from_bytes(data[pos + 1 : pos + 3], "big"), pos + 3
    else:
        return None
    end = pos + length
    return (data[pos:end], end) if end <= len(data) else None


def _split_common(data: bytes) -> tuple[tuple[int, ...], bytes, bytes, bytes] | None:
    """The common shape, read without a CBOR decoder: optional tag 18 (or 61 around 18), an
    array of 4: protected bytes, an empty unprotected map, payload and signature, nothing after.

    Returns (tags, protected, payload, signature), or None for any other shape: those go
    through cbor2, which also gives the errors. Whatever this accepts, cbor2 reads the same.
    """
    tags: tuple[int, ...]
    if data.startswith(b"\xd2\x84"):
        tags, pos = _TAGS_18, 2
    elif data.startswith(b"\x84"):
        tags, pos = (), 1
    elif data.startswith(b"\xd8\x3d\xd2\x84"):
        tags, pos = _TAGS_61_18, 4
    else:
        return None
    protected = _bstr_at(data, pos)
    if protected is None or data[protected[1] : protected[1] + 1] != b"\xa0":
        return None
    payload = _bstr_at(data, protected[1] + 1)
    if payload is None:
        return None
    signature = _bstr_at(data, payload[1])
    if signature is None or signature[1] != len(data):
        return None
    return tags, protected[0], payload[0], signature[0]


def sign1_decode(data: bytes) -> CoseSign1:
    """Decode a COSE_Sign1 message (tagged 18, untagged, or tag 61 around tag 18)."""
    if not isinstance(data, bytes | bytearray):
        raise _malformed("COSE input must be bytes")
    if len(data) > MAX_MESSAGE_BYTES:
        raise _malformed(f"COSE message of {len(data)} bytes exceeds {MAX_MESSAGE_BYTES}")
    data = bytes(data)
    common = _split_common(data)
    unprotected: Any
    if common is not None:
        tags, protected_bytes, payload, signature = common
        unprotected = {}
    else:
        tags, protected_bytes, unprotected, payload, signature = _split_cbor(data)
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
    return _new_sign1(
        protected_bytes, protected, dict(unprotected), payload, signature, alg, kid, tags
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
) -> bytes:
    """Sign ``payload`` as a COSE_Sign1 with ES256 (EC P-256) or PS256 (RSA).

    ``kid_in`` is ``"protected"``, ``"unprotected"``, ``"both"`` or ``"none"``; ``tag`` adds tag
    18 and ``cwt_tag`` wraps it in tag 61. Raises VerificationFailed ``ALG_UNSUPPORTED`` for
    another algorithm, and ValueError when the key does not fit the algorithm.
    """
    if alg not in _SUPPORTED:
        raise VerificationFailed(
            ErrorCode.ALG_UNSUPPORTED, f"alg {alg} is not supported", stage=Stage.COSE
        )
    if kid_in not in ("protected", "unprotected", "both", "none"):
        raise ValueError(f"kid_in must be protected, unprotected, both or none, not {kid_in!r}")
    protected: dict[int, Any] = {HEADER_ALG: alg}
    unprotected: dict[int, Any] = {}
    if kid_in in ("protected", "both"):
        protected[HEADER_KID] = kid
    if kid_in in ("unprotected", "both"):
        unprotected[HEADER_KID] = kid
    protected_bytes = cbor2.dumps(protected)
    tbs = cbor2.dumps(["Signature1", protected_bytes, b"", payload])
    if alg == ALG_ES256:
        if not isinstance(private_key, ec.EllipticCurvePrivateKey):
            raise ValueError("ES256 needs an EC P-256 private key")
        r, s = decode_dss_signature(private_key.sign(tbs, _ECDSA_SHA256))
        signature = r.to_bytes(32, "big") + s.to_bytes(32, "big")
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
        raise VerificationFailed(
            ErrorCode.ALG_UNSUPPORTED, f"alg {msg.alg} is not ES256 or PS256", stage=_STAGE_COSE
        )
    tbs = msg.to_be_signed()
    try:
        if msg.alg == ALG_ES256:
            _check_p256(public_key)
            if len(msg.signature) != 64:
                raise _bad_sig(f"ES256 signature is {len(msg.signature)} bytes, not 64")
            r = int.from_bytes(msg.signature[:32], "big")
            s = int.from_bytes(msg.signature[32:], "big")
            public_key.verify(encode_dss_signature(r, s), tbs, _ECDSA_SHA256)
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


def _check_p256(public_key: Any) -> None:
    """Raises SIGNATURE_INVALID unless ``public_key`` is an EC P-256 key (cached by key)."""
    if _P256_KEYS.get(id(public_key)) is public_key:
        return
    if not isinstance(public_key, ec.EllipticCurvePublicKey) or not isinstance(
        public_key.curve, ec.SECP256R1
    ):
        raise _bad_sig("ES256 needs an EC P-256 key; the signer's key is another kind")
    if len(_P256_KEYS) >= _MAX_CHECKED_KEYS:
        _P256_KEYS.clear()
    _P256_KEYS[id(public_key)] = public_key


def _bad_sig(message: str) -> VerificationFailed:
    return VerificationFailed(ErrorCode.SIGNATURE_INVALID, message, stage=_STAGE_SIG)
