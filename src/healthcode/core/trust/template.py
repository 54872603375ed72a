"""Issuing by template: the fast path beside :meth:`CodeIssuer.issue`, the same bytes.

Every code of one content, serial and signer differs from the next only in its two times
(``exp``, ``iat``) and its signature. A :class:`CodeTemplate` holds, encoded once, what comes
before and after the times: the Sig_structure's head (array, context, protected header, empty
external AAD, the payload's length and the claims ``iss`` and ``sub``), the claims after the
times (``cti``, the health-code claim), and the ``CN1:`` text of the COSE_Sign1's head up to an
even number of bytes (Base45 encodes two bytes at a time, so that text is a prefix of every
code's). A code then costs its times (two CBOR ``uint32``), the signature, and the Base45 of the
tail. Used by the province's service for every code (``CodeIssuer.issue_kept``); it saves the
CBOR encoding of three structures and most of the Base45 of each code (figures:
``bench/province_issue.py``, docs/benchmarks.md).

:func:`make_template` builds the template from the plain encoders' own output
(``code_claims``, ``encode_claims``, the COSE structures) and checks, once, that the template
gives back exactly the plain payload for sample times; ``tests/core/trust/test_template.py``
checks that every code it signs is byte for byte the plain COSE_Sign1 of the same claims with
that signature. Times are CBOR ``uint32`` (``1A`` and four bytes) until 2106; a time outside
that fails the template's check, and the caller uses the plain path.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from healthcode.core.codes.base45_fast import b45encode
from healthcode.core.codes.cose import ALG_ES256, HEADER_ALG, HEADER_KID, TAG_COSE_SIGN1
from healthcode.core.codes.cwt import encode_claims
from healthcode.core.codes.native import PREFIX, code_claims
from healthcode.core.trust.certs import KeyPair

__all__ = ["CodeTemplate", "make_template", "sign_template"]

_ECDSA = ec.ECDSA(hashes.SHA256())
_SAMPLE = datetime(2030, 1, 1, tzinfo=UTC)  # any time whose CBOR form is a uint32
_SIG_HEAD = b"\x58\x40"  # a 64-byte CBOR byte string: the ES256 signature r || s
_UINT32_END = 1 << 32


@dataclass(frozen=True, slots=True)
class CodeTemplate:
    """What every code of one content, serial and signer shares (see the module)."""

    tbs_head: bytes  # the Sig_structure up to the times
    tail: bytes  # the claims after the times
    text_head: str  # "CN1:" + Base45 of the COSE_Sign1's head, cut to an even length
    odd: bytes  # the head's last byte when its length is odd (encoded with each code's tail)


def _times(expires: int, issued: int) -> bytes:
    # the claims map's keys 4 (exp) and 6 (iat), each a uint32
    return b"\x04\x1a" + expires.to_bytes(4, "big") + b"\x06\x1a" + issued.to_bytes(4, "big")


def make_template(
    signer: KeyPair,
    *,
    issuer: str,
    subject: str,
    serial: bytes,
    health_code: object,
    light: bool = False,
    status: Any = None,
) -> CodeTemplate:
    """The template of the codes of this content and serial signed by ``signer``.

    Raises ValueError when the plain encoders' payload is not the template's (never expected:
    it would mean the claims map's layout changed)."""
    sample = code_claims(
        issuer=issuer,
        subject=subject,
        issued_at=_SAMPLE,
        expires_at=_SAMPLE,
        serial=serial,
        health_code=health_code,  # type: ignore[arg-type]
        light=light,
        status=status,
    )
    payload = encode_claims(sample)
    stamp = int(_SAMPLE.timestamp())
    if len(sample) > 23:
        raise ValueError("a claims map of more than 23 entries")
    head = bytes([0xA0 + len(sample)]) + encode_claims({k: sample[k] for k in list(sample)[:2]})[1:]
    tail = encode_claims({k: sample[k] for k in list(sample)[4:]})[1:]
    if head + _times(stamp, stamp) + tail != payload:
        raise ValueError("the claims map's layout is not the template's")
    protected = cbor2.dumps({HEADER_ALG: ALG_ES256, HEADER_KID: signer.kid})
    tbs = cbor2.dumps(["Signature1", protected, b"", payload])
    cose = cbor2.dumps(cbor2.CBORTag(TAG_COSE_SIGN1, [protected, {}, payload, bytes(64)]))
    cose_head = cose[: len(cose) - len(_SIG_HEAD) - 64 - len(payload)] + head
    even = len(cose_head) // 2 * 2
    return CodeTemplate(
        tbs_head=tbs[: len(tbs) - len(payload)] + head,
        tail=tail,
        text_head=PREFIX + b45encode(cose_head[:even]),
        odd=cose_head[even:],
    )


def sign_template(
    template: CodeTemplate, signer: KeyPair, *, issued: datetime, expires: datetime
) -> str:
    """A code of ``template`` with these times (whole seconds, checked by the caller), signed.

    Raises ValueError for a time that is not a uint32 (after 2106)."""
    exp, iat = int(expires.timestamp()), int(issued.timestamp())
    if not 0 <= iat <= exp < _UINT32_END:
        raise ValueError("a template's times are uint32")
    times = _times(exp, iat)
    r, s = decode_dss_signature(
        signer.private_key.sign(template.tbs_head + times + template.tail, _ECDSA)
    )
    tail = template.odd + times + template.tail + _SIG_HEAD + r.to_bytes(32, "big")
    return template.text_head + b45encode(tail + s.to_bytes(32, "big"))
