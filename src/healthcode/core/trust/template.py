"""Issuing by template: the fast path beside :meth:`CodeIssuer.issue`, the same bytes.

Every code of one content, serial, status reference and signer differs from the next only in
its two times (``exp``, ``iat``) and its signature. A :class:`CodeTemplate` holds, encoded once,
everything else:

- the Sig_structure before the times (array, context, protected header, empty external AAD,
  the payload's length, the claims map's head with ``iss`` and ``sub``) and after them (``cti``,
  the health-code claim, the ``status`` claim);
- the code's text but for the times and the signature. The COSE_Sign1 is ``head`` (tag, array,
  protected header, unprotected map, the payload up to the times), the times (12 bytes),
  ``middle`` (the claims after the times, the signature's ``58 40``), then the signature (64
  bytes). Base45 encodes two bytes at a time from the start, and every length is fixed for a
  template, so the text of ``head`` up to an even offset, and of ``middle`` from the first even
  offset after the times to the last even offset before the signature, are the same in every
  code: they are kept as text, and each code adds the Base45 of ~14 bytes around its times
  and of the ~65 bytes of its signature (one call for both).

A code then costs the ES256 signature (:func:`~healthcode.core.codes.cose.es256_signature`,
the plain encoder's own), two short Base45 encodings and a few concatenations, against the plain
path's three CBOR encodings and the Base45 of the whole message (figures:
``bench/province_issue.py``, docs/benchmarks.md).

:func:`make_template` builds the template from the plain encoders' output (``code_claims``,
``encode_claims``, the COSE structures) and checks once that the template gives back exactly
the plain bytes for sample times and a sample signature; ``tests/core/trust/test_template.py``
checks that every code it signs is byte for byte :meth:`CodeIssuer.issue`'s but for the
signature, and verifies. Times are CBOR ``uint32`` (``1A`` and four bytes: from 1970-01-01
18:12:16 until 2106); for another time :meth:`CodeTemplate.sign` writes the claims map and
template encodes the code with the plain encoder (only tests ask for such times).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import cbor2
from cryptography.hazmat.primitives.asymmetric import ec

from healthcode.core.codes.base45_fast import b45encode
from healthcode.core.codes.cose import (
    ALG_ES256,
    TAG_COSE_SIGN1,
    es256_signature,
    protected_header_bytes,
)
from healthcode.core.codes.cwt import EXP, IAT, encode_claims
from healthcode.core.codes.native import PREFIX, code_claims, encode_signed
from healthcode.core.codes.status_list import StatusReference

__all__ = ["CodeTemplate", "make_template"]

_SAMPLE = datetime(2030, 1, 1, tzinfo=UTC)  # a time whose CBOR form is a uint32
_SAMPLE_SIGNATURE = bytes(range(64))
_UINT32 = range(1 << 16, 1 << 32)  # the times CBOR writes as 1A and four bytes
_TIMES = 12  # the times' bytes: 04 1A exp(4) 06 1A iat(4)
_SIGNATURE = 64  # r || s


def _times(expires: int, issued: int) -> bytes:
    # the claims map's keys 4 (exp) and 6 (iat), each a uint32
    return b"\x04\x1a" + expires.to_bytes(4, "big") + b"\x06\x1a" + issued.to_bytes(4, "big")


@dataclass(frozen=True, slots=True)
class CodeTemplate:
    """What every code of one content, serial, status and signer shares (see the module)."""

    private_key: ec.EllipticCurvePrivateKey
    kid: bytes
    claims: dict[int, Any]  # the claims of a code but its times (those of a sample)
    tbs_head: bytes  # the Sig_structure up to the times
    tbs_tail: bytes  # the claims after the times
    text_head: str  # "CN1:" + Base45 of the COSE_Sign1's head, cut to an even length
    before: bytes  # the head's last byte when its length is odd (encoded with the times)
    after: bytes  # middle's first byte, likewise (the times' group ends on an even offset)
    text_middle: str  # Base45 of the rest of middle, cut to an even length
    last: bytes  # middle's last byte when what is left of it is odd (encoded with r || s)

    def text(self, times: bytes, signature: bytes) -> str:
        """The code's text with these times (12 bytes) and signature (r || s)."""
        # One Base45 call for both pieces (its cost is mostly per call): the first piece is an
        # even number of bytes, so its text is the first 3/2 as many characters.
        first = self.before + times + self.after
        text = b45encode(first + self.last + signature)
        cut = len(first) * 3 // 2
        return self.text_head + text[:cut] + self.text_middle + text[cut:]

    def sign(self, *, issued: int, expires: int) -> str:
        """The code issued at ``issued`` until ``expires`` (seconds since 1970; the caller
        checked the signer's validity), signed now."""
        if issued not in _UINT32 or expires not in _UINT32:  # not a uint32: the plain encoder
            claims = {**self.claims, EXP: expires, IAT: issued}
            return encode_signed(claims, private_key=self.private_key, kid=self.kid)
        times = _times(expires, issued)
        signature = es256_signature(self.private_key, self.tbs_head + times + self.tbs_tail)
        return self.text(times, signature)


def _around_times(claims: dict[int, Any], payload: bytes, stamp: int) -> tuple[bytes, bytes]:
    """The claims map's bytes before its times (its head, ``iss``, ``sub``) and after them.
    Raises ValueError when the times are not where the template expects them."""
    keys = list(claims)
    if len(keys) > 23 or keys[2:4] != [EXP, IAT]:
        raise ValueError("the claims map's layout is not the template's")
    map_head = bytes([0xA0 + len(keys)]) + encode_claims({k: claims[k] for k in keys[:2]})[1:]
    tail = encode_claims({k: claims[k] for k in keys[4:]})[1:]
    if map_head + _times(stamp, stamp) + tail != payload:
        raise ValueError("the claims map's layout is not the template's")
    return map_head, tail


def make_template(
    private_key: ec.EllipticCurvePrivateKey,
    *,
    kid: bytes,
    issuer: str,
    subject: str,
    serial: bytes,
    health_code: object,
    light: bool = False,
    status: StatusReference | None = None,
) -> CodeTemplate:
    """The template of the codes of this content, serial and status signed by
    ``private_key`` (``kid`` in the protected header), as :meth:`CodeIssuer.issue` writes them.

    Raises ValueError when the plain encoders' bytes are not the template's (never expected:
    it would mean the claims map's layout changed)."""
    stamp = int(_SAMPLE.timestamp())
    claims: dict[int, Any] = code_claims(
        issuer=issuer,
        subject=subject,
        issued_at=_SAMPLE,
        expires_at=_SAMPLE,
        serial=serial,
        health_code=health_code,  # type: ignore[arg-type]
        light=light,
        status=status,
    )
    payload = encode_claims(claims)
    map_head, tail = _around_times(claims, payload, stamp)
    protected = protected_header_bytes(ALG_ES256, kid)
    tbs = cbor2.dumps(["Signature1", protected, b"", payload])
    cose = cbor2.dumps(cbor2.CBORTag(TAG_COSE_SIGN1, [protected, {}, payload, _SAMPLE_SIGNATURE]))
    head = cose[: len(cose) - _SIGNATURE - 2 - len(payload)] + map_head
    middle = cose[len(head) + _TIMES : len(cose) - _SIGNATURE]
    cut = len(head) // 2 * 2  # Base45 groups end at even offsets of the message
    after = len(head) % 2  # the times' group takes middle's first byte along
    end = after + (len(middle) - after) // 2 * 2
    template = CodeTemplate(
        private_key=private_key,
        kid=kid,
        claims=claims,
        tbs_head=tbs[: len(tbs) - len(payload)] + map_head,
        tbs_tail=tail,
        text_head=PREFIX + b45encode(head[:cut]),
        before=head[cut:],
        after=middle[:after],
        text_middle=b45encode(middle[after:end]),
        last=middle[end:],
    )
    sample_times = _times(stamp, stamp)
    if template.tbs_head + sample_times + template.tbs_tail != tbs or template.text(
        sample_times, _SAMPLE_SIGNATURE
    ) != PREFIX + b45encode(cose):
        raise ValueError("the template does not give the plain encoder's bytes")
    return template
