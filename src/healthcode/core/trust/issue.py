"""Issuing a native code: a province signer signs the claims, within its certificate's validity.

The format itself (claims, schema, encoding) is :mod:`healthcode.core.codes.native`; this module
adds what a signer brings: the issuer claim is always the province in the signer's certificate,
a code never outlives that certificate, and it lives at most
:data:`~healthcode.core.codes.native.MAX_CODE_LIFETIME`.

What does not change from one code to the next is checked once, not for every code: a
:class:`CodeContent` is what a person's code says until their colour changes (subject, colour,
badges, rule set, masked name and ID), checked with the verifier's own payload schema when it is
made; a :class:`CodeIssuer` reads its signer's province and validity once. A service keeps one
issuer per active signer and one content per person, and for each request
:meth:`CodeIssuer.issue` adds only what is new in every code (issue and expiry time, a serial)
and signs. :func:`issue_code` does the three steps for one code. A service that issues many
codes of one content and serial keeps their :meth:`CodeIssuer.template` and signs through
:meth:`CodeIssuer.issue_templated`: the same bytes but the signature, encoded once.

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
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

from cryptography import x509

from healthcode.core.clock import Clock
from healthcode.core.codes.native import (
    BADGES,
    COLOURS,
    MAX_CODE_LIFETIME,
    MAX_SERIAL_BYTES,
    MIN_SERIAL_BYTES,
    SCREEN_LIFETIME,
    SERIAL_BYTES,
    code_claims,
    encode_signed,
    health_code_claim,
    light_code_claim,
    parse_payload,
)
from healthcode.core.codes.status_list import StatusReference
from healthcode.core.error_codes import ErrorCode
from healthcode.core.errors import InvalidInput, TrustError, VerificationFailed
from healthcode.core.trust.certs import KeyPair, province_of_certificate
from healthcode.core.trust.template import CodeTemplate, make_template

__all__ = ["CodeContent", "CodeIssuer", "check_lifetime", "issue_code"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@lru_cache(maxsize=256)
def _issuer_of(cert: x509.Certificate) -> str:
    return province_of_certificate(cert)


def check_lifetime(lifetime: timedelta) -> None:
    """Raises InvalidInput ``CODE_LIFETIME_INVALID`` unless ``lifetime`` is positive (whole
    seconds), and ``CODE_LIFETIME_TOO_LONG`` when it is longer than ``MAX_CODE_LIFETIME``."""
    if lifetime <= timedelta(0) or lifetime % timedelta(seconds=1):
        raise InvalidInput(
            ErrorCode.CODE_LIFETIME_INVALID,
            f"a code lives a positive number of whole seconds, not {lifetime}",
            field="lifetime",
        )
    if lifetime > MAX_CODE_LIFETIME:
        raise InvalidInput(
            ErrorCode.CODE_LIFETIME_TOO_LONG,
            f"a code lives at most {MAX_CODE_LIFETIME}, not {lifetime}",
            field="lifetime",
        )


#: ``check_lifetime`` of the few lifetimes an issuer is asked for (a screen, a paper code).
_checked_lifetime = lru_cache(maxsize=16)(check_lifetime)

#: Issue time, province and serial of the sample claim map a content is checked in.
_SAMPLE_TIME = datetime(2020, 1, 1, tzinfo=UTC)
_SAMPLE_PROVINCE = "110000"


@dataclass(frozen=True, slots=True)
class CodeContent:
    """What a person's code says until their colour changes; checked once, when it is made.

    Raises VerificationFailed ``PAYLOAD_INVALID`` (stage ``schema``) for anything the verifier's
    payload schema would refuse (an unknown colour or badge, a badge twice, an unmasked ID, a
    subject that is not hex, a text too long ...): no code is ever signed with it.
    """

    subject: str
    colour: str
    badges: tuple[str, ...]
    rule_set: str
    masked_name: str
    masked_id: str
    #: A light code (colour only, minimal disclosure): badges, rule set, name and ID are left out.
    light: bool = False
    #: The health-code claim, as every code of this content carries it.
    claim: dict[int, Any] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        badges = tuple(self.badges)
        object.__setattr__(self, "badges", badges)
        if self.colour not in COLOURS or any(b not in BADGES for b in badges):
            raise VerificationFailed(
                ErrorCode.PAYLOAD_INVALID,
                f"unknown colour {self.colour!r} or badge in {list(badges)}",
                field="hc",
            )
        claim = (
            light_code_claim(colour=self.colour)
            if self.light
            else health_code_claim(
                colour=self.colour,
                badges=badges,
                rule_set=self.rule_set,
                masked_name=self.masked_name,
                masked_id=self.masked_id,
            )
        )
        sample = code_claims(
            issuer=_SAMPLE_PROVINCE,
            subject=self.subject,
            issued_at=_SAMPLE_TIME,
            expires_at=_SAMPLE_TIME + SCREEN_LIFETIME,
            serial=bytes(SERIAL_BYTES),
            health_code=claim,
            light=self.light,
        )
        parse_payload(sample)  # the very checks a verifier makes, once for every code
        object.__setattr__(self, "claim", claim)


def _check_serial(serial: Any) -> bytes:
    if not isinstance(serial, bytes) or not MIN_SERIAL_BYTES <= len(serial) <= MAX_SERIAL_BYTES:
        raise VerificationFailed(
            ErrorCode.PAYLOAD_INVALID,
            f"a serial is {MIN_SERIAL_BYTES}-{MAX_SERIAL_BYTES} bytes",
            field="cti",
        )
    return serial


@dataclass(frozen=True, slots=True)
class CodeIssuer:
    """A province signer ready to issue codes: its province and validity are read once."""

    signer: KeyPair
    province: str = field(init=False)
    not_before: datetime = field(init=False)
    not_after: datetime = field(init=False)

    def __post_init__(self) -> None:
        cert = self.signer.certificate
        object.__setattr__(self, "province", _issuer_of(cert))
        # A code's times are seconds since 1970: none is issued before.
        object.__setattr__(self, "not_before", max(cert.not_valid_before_utc, _EPOCH))
        object.__setattr__(self, "not_after", cert.not_valid_after_utc)

    def issue(
        self,
        content: CodeContent,
        *,
        clock: Clock,
        lifetime: timedelta = SCREEN_LIFETIME,
        serial: bytes | None = None,
        status: StatusReference | None = None,
    ) -> str:
        """A native code of ``content``, issued now for ``lifetime``, signed by the signer;
        with ``status``, its place in the hub's status list (the ``status`` claim).

        Raises InvalidInput ``CODE_LIFETIME_INVALID`` / ``CODE_LIFETIME_TOO_LONG``
        (:func:`check_lifetime`), TrustError ``CERT_NOT_YET_VALID`` / ``CERT_EXPIRED`` when the
        signer is not valid for the whole lifetime of the code, and VerificationFailed
        ``PAYLOAD_INVALID`` (field ``cti``) for a serial of the wrong size.
        """
        now, expires = self._times(clock, lifetime)
        claims = code_claims(
            issuer=self.province,
            subject=content.subject,
            issued_at=now,
            expires_at=expires,
            serial=secrets.token_bytes(SERIAL_BYTES) if serial is None else _check_serial(serial),
            health_code=content.claim,
            light=content.light,
            status=status,
        )
        return encode_signed(claims, private_key=self.signer.private_key, kid=self.signer.kid)

    def template(
        self, content: CodeContent, *, serial: bytes, status: StatusReference | None = None
    ) -> CodeTemplate:
        """What every code of ``content`` with ``serial`` and ``status`` signed by this issuer
        shares, encoded once (:mod:`healthcode.core.trust.template`), for
        :meth:`issue_templated`.

        Raises VerificationFailed ``PAYLOAD_INVALID`` (field ``cti``) for a serial of the wrong
        size."""
        return make_template(
            self.signer.private_key,
            kid=self.signer.kid,
            issuer=self.province,
            subject=content.subject,
            serial=_check_serial(serial),
            health_code=content.claim,
            light=content.light,
            status=status,
        )

    def issue_templated(
        self, template: CodeTemplate, *, clock: Clock, lifetime: timedelta = SCREEN_LIFETIME
    ) -> str:
        """The code :meth:`issue` makes of the template's content, serial and status, byte
        for byte but the signature: the fast path beside it (``tests/core/trust/
        test_template.py`` keeps the two alike).

        Raises as :meth:`issue` does (lifetime, the signer's validity), and ValueError for the
        template of another signer."""
        if template.kid != self.signer.kid:
            raise ValueError("a template of another signer")
        now, expires = self._times(clock, lifetime)
        return template.sign(issued=int(now.timestamp()), expires=int(expires.timestamp()))

    def _times(self, clock: Clock, lifetime: timedelta) -> tuple[datetime, datetime]:
        """Issue and expiry time of a code issued now for ``lifetime`` (whole seconds); raises
        as :meth:`issue` does."""
        _checked_lifetime(lifetime)
        now = clock.now().astimezone(UTC).replace(microsecond=0)
        expires = now + lifetime
        if now < self.not_before:
            raise TrustError(ErrorCode.CERT_NOT_YET_VALID, "the signer is not valid yet")
        if expires > self.not_after:
            raise TrustError(
                ErrorCode.CERT_EXPIRED,
                f"a code valid until {expires.isoformat()} would outlive its signer "
                f"certificate (valid until {self.not_after.isoformat()})",
            )
        return now, expires


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
    light: bool = False,
    status: StatusReference | None = None,
) -> str:
    """One code: ``CodeIssuer(signer).issue(CodeContent(...), ...)``; raises as those do."""
    content = CodeContent(
        subject=subject,
        colour=colour,
        badges=tuple(badges),
        rule_set=rule_set,
        masked_name=masked_name,
        masked_id=masked_id,
        light=light,
    )
    return CodeIssuer(signer).issue(
        content, clock=clock, lifetime=lifetime, serial=serial, status=status
    )
