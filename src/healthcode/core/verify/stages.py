"""Verifier stages shared by the COSE formats (native ``CN1:`` and EU DCC ``HC1:``).

Each stage takes the previous layer and returns the next one, or raises
:class:`healthcode.core.errors.VerificationFailed` with a stable code (its stage comes from the
catalogue). A stage takes its collaborators as parameters (the Base45 decoder, the COSE decoder,
the signature check, the key store, the size limit), and :class:`CoseParts` holds the ones a
format uses, so that a test can hand a stage a faulty part. Whatever a part does (raise another
library's error, return something of the wrong type, return a verdict instead of raising), the
stage fails closed with its own code.

>>> from healthcode.core.codes.base45_fast import b45encode
>>> import zlib
>>> text = "CN1:" + b45encode(zlib.compress(b"cose bytes"))
>>> inflate(decode_base45(strip_prefix(text, "CN1:")))
b'cose bytes'
"""

from __future__ import annotations

import functools
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ParamSpec, TypeVar

from healthcode.core.codes.base45_fast import b45decode
from healthcode.core.codes.cose import (
    ALG_ES256,
    ALG_PS256,
    SIGN1_STARTS,
    CoseSign1,
    sign1_decode,
    verify_signature,
)
from healthcode.core.error_codes import ErrorCode, Stage
from healthcode.core.errors import VerificationFailed
from healthcode.core.keys import KeyStore, TrustedKey

__all__ = [
    "DEFAULT_SKEW",
    "MAX_INFLATED_BYTES",
    "CoseParts",
    "SignatureCheck",
    "check_key_validity",
    "check_signature",
    "decode_base45",
    "decode_cose",
    "fault",
    "guarded",
    "inflate",
    "stage",
    "strip_prefix",
    "trusted_keys",
]

#: Clock skew tolerated between issuer and checkpoint (hcert-kotlin uses 0; phones drift).
DEFAULT_SKEW = timedelta(minutes=5)
#: A QR code carries under 3 KiB; inflating more than this is a zip bomb, not a credential.
MAX_INFLATED_BYTES = 64 * 1024

#: Checks a message's signature with a public key: returns None, or raises VerificationFailed.
SignatureCheck = Callable[[CoseSign1, Any], None]
T = TypeVar("T")
P = ParamSpec("P")
#: How much of an unexpected error's text a result repeats (it may quote the hostile input).
MAX_FAULT_TEXT = 200


def fault(name: Stage, exc: BaseException) -> VerificationFailed:
    """``STAGE_FAULT`` at stage ``name``: an error of ours that a hostile input reached there."""
    text = str(exc)[:MAX_FAULT_TEXT]
    return VerificationFailed(
        ErrorCode.STAGE_FAULT,
        f"the {name} stage broke on this input ({type(exc).__name__}: {text}); refused",
        stage=name,
    )


def stage(name: Stage) -> Callable[[Callable[P, T]], Callable[P, T]]:
    """Mark a function as (part of) the stage ``name``: fail closed whatever happens in it.

    Its own refusals (VerificationFailed) pass unchanged; any other exception is a defect that
    an input reached, and becomes ``STAGE_FAULT`` at ``name`` (:func:`fault`) instead of
    escaping: the code is refused, and the stage is named.
    """

    def mark(function: Callable[P, T]) -> Callable[P, T]:
        @functools.wraps(function)
        def run(*args: P.args, **kwargs: P.kwargs) -> T:
            try:
                return function(*args, **kwargs)
            except VerificationFailed:
                raise
            except Exception as exc:  # any defect fails the code, at the stage it is in
                raise fault(name, exc) from exc

        return run

    return mark


@dataclass(frozen=True, slots=True)
class CoseParts:
    """The replaceable parts of a ``prefix + Base45(zlib(COSE_Sign1))`` envelope."""

    base45: Callable[[str], bytes] = b45decode
    max_inflated_bytes: int = MAX_INFLATED_BYTES
    cose: Callable[[bytes], CoseSign1] = sign1_decode
    signature: SignatureCheck = verify_signature


def guarded(
    code: ErrorCode,
    what: str,
    part: Callable[..., Any],
    *args: Any,
    returns: type[T] | None = None,
) -> Any:
    """``part(*args)``; any error but ours becomes ``code`` (a broken part fails closed), and so
    does a result that is not of type ``returns`` (when given).
    """
    try:
        out = part(*args)
    except VerificationFailed:
        raise
    except Exception as exc:  # a replaceable part may raise anything; none may pass a code
        raise VerificationFailed(code, f"{what} failed: {exc!r}") from exc
    if returns is not None and not isinstance(out, returns):
        raise VerificationFailed(code, f"{what} gave {type(out).__name__}")
    return out


@stage(Stage.PREFIX)
def strip_prefix(text: str, prefix: str) -> str:
    """The text after ``prefix``; raises ``PREFIX_INVALID`` when it is absent."""
    if not isinstance(text, str) or not text.startswith(prefix):
        raise VerificationFailed(
            ErrorCode.PREFIX_INVALID, f"the text does not start with {prefix!r}"
        )
    return text[len(prefix) :]


@stage(Stage.BASE45)
def decode_base45(text: str, *, decode: Callable[[str], bytes] = b45decode) -> bytes:
    """Base45 text to bytes; raises ``BASE45_INVALID``."""
    data: bytes = guarded(ErrorCode.BASE45_INVALID, "Base45 decoding", decode, text, returns=bytes)
    return data


@stage(Stage.DECOMPRESS)
def inflate(data: bytes, *, max_size: int = MAX_INFLATED_BYTES, optional: bool = False) -> bytes:
    """Inflate zlib data (RFC 1950); raises ``DECOMPRESS_FAILED``.

    The data must be complete zlib with nothing after it, and inflate to at most ``max_size``.
    With ``optional`` (the native format), data that starts as a COSE_Sign1 does
    (:data:`~healthcode.core.codes.cose.SIGN1_STARTS`, which no zlib stream starts with) passes
    as it is, if at most ``max_size`` bytes; anything else must still be zlib.
    """
    if optional and data.startswith(SIGN1_STARTS):
        if len(data) > max_size:
            raise VerificationFailed(
                ErrorCode.DECOMPRESS_FAILED, f"more than {max_size} bytes of COSE"
            )
        return data
    inflater = zlib.decompressobj()
    try:
        out = inflater.decompress(data, max_size)
    except zlib.error as exc:
        raise VerificationFailed(
            ErrorCode.DECOMPRESS_FAILED, f"not valid zlib data: {exc}"
        ) from exc
    if inflater.unconsumed_tail:
        raise VerificationFailed(
            ErrorCode.DECOMPRESS_FAILED, f"inflates to more than {max_size} bytes"
        )
    if not inflater.eof:
        raise VerificationFailed(ErrorCode.DECOMPRESS_FAILED, "zlib stream is truncated")
    if inflater.unused_data:
        raise VerificationFailed(
            ErrorCode.DECOMPRESS_FAILED, "bytes after the end of the zlib stream"
        )
    return out


@stage(Stage.COSE)
def decode_cose(data: bytes, *, decode: Callable[[bytes], CoseSign1] = sign1_decode) -> CoseSign1:
    """COSE_Sign1 bytes to a message; raises ``COSE_MALFORMED``."""
    msg: CoseSign1 = guarded(
        ErrorCode.COSE_MALFORMED, "COSE decoding", decode, data, returns=CoseSign1
    )
    return msg


def trusted_keys(keys: KeyStore, kid: bytes, shown: str) -> Sequence[TrustedKey]:
    """Every trusted key with ``kid`` (``shown`` is how the kid reads in messages).

    Raises ``KEY_NOT_IN_TRUST_LIST`` when there is none, or when the key store fails or lists
    something that is not a :class:`TrustedKey`.
    """
    found = guarded(ErrorCode.KEY_NOT_IN_TRUST_LIST, "the key store", keys.keys_for_kid, kid)
    candidates = tuple(found or ())
    if not candidates:
        raise VerificationFailed(
            ErrorCode.KEY_NOT_IN_TRUST_LIST, f"no trusted key has kid {shown}", kid=shown
        )
    if not all(isinstance(key, TrustedKey) for key in candidates):
        raise VerificationFailed(
            ErrorCode.KEY_NOT_IN_TRUST_LIST, f"the key store listed something else for {shown}"
        )
    return candidates


@stage(Stage.SIGNATURE)
def check_signature(
    msg: CoseSign1, keys: KeyStore, *, check: SignatureCheck = verify_signature
) -> TrustedKey:
    """Find the signer: try every trusted key that shares the message's kid.

    Returns the key that verifies. Raises ``KID_MISSING`` / ``ALG_UNSUPPORTED`` (stage cose),
    ``KEY_NOT_IN_TRUST_LIST``, ``KEY_REVOKED`` or ``SIGNATURE_INVALID`` (stage signature).
    """
    if msg.kid is None or msg.kid == b"":
        raise VerificationFailed(ErrorCode.KID_MISSING, "the message carries no kid")
    if msg.alg not in (ALG_ES256, ALG_PS256):
        raise VerificationFailed(ErrorCode.ALG_UNSUPPORTED, f"alg {msg.alg} is not ES256 or PS256")
    candidates = trusted_keys(keys, msg.kid, msg.kid.hex())
    live = [key for key in candidates if not key.revoked]
    if not live:
        raise VerificationFailed(
            ErrorCode.KEY_REVOKED, f"the key with kid {msg.kid.hex()} is revoked"
        )
    last: VerificationFailed | None = None
    for key in live:
        try:
            verdict = guarded(
                ErrorCode.SIGNATURE_INVALID, "the signature check", check, msg, key.public_key
            )
        except VerificationFailed as exc:
            last = exc
            continue
        if verdict is not None:  # a check raises to refuse; anything it returns is no "yes"
            last = VerificationFailed(
                ErrorCode.SIGNATURE_INVALID, f"the signature check answered {verdict!r}"
            )
            continue
        return key
    assert last is not None
    raise last


def check_key_validity(key: TrustedKey, instant: datetime) -> None:
    """The signer's key must be valid at ``instant``.

    Raises ``KEY_EXPIRED`` or ``KEY_NOT_YET_VALID`` (stage signature).
    """
    if key.not_before is not None and instant < key.not_before:
        raise VerificationFailed(
            ErrorCode.KEY_NOT_YET_VALID, f"the signer is valid from {key.not_before.isoformat()}"
        )
    if key.not_after is not None and instant > key.not_after:
        raise VerificationFailed(
            ErrorCode.KEY_EXPIRED, f"the signer expired at {key.not_after.isoformat()}"
        )
