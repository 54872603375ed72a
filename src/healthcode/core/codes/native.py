"""The native health code: ``CN1:`` + Base45(zlib(COSE_Sign1(CWT))), signed ES256 by a province.

It carries only what a checkpoint needs. The claim map (CBOR, integer keys; QR size matters)::

    1  iss   text   issuing province, GB/T 2260 code ("440000")
    2  sub   text   pseudonymous subject: 16-64 lower-case hex (a keyed pseudonym or its prefix)
    4  exp   int    expiry, seconds since the epoch
    6  iat   int    issued at, seconds since the epoch
    7  cti   bytes  serial, 8-32 bytes (random 12 by default); revocable one by one
    -65537   map    the health-code claim (a private-use CWT claim key, RFC 8392 section 9.1):
         1   int    payload version, 1
         2   int    colour: 0 green, 1 yellow, 2 red
         3   [int]  badges, see BADGES (e.g. 2 = NAT within 48 h, 12 = two vaccine doses)
         4   text   rule-set version the colour was computed with
         5   text   masked name ("张*丰")
         6   text   masked ID number ("4401**********1234"; must contain '*')

Codes are short-lived: :data:`SCREEN_LIFETIME` for a phone screen, :data:`PAPER_LIFETIME` for
paper, never more than :data:`healthcode.core.trust.trustlist.MAX_CODE_LIFETIME`; a code never
outlives its signer certificate.

>>> from datetime import datetime, timedelta, timezone
>>> from healthcode.core.clock import FixedClock
>>> from healthcode.core.trust.certs import make_root, make_signer
>>> t = datetime(2022, 11, 20, tzinfo=timezone.utc)
>>> root = make_root(now=t)
>>> signer = make_signer(root=root, province="440000", not_before=t,
...                      not_after=t + timedelta(days=30))
>>> text = issue_code(signer=signer, subject="ab" * 16, colour="green", badges=["nat-48h"],
...                   rule_set="2022.11", masked_name="张*丰", masked_id="4401**********1234",
...                   clock=FixedClock(t))
>>> text[:4], peek_code(text).colour, peek_code(text).badges
('CN1:', 'green', ('nat-48h',))
"""

from __future__ import annotations

import re
import secrets
import zlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

from cryptography import x509

from healthcode.core.clock import Clock
from healthcode.core.codes.base45 import b45decode, b45encode
from healthcode.core.codes.cose import sign1_decode, sign1_encode
from healthcode.core.codes.cwt import CTI, EXP, IAT, ISS, SUB, decode_claims, encode_claims
from healthcode.core.error_codes import ErrorCode, Stage
from healthcode.core.errors import TrustError, VerificationFailed
from healthcode.core.trust.certs import KeyPair, province_of_certificate
from healthcode.core.trust.trustlist import MAX_CODE_LIFETIME

__all__ = [
    "BADGES",
    "COLOURS",
    "HC_CLAIM",
    "PAPER_LIFETIME",
    "PAYLOAD_VERSION",
    "PREFIX",
    "SCREEN_LIFETIME",
    "NativePayload",
    "build_claims",
    "encode_signed",
    "issue_code",
    "parse_payload",
    "parse_payload_at",
    "peek_code",
]

PREFIX = "CN1:"
#: The private-use CWT claim holding the health-code fields.
HC_CLAIM = -65537
PAYLOAD_VERSION = 1
#: Lifetime of a code shown on a phone screen (re-issued on every change and on expiry).
SCREEN_LIFETIME = timedelta(minutes=5)
#: Lifetime of a printed paper code.
PAPER_LIFETIME = timedelta(days=1)
#: Colours and their integers in the code.
COLOURS: dict[str, int] = {"green": 0, "yellow": 1, "red": 2}
_COLOUR_NAMES = {v: k for k, v in COLOURS.items()}
#: Badges (not colours) and their integers in the code.
BADGES: dict[str, int] = {
    "nat-24h": 1,
    "nat-48h": 2,
    "nat-72h": 3,
    "nat-7d": 4,
    "vaccine-1": 11,
    "vaccine-2": 12,
    "vaccine-3": 13,
    "vaccine-4": 14,
    "pending-check": 20,  # a pop-up the checkpoint must resolve
}
_BADGE_NAMES = {v: k for k, v in BADGES.items()}
SERIAL_BYTES = 12
_H_VERSION, _H_COLOUR, _H_BADGES, _H_RULES, _H_NAME, _H_ID = 1, 2, 3, 4, 5, 6
_CLAIM_KEYS = frozenset({ISS, SUB, EXP, IAT, CTI, HC_CLAIM})
_HC_KEYS = frozenset({_H_VERSION, _H_COLOUR, _H_BADGES, _H_RULES, _H_NAME, _H_ID})
_PROVINCE = re.compile(r"[1-9][0-9]0000")
#: Every string ``_PROVINCE`` fully matches (90): a set lookup instead of the regex on the
#: one-pass check (~0.3 µs); the schema field by field keeps the regex.
_PROVINCES = frozenset(f"{n}0000" for n in range(10, 100))
_SUBJECT = re.compile(r"[0-9a-f]{16,64}")
_MAX_TEXT = 32  # masked name, masked ID, rule-set version
_MAX_LIFETIME_SECONDS = MAX_CODE_LIFETIME.total_seconds()
_STAGE = Stage.SCHEMA


@dataclass(frozen=True, slots=True)
class NativePayload:
    """The checked content of a native code."""

    issuer: str
    subject: str
    issued_at: datetime
    expires_at: datetime
    serial: bytes
    colour: str
    badges: tuple[str, ...]
    rule_set: str
    masked_name: str
    masked_id: str

    def to_json(self) -> dict[str, Any]:
        """JSON-ready form (times ISO 8601 UTC, serial hex): what acceptance rules see."""
        return {
            "iss": self.issuer,
            "sub": self.subject,
            "iat": self.issued_at.isoformat(),
            "exp": self.expires_at.isoformat(),
            "serial": self.serial.hex(),
            "colour": self.colour,
            "badges": list(self.badges),
            "rule_set": self.rule_set,
            "name": self.masked_name,
            "id": self.masked_id,
        }


def _slot_setter(cls: type, name: str) -> Callable[[Any, Any], None]:
    """The slot descriptor's setter of field ``name`` (what a frozen dataclass bypasses)."""
    setter: Callable[[Any, Any], None] = cls.__dict__[name].__set__
    return setter


_NEW = object.__new__
(
    _SET_ISSUER,
    _SET_SUBJECT,
    _SET_ISSUED_AT,
    _SET_EXPIRES_AT,
    _SET_SERIAL,
    _SET_COLOUR,
    _SET_BADGES,
    _SET_RULE_SET,
    _SET_MASKED_NAME,
    _SET_MASKED_ID,
) = (_slot_setter(NativePayload, name) for name in NativePayload.__dataclass_fields__)


def _new_payload(
    issuer: str,
    subject: str,
    issued_at: datetime,
    expires_at: datetime,
    serial: bytes,
    colour: str,
    badges: tuple[str, ...],
    rule_set: str,
    masked_name: str,
    masked_id: str,
) -> NativePayload:
    """``NativePayload(...)`` with the fields in order, without the dataclass ``__init__``.

    The same frozen instance (the tests compare the two); ~1 µs cheaper on the verify path.
    """
    payload: NativePayload = _NEW(NativePayload)
    _SET_ISSUER(payload, issuer)
    _SET_SUBJECT(payload, subject)
    _SET_ISSUED_AT(payload, issued_at)
    _SET_EXPIRES_AT(payload, expires_at)
    _SET_SERIAL(payload, serial)
    _SET_COLOUR(payload, colour)
    _SET_BADGES(payload, badges)
    _SET_RULE_SET(payload, rule_set)
    _SET_MASKED_NAME(payload, masked_name)
    _SET_MASKED_ID(payload, masked_id)
    return payload


def _bad(
    message: str, field: str, code: ErrorCode = ErrorCode.PAYLOAD_INVALID
) -> VerificationFailed:
    return VerificationFailed(code, message, stage=_STAGE, field=field)


def _text(value: Any, field: str, *, min_len: int = 1) -> str:
    if not isinstance(value, str) or not (min_len <= len(value) <= _MAX_TEXT):
        raise _bad(f"{field} must be text of {min_len}-{_MAX_TEXT} characters", field)
    return value


def _int(value: Any, field: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise _bad(f"{field} must be a non-negative integer", field)
    return value


def parse_payload(claims: Mapping[Any, Any]) -> NativePayload:
    """Check a decoded claim map against the payload schema (see the module docstring).

    Raises VerificationFailed at stage ``schema``: ``PAYLOAD_VERSION_UNKNOWN``, or
    ``PAYLOAD_INVALID`` with ``details["field"]`` naming the claim.
    """
    payload = _parse_common(claims)
    return payload if payload is not None else _parse_checked(claims)


def parse_payload_at(
    claims: Mapping[Any, Any], issued_at: datetime, expires_at: datetime
) -> NativePayload:
    """:func:`parse_payload` for a verifier that already converted ``iat`` and ``exp``.

    ``issued_at`` and ``expires_at`` must be what :func:`healthcode.core.codes.cwt.check_times`
    returned for these very claims (``datetime.fromtimestamp(claim, UTC)``): the usual claim
    map (integer times) reuses them instead of converting again; any other map goes through
    the schema field by field, which converts them itself. Same payload, same errors.
    """
    payload = _parse_common(claims, issued_at, expires_at)
    return payload if payload is not None else _parse_checked(claims)


def _parse_common(
    claims: Mapping[Any, Any],
    issued_at: datetime | None = None,
    expires_at: datetime | None = None,
) -> NativePayload | None:
    """The usual claim map, checked in one straight pass: the payload, or None.

    Accepts a subset of what :func:`_parse_checked` (the schema, field by field) accepts and
    returns the same payload for it: plain dicts with exactly the six claims and the six
    health-code fields, every value of its exact type. None for anything else, valid or not;
    :func:`_parse_checked` then decides and names the failing field (the tests check that
    the two agree on random claim maps).
    """
    if type(claims) is not dict or claims.keys() != _CLAIM_KEYS:
        return None
    hc = claims[HC_CLAIM]
    if type(hc) is not dict or hc.keys() != _HC_KEYS:
        return None
    version, raw_colour, raw_badges = hc[_H_VERSION], hc[_H_COLOUR], hc[_H_BADGES]
    rule_set, masked_name, masked_id = hc[_H_RULES], hc[_H_NAME], hc[_H_ID]
    issuer, subject, serial, iat, exp = (
        claims[ISS],
        claims[SUB],
        claims[CTI],
        claims[IAT],
        claims[EXP],
    )
    if not (
        type(version) is int
        and version == PAYLOAD_VERSION
        and type(issuer) is str
        and issuer in _PROVINCES
        and type(subject) is str
        and _SUBJECT.fullmatch(subject)
        and type(iat) is int
        and type(exp) is int
        and iat >= 0
        and 0 < exp - iat <= _MAX_LIFETIME_SECONDS
        and type(serial) is bytes
        and 8 <= len(serial) <= 32
        and type(raw_colour) is int
        and type(raw_badges) is list
        and len(raw_badges) <= len(BADGES)
        and type(rule_set) is str
        and 1 <= len(rule_set) <= _MAX_TEXT
        and type(masked_name) is str
        and 1 <= len(masked_name) <= _MAX_TEXT
        and type(masked_id) is str
        and 1 <= len(masked_id) <= _MAX_TEXT
        and "*" in masked_id
    ):
        return None
    colour = _COLOUR_NAMES.get(raw_colour)
    if colour is None:
        return None
    badges = []
    for item in raw_badges:
        name = _BADGE_NAMES.get(item) if type(item) is int else None
        if name is None or name in badges:
            return None
        badges.append(name)
    if issued_at is None or expires_at is None:
        try:
            issued_at = datetime.fromtimestamp(iat, UTC)
            expires_at = datetime.fromtimestamp(exp, UTC)
        except (OverflowError, OSError, ValueError):
            return None
    return _new_payload(
        issuer,
        subject,
        issued_at,
        expires_at,
        serial,
        colour,
        tuple(badges),
        rule_set,
        masked_name,
        masked_id,
    )


def _parse_checked(claims: Mapping[Any, Any]) -> NativePayload:
    """The payload schema, field by field, for any claim map (see :func:`parse_payload`)."""
    if not _CLAIM_KEYS.issuperset(claims):
        unknown = set(claims) - _CLAIM_KEYS
        raise _bad(f"unknown claims {sorted(map(repr, unknown))}", "claims")
    hc = claims.get(HC_CLAIM)
    if type(hc) is not dict and not isinstance(hc, Mapping):
        raise _bad("the health-code claim is missing", "hc")
    version = hc.get(_H_VERSION)
    if version != PAYLOAD_VERSION or isinstance(version, bool):
        raise _bad(f"payload version {version!r}", "hc.v", ErrorCode.PAYLOAD_VERSION_UNKNOWN)
    if not _HC_KEYS.issuperset(hc):
        unknown = set(hc) - _HC_KEYS
        raise _bad(f"unknown health-code fields {sorted(map(repr, unknown))}", "hc")
    issuer = claims.get(ISS)
    if not isinstance(issuer, str) or not _PROVINCE.fullmatch(issuer):
        raise _bad("iss must be a province code", "iss")
    subject = claims.get(SUB)
    if not isinstance(subject, str) or not _SUBJECT.fullmatch(subject):
        raise _bad("sub must be 16-64 lower-case hex digits", "sub")
    iat, exp = _int(claims.get(IAT), "iat"), _int(claims.get(EXP), "exp")
    if not 0 < exp - iat <= _MAX_LIFETIME_SECONDS:
        raise _bad(f"lifetime must be positive and at most {MAX_CODE_LIFETIME}", "exp")
    serial = claims.get(CTI)
    if not isinstance(serial, bytes) or not 8 <= len(serial) <= 32:
        raise _bad("cti (serial) must be 8-32 bytes", "cti")
    raw_colour = hc.get(_H_COLOUR)
    colour = _COLOUR_NAMES.get(raw_colour) if type(raw_colour) is int else None
    if colour is None:
        raise _bad("colour must be 0, 1 or 2", "hc.colour")
    raw_badges = hc.get(_H_BADGES, [])
    if not isinstance(raw_badges, list) or len(raw_badges) > len(BADGES):
        raise _bad("badges must be a short list", "hc.badges")
    badges = []
    for item in raw_badges:
        name = _BADGE_NAMES.get(item) if type(item) is int else None
        if name is None or name in badges:
            raise _bad(f"unknown or repeated badge {item!r}", "hc.badges")
        badges.append(name)
    masked_id = _text(hc.get(_H_ID), "hc.id")
    if "*" not in masked_id:
        raise _bad("the ID number must be masked", "hc.id")
    try:
        issued_at = datetime.fromtimestamp(iat, UTC)
        expires_at = datetime.fromtimestamp(exp, UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise _bad(f"time out of range: {exc}", "iat") from exc
    return NativePayload(
        issuer=issuer,
        subject=subject,
        issued_at=issued_at,
        expires_at=expires_at,
        serial=serial,
        colour=colour,
        badges=tuple(badges),
        rule_set=_text(hc.get(_H_RULES), "hc.rule_set"),
        masked_name=_text(hc.get(_H_NAME), "hc.name"),
        masked_id=masked_id,
    )


def build_claims(
    *,
    issuer: str,
    subject: str,
    issued_at: datetime,
    expires_at: datetime,
    serial: bytes,
    colour: str,
    badges: Iterable[str],
    rule_set: str,
    masked_name: str,
    masked_id: str,
) -> dict[int, Any]:
    """The CWT claim map of a native code (no checks: :func:`issue_code` checks).

    Raises KeyError for an unknown colour or badge.
    """
    return {
        ISS: issuer,
        SUB: subject,
        EXP: int(expires_at.timestamp()),
        IAT: int(issued_at.timestamp()),
        CTI: serial,
        HC_CLAIM: {
            _H_VERSION: PAYLOAD_VERSION,
            _H_COLOUR: COLOURS[colour],
            _H_BADGES: [BADGES[b] for b in badges],
            _H_RULES: rule_set,
            _H_NAME: masked_name,
            _H_ID: masked_id,
        },
    }


def encode_signed(claims: Mapping[int, Any], *, private_key: Any, kid: bytes) -> str:
    """``CN1:`` + Base45(zlib(COSE_Sign1(claims))) signed ES256, kid in the protected header.

    No checks on the claims: tests use it to build hostile codes. Use :func:`issue_code`.
    """
    cose = sign1_encode(encode_claims(claims), private_key=private_key, kid=kid)
    return PREFIX + b45encode(zlib.compress(cose, 9))


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
    and InvalidInput-like :class:`VerificationFailed` ``PAYLOAD_INVALID`` (stage ``schema``)
    when a field breaks the payload schema (same checks as the verifier's).
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
        raise _bad(f"unknown colour {colour!r} or badge in {badge_list}", "hc")
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


def peek_code(text: str) -> NativePayload:
    """Decode a native code WITHOUT verifying its signature or times: for display only.

    Raises VerificationFailed with the failing stage's code.
    """
    if not text.startswith(PREFIX):
        raise VerificationFailed(
            ErrorCode.PREFIX_INVALID, f"not a {PREFIX} code", stage=Stage.PREFIX
        )
    try:
        cose = zlib.decompressobj().decompress(b45decode(text[len(PREFIX) :]), 64 * 1024)
    except zlib.error as exc:
        raise VerificationFailed(
            ErrorCode.DECOMPRESS_FAILED, str(exc), stage=Stage.DECOMPRESS
        ) from exc
    return parse_payload(decode_claims(sign1_decode(cose).payload))
