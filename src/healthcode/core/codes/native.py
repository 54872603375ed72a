"""The native health code: ``CN1:`` + Base45(COSE_Sign1(CWT)), signed ES256 by a province.

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
    -65538   map    instead of -65537, the *light* health-code claim (minimal disclosure, in the
                    spirit of the Swiss "certificate light"): only 1 version and 2 colour; no
                    name, ID, badges or rule set. ``sub`` is then a pseudonym of its own.
    65535    map    optional: status, ``{"status_list": {"idx", "uri}}`` (draft-ietf-oauth-
                    status-list, "Referenced Token in COSE"): the code's colour state in the
                    hub's Token Status List (``core/codes/status_list.py``)

zlib is optional: the bytes under the Base45 are either a COSE_Sign1 as it is (starting as one
does: ``D2`` tag 18, ``84`` an array of 4, or ``D8 3D`` tag 61) or zlib data (RFC 1950) that
inflates to one. No zlib stream starts with those bytes (its first byte ends in the nibble 8 and
its window nibble is at most 7), so a verifier tells the two apart by the first bytes and stays
strict about each. Issuers write the COSE_Sign1 as it is (``compress=False``): zlib does not pay
for this payload (a signature, a random serial and a hex pseudonym, close to random bytes). On
200 codes with random serials and subjects it saved a byte twice and added 1-4 bytes otherwise,
in the same QR version, and it cost about a third of the issuing time (``docs/benchmarks.md``).
Codes compressed by earlier issuers still verify.

Codes are short-lived: :data:`SCREEN_LIFETIME` for a phone screen, :data:`PAPER_LIFETIME` for
paper, never more than :data:`MAX_CODE_LIFETIME`. This module is the format only; a province
issues codes with :func:`healthcode.core.trust.issue.issue_code`, which also keeps a code within
its signer certificate's validity.

>>> from datetime import datetime, timedelta, timezone
>>> from cryptography.hazmat.primitives.asymmetric import ec
>>> t = datetime(2022, 11, 20, tzinfo=timezone.utc)
>>> claims = build_claims(issuer="440000", subject="ab" * 16, issued_at=t,
...                       expires_at=t + SCREEN_LIFETIME, serial=bytes(12), colour="green",
...                       badges=["nat-48h"], rule_set="2022.11", masked_name="张*丰",
...                       masked_id="4401**********1234")
>>> text = encode_signed(claims, private_key=ec.generate_private_key(ec.SECP256R1()),
...                      kid=b"12345678")
>>> text[:4], peek_code(text).colour, peek_code(text).badges
('CN1:', 'green', ('nat-48h',))
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from healthcode.core.codes.base45_fast import b45decode, b45encode
from healthcode.core.codes.cose import SIGN1_STARTS, sign1_decode, sign1_encode
from healthcode.core.codes.cwt import CTI, EXP, IAT, ISS, SUB, decode_claims, encode_claims
from healthcode.core.codes.status_list import (
    CLAIM_STATUS,
    StatusReference,
    parse_status_claim,
    status_claim,
)
from healthcode.core.error_codes import ErrorCode
from healthcode.core.errors import VerificationFailed

__all__ = [
    "BADGES",
    "COLOURS",
    "HC_CLAIM",
    "HC_LIGHT_CLAIM",
    "MAX_CODE_LIFETIME",
    "MAX_SERIAL_BYTES",
    "MIN_SERIAL_BYTES",
    "PAPER_LIFETIME",
    "PAYLOAD_VERSION",
    "PREFIX",
    "PROFILE_FULL",
    "PROFILE_LIGHT",
    "SCREEN_LIFETIME",
    "SERIAL_BYTES",
    "NativePayload",
    "build_claims",
    "code_claims",
    "encode_signed",
    "health_code_claim",
    "light_code_claim",
    "parse_payload",
    "peek_code",
]

PREFIX = "CN1:"
#: The private-use CWT claim holding the health-code fields.
HC_CLAIM = -65537
#: The private-use CWT claim of a light code (colour only), in place of ``HC_CLAIM``.
HC_LIGHT_CLAIM = -65538
PROFILE_FULL, PROFILE_LIGHT = "full", "light"
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
#: Random bytes of a serial (``cti``) when the issuer does not give one.
SERIAL_BYTES = 12
#: The sizes of a serial the payload schema allows.
MIN_SERIAL_BYTES, MAX_SERIAL_BYTES = 8, 32
#: The longest a native code may live (a paper code: one day). A retired signer stays in the
#: trust list this long after retirement, so that every code it signed can still be verified.
MAX_CODE_LIFETIME = timedelta(days=1)
_H_VERSION, _H_COLOUR, _H_BADGES, _H_RULES, _H_NAME, _H_ID = 1, 2, 3, 4, 5, 6
_CLAIM_KEYS = frozenset({ISS, SUB, EXP, IAT, CTI, HC_CLAIM, HC_LIGHT_CLAIM, CLAIM_STATUS})
_HC_KEYS = frozenset({_H_VERSION, _H_COLOUR, _H_BADGES, _H_RULES, _H_NAME, _H_ID})
_LIGHT_KEYS = frozenset({_H_VERSION, _H_COLOUR})
_PROVINCE = re.compile(r"[1-9][0-9]0000")
_SUBJECT = re.compile(r"[0-9a-f]{16,64}")
_MAX_TEXT = 32  # masked name, masked ID, rule-set version


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
    status: StatusReference | None = None
    profile: str = PROFILE_FULL  # PROFILE_LIGHT: colour only, no name, ID, badges or rule set

    def to_json(self) -> dict[str, Any]:
        """JSON-ready form (times ISO 8601 UTC, serial hex): what acceptance rules see."""
        out: dict[str, Any] = {
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
            "profile": self.profile,
        }
        if self.status is not None:
            out["status"] = self.status.to_json()
        return out


def _bad(
    message: str, field: str, code: ErrorCode = ErrorCode.PAYLOAD_INVALID
) -> VerificationFailed:
    return VerificationFailed(code, message, field=field)


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
    if not _CLAIM_KEYS.issuperset(claims):
        unknown = set(claims) - _CLAIM_KEYS
        raise _bad(f"unknown claims {sorted(map(repr, unknown))}", "claims")
    if (HC_CLAIM in claims) == (HC_LIGHT_CLAIM in claims):
        raise _bad("a code carries the full or the light health-code claim, one of them", "hc")
    light = HC_LIGHT_CLAIM in claims
    hc = _health_code_claim(claims[HC_LIGHT_CLAIM if light else HC_CLAIM], light=light)
    issuer = claims.get(ISS)
    if not isinstance(issuer, str) or not _PROVINCE.fullmatch(issuer):
        raise _bad("iss must be a province code", "iss")
    subject = claims.get(SUB)
    if not isinstance(subject, str) or not _SUBJECT.fullmatch(subject):
        raise _bad("sub must be 16-64 lower-case hex digits", "sub")
    issued_at, expires_at = _lifetime(claims.get(IAT), claims.get(EXP))
    serial = claims.get(CTI)
    if not isinstance(serial, bytes) or not MIN_SERIAL_BYTES <= len(serial) <= MAX_SERIAL_BYTES:
        raise _bad(f"cti (serial) must be {MIN_SERIAL_BYTES}-{MAX_SERIAL_BYTES} bytes", "cti")
    raw_colour = hc.get(_H_COLOUR)
    colour = _COLOUR_NAMES.get(raw_colour) if type(raw_colour) is int else None
    if colour is None:
        raise _bad("colour must be 0, 1 or 2", "hc.colour")
    status = parse_status_claim(claims[CLAIM_STATUS]) if CLAIM_STATUS in claims else None
    if light:
        return NativePayload(
            issuer=issuer,
            subject=subject,
            issued_at=issued_at,
            expires_at=expires_at,
            serial=serial,
            colour=colour,
            badges=(),
            rule_set="",
            masked_name="",
            masked_id="",
            status=status,
            profile=PROFILE_LIGHT,
        )
    masked_id = _text(hc.get(_H_ID), "hc.id")
    if "*" not in masked_id:
        raise _bad("the ID number must be masked", "hc.id")
    return NativePayload(
        issuer=issuer,
        subject=subject,
        issued_at=issued_at,
        expires_at=expires_at,
        serial=serial,
        colour=colour,
        badges=_badges(hc.get(_H_BADGES, [])),
        rule_set=_text(hc.get(_H_RULES), "hc.rule_set"),
        masked_name=_text(hc.get(_H_NAME), "hc.name"),
        masked_id=masked_id,
        status=status,
    )


def _health_code_claim(hc: Any, *, light: bool) -> Mapping[Any, Any]:
    if not isinstance(hc, Mapping):
        raise _bad("the health-code claim is missing", "hc")
    version = hc.get(_H_VERSION)
    if version != PAYLOAD_VERSION or isinstance(version, bool):
        raise _bad(f"payload version {version!r}", "hc.v", ErrorCode.PAYLOAD_VERSION_UNKNOWN)
    if not (_LIGHT_KEYS if light else _HC_KEYS).issuperset(hc):
        unknown = set(hc) - _HC_KEYS
        raise _bad(f"unknown health-code fields {sorted(map(repr, unknown))}", "hc")
    return hc


def _lifetime(iat: Any, exp: Any) -> tuple[datetime, datetime]:
    """``iat`` and ``exp`` as instants; the lifetime must be positive and short."""
    iat, exp = _int(iat, "iat"), _int(exp, "exp")
    if not 0 < exp - iat <= MAX_CODE_LIFETIME.total_seconds():
        raise _bad(f"lifetime must be positive and at most {MAX_CODE_LIFETIME}", "exp")
    try:
        return datetime.fromtimestamp(iat, UTC), datetime.fromtimestamp(exp, UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise _bad(f"time out of range: {exc}", "iat") from exc


def _badges(raw: Any) -> tuple[str, ...]:
    if not isinstance(raw, list) or len(raw) > len(BADGES):
        raise _bad("badges must be a short list", "hc.badges")
    badges: list[str] = []
    for item in raw:
        name = _BADGE_NAMES.get(item) if type(item) is int else None
        if name is None or name in badges:
            raise _bad(f"unknown or repeated badge {item!r}", "hc.badges")
        badges.append(name)
    return tuple(badges)


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
    """The CWT claim map of a native code (no checks: :func:`parse_payload` checks).

    Raises KeyError for an unknown colour or badge.
    """
    health_code = health_code_claim(
        colour=colour,
        badges=badges,
        rule_set=rule_set,
        masked_name=masked_name,
        masked_id=masked_id,
    )
    return code_claims(
        issuer=issuer,
        subject=subject,
        issued_at=issued_at,
        expires_at=expires_at,
        serial=serial,
        health_code=health_code,
    )


def health_code_claim(
    *, colour: str, badges: Iterable[str], rule_set: str, masked_name: str, masked_id: str
) -> dict[int, Any]:
    """The health-code claim (``HC_CLAIM``): what a code says of its holder (no checks).

    Raises KeyError for an unknown colour or badge.
    """
    return {
        _H_VERSION: PAYLOAD_VERSION,
        _H_COLOUR: COLOURS[colour],
        _H_BADGES: [BADGES[b] for b in badges],
        _H_RULES: rule_set,
        _H_NAME: masked_name,
        _H_ID: masked_id,
    }


def light_code_claim(*, colour: str) -> dict[int, Any]:
    """The light health-code claim (``HC_LIGHT_CLAIM``): the colour only. KeyError if unknown."""
    return {_H_VERSION: PAYLOAD_VERSION, _H_COLOUR: COLOURS[colour]}


def code_claims(
    *,
    issuer: str,
    subject: str,
    issued_at: datetime,
    expires_at: datetime,
    serial: bytes,
    health_code: Mapping[int, Any],
    light: bool = False,
    status: StatusReference | None = None,
) -> dict[int, Any]:
    """The claim map around a health-code claim (under ``HC_LIGHT_CLAIM`` when ``light``):
    issuer, subject, times, serial, and the status claim when given (no checks)."""
    claims: dict[int, Any] = {
        ISS: issuer,
        SUB: subject,
        EXP: int(expires_at.timestamp()),
        IAT: int(issued_at.timestamp()),
        CTI: serial,
        HC_LIGHT_CLAIM if light else HC_CLAIM: health_code,
    }
    if status is not None:
        claims[CLAIM_STATUS] = status_claim(status)
    return claims


def encode_signed(
    claims: Mapping[int, Any], *, private_key: Any, kid: bytes, compress: bool = False
) -> str:
    """``CN1:`` + Base45(COSE_Sign1(claims)) signed ES256, kid in the protected header.

    ``compress`` puts zlib between the COSE_Sign1 and the Base45 (the format allows both; see
    the module docstring). No checks on the claims: tests use it to build hostile codes. Issuers
    use :func:`healthcode.core.trust.issue.issue_code`.
    """
    cose = sign1_encode(encode_claims(claims), private_key=private_key, kid=kid)
    return PREFIX + b45encode(zlib.compress(cose, 9) if compress else cose)


def peek_code(text: str) -> NativePayload:
    """Decode a native code WITHOUT verifying its signature or times: for display only.

    Raises VerificationFailed with the failing stage's code.
    """
    if not text.startswith(PREFIX):
        raise VerificationFailed(ErrorCode.PREFIX_INVALID, f"not a {PREFIX} code")
    data = b45decode(text[len(PREFIX) :])
    try:
        if data.startswith(SIGN1_STARTS):
            cose = data
        else:
            cose = zlib.decompressobj().decompress(data, 64 * 1024)
    except zlib.error as exc:
        raise VerificationFailed(ErrorCode.DECOMPRESS_FAILED, str(exc)) from exc
    return parse_payload(decode_claims(sign1_decode(cose).payload))
