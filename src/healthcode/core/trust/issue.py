"""Issuing a native code: a province signer signs the claims, within its certificate's validity.

The format itself (claims, schema, encoding) is :mod:`healthcode.core.codes.native`; this module
adds what a signer brings: the issuer claim is always the province in the signer's certificate,
and a code never outlives that certificate.

>>> from datetime import datetime, timedelta, timezone
>>> from healthcode.core.clock import FixedClock
>>> from healthcode.core.codes.native import peek_code
>>> from healthcode.core.trust.certs import make_root, make_signer
>>> t = datetime(2022, 11, 20, tzinfo=timezone.utc)
>>> root = make_root(now=t)
>>> signer = make_signer(root=root, province="440000", not_before=t,
...                      not_after=t + timedelta(days=30))
>>> text = issue_code(signer=signer, subject="ab" * 16, colour="green", badges=["nat-48h"],
...                   rule_set="2022.11", masked_name="张*丰", masked_id="4401**********1234",
...                   clock=FixedClock(t))
>>> text[:4], peek_code(text).issuer, peek_code(text).badges
('CN1:', '440000', ('nat-48h',))
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from datetime import UTC, timedelta
from functools import lru_cache

from cryptography import x509

from healthcode.core.clock import Clock
from healthcode.core.codes.native import (
    BADGES,
    COLOURS,
    SCREEN_LIFETIME,
    SERIAL_BYTES,
    build_claims,
    encode_signed,
    parse_payload,
)
from healthcode.core.error_codes import ErrorCode
from healthcode.core.errors import TrustError, VerificationFailed
from healthcode.core.trust.certs import KeyPair, province_of_certificate

__all__ = ["issue_code"]


@lru_cache(maxsize=256)
def _issuer_of(cert: x509.Certificate) -> str:
    return province_of_certificate(cert)


def issue_code(
    *,
    signer: KeyPair,
    subject: str,
    colour: str,
    badges: Iterable[str] = (),
    rule_set: str,
    masked_name: str,
    masked_id: str,
    clock: Clock,
    lifetime: timedelta = SCREEN_LIFETIME,
    serial: bytes | None = None,
) -> str:
    """Issue a native code signed by ``signer`` for the province in its certificate.

    The issuer claim is always the signer's province. Raises TrustError ``CERT_EXPIRED`` /
    ``CERT_NOT_YET_VALID`` when the signer is not valid for the whole lifetime of the code,
    and :class:`VerificationFailed` ``PAYLOAD_INVALID`` (stage ``schema``) when a field breaks
    the payload schema (the very checks a verifier makes).
    """
    now = clock.now().astimezone(UTC).replace(microsecond=0)
    expires = now + lifetime
    cert = signer.certificate
    if now < cert.not_valid_before_utc:
        raise TrustError(ErrorCode.CERT_NOT_YET_VALID, "the signer is not valid yet")
    if expires > cert.not_valid_after_utc:
        raise TrustError(ErrorCode.CERT_EXPIRED, "the code would outlive its signer certificate")
    badge_list = list(badges)
    if colour not in COLOURS or any(b not in BADGES for b in badge_list):
        raise VerificationFailed(
            ErrorCode.PAYLOAD_INVALID,
            f"unknown colour {colour!r} or badge in {badge_list}",
            field="hc",
        )
    claims = build_claims(
        issuer=_issuer_of(cert),
        subject=subject,
        issued_at=now,
        expires_at=expires,
        serial=serial if serial is not None else secrets.token_bytes(SERIAL_BYTES),
        colour=colour,
        badges=badge_list,
        rule_set=rule_set,
        masked_name=masked_name,
        masked_id=masked_id,
    )
    parse_payload(claims)  # the issuer never signs what a verifier would refuse
    return encode_signed(claims, private_key=signer.private_key, kid=signer.kid)
