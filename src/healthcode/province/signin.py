"""Citizens' sign-in: ID number + phone + a one-time code sent by SMS; a session after it.

1. ``start(raw, address)``: the ID number (checked as an application checks it) and the phone.
   Both locks (this ID, this client address) are checked, then the codes asked in the window
   are counted (``SIGN_IN_RATE_LIMITED`` past ``CODES_PER_ID`` / ``CODES_PER_ADDRESS``). When
   the ID applied here and the phone is the stored one (compared in constant time), a
   six-digit code is made, its keyed digest stored, and the code sent through the
   ``SmsSender``; otherwise nothing is sent. The answer is the same either way (a challenge id
   and its expiry), so sign-in does not tell who applied.
2. ``verify(raw, address)``: the challenge and the code. A wrong, expired, used or never-sent
   code is ``SIGN_IN_CODE_INVALID`` and counts as a failure of the ID and of the address;
   ``FAILURES_TO_LOCK`` failures in the window lock that ID or address for ``LOCK_FOR``
   (``SIGN_IN_LOCKED``, with ``Retry-After``); a challenge takes ``ATTEMPTS_PER_CODE`` tries.
   A right code answers a session.

A session is a bearer token (``hcse_`` and 43 URL-safe characters, 256 random bits) that lives
``SESSION_LIFETIME`` and ends earlier at ``sign_out``; the store keeps its SHA-256 digest. It
reaches the same routes as the person token an application answers (``/v1/me``...).
Everything counted is in the province's database, so it holds across restarts and processes.

The default ``LogSender`` writes the code to the server log (logger
``healthcode.province.sms``): a real SMS gateway is another ``SmsSender``.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from healthcode.core import identity
from healthcode.core.clock import CHINA_TZ, Clock
from healthcode.core.error_codes import ErrorCode
from healthcode.core.errors import AccessDenied, InvalidInput
from healthcode.core.facts import format_instant
from healthcode.hub.fields import optional_text, required_text
from healthcode.hub.orgs import hash_token
from healthcode.province.models import CitizenSession, Person, SignInChallenge, SignInThrottle
from healthcode.province.people import PersonTokens
from healthcode.store.crypto import FieldCipher
from healthcode.store.db import Database
from healthcode.store.retry import run_write

__all__ = [
    "ATTEMPTS_PER_CODE",
    "CODES_PER_ADDRESS",
    "CODES_PER_ID",
    "CODE_LIFETIME",
    "FAILURES_TO_LOCK",
    "LOCK_FOR",
    "SESSION_LIFETIME",
    "SESSION_PREFIX",
    "WINDOW",
    "LogSender",
    "SignInService",
    "SmsSender",
    "id_and_phone",
    "same_phone",
    "throttle_row",
]

log = logging.getLogger("healthcode.province.sms")

CODE_LIFETIME = timedelta(minutes=5)
#: Tries of one code before it is dead (a new one must be asked for).
ATTEMPTS_PER_CODE = 5
#: The window codes and failures are counted in.
WINDOW = timedelta(minutes=15)
#: Codes asked per ID number and per client address in a window (SMS cost, nuisance).
CODES_PER_ID = 5
CODES_PER_ADDRESS = 30
#: Failed sign-ins in a window that lock the ID number or the address, and for how long.
FAILURES_TO_LOCK = {"id": 5, "addr": 30}
LOCK_FOR = timedelta(minutes=30)
SESSION_LIFETIME = timedelta(hours=12)
SESSION_PREFIX = "hcse_"
_PHONE = re.compile(r"\+?[0-9][0-9 -]{3,22}[0-9]")
_CODE = re.compile(r"[0-9]{6}")
_CHALLENGE = re.compile(r"[A-Za-z0-9_-]{22}")
_ADDRESS_MAX = 80


class SmsSender(Protocol):
    """Sends a text message; a gateway's client implements it. Raises nothing it expects the
    caller to handle: a message that cannot be sent is logged by the sender."""

    def send(self, phone: str, text: str) -> None: ...


class LogSender:
    """The default sender: the message goes to the server log (``healthcode.province.sms``,
    level WARNING so that it shows with the default log settings), for a demo or a test."""

    def send(self, phone: str, text: str) -> None:
        log.warning("SMS to %s: %s", identity.mask_phone(phone), text)


@dataclass(frozen=True, slots=True)
class _Refusal:
    code: ErrorCode
    message: str
    retry_after: int | None = None

    def error(self) -> AccessDenied:
        details = {} if self.retry_after is None else {"retry_after": self.retry_after}
        return AccessDenied(self.code, self.message, **details)


def _message(code: str) -> str:
    return f"【健康码】登录验证码 {code}，5 分钟内有效。Health code sign-in: {code} (5 min)."


@dataclass(kw_only=True, eq=False)
class SignInService:
    db: Database
    clock: Clock
    tokens: PersonTokens
    cipher: FieldCipher
    sender: SmsSender
    #: Makes the six-digit code (replaceable in tests).
    make_code: Callable[[], str] = lambda: f"{secrets.randbelow(1_000_000):06d}"

    def __post_init__(self) -> None:
        probe = self.tokens.id_digest("sign-in", "code-key")
        self._code_key = hashlib.sha256(b"healthcode/sign-in-code/v1" + probe.encode()).digest()

    def _code_digest(self, challenge: str, code: str) -> str:
        message = f"{challenge}|{code}".encode()
        return hmac.new(self._code_key, message, hashlib.sha256).hexdigest()

    # -- 1. asking for a code ------------------------------------------------------------------
    def start(self, raw: Any, address: str) -> dict[str, Any]:
        """Ask for a one-time code. Answers ``{"challenge", "expires_at"}`` whether or not a
        code was sent.

        Raises InvalidInput RECORD_NOT_OBJECT, FIELD_*, ID_*, PHONE_INVALID; AccessDenied
        SIGN_IN_LOCKED, SIGN_IN_RATE_LIMITED; DatabaseBusy.
        """
        now = self.clock.now()
        id_type, number, phone = id_and_phone(raw, now)
        digest = self.tokens.id_digest(id_type, number)
        keys = {"id": f"id:{digest}", "addr": f"addr:{_address(address)}"}
        challenge, code = secrets.token_urlsafe(16), self.make_code()

        def step(s: Session) -> tuple[_Refusal | None, str | None]:
            refusal = self._locked(s, keys, now) or self._count_code(s, keys, now)
            if refusal is not None:
                return refusal, None
            _forget(s, now)
            query = select(Person).where(Person.id_digest == digest)
            person = s.execute(query).scalar_one_or_none()
            pseudonym = person.pseudonym if person and self._same_phone(person, phone) else None
            s.add(
                SignInChallenge(
                    id=challenge,
                    id_digest=digest,
                    pseudonym=pseudonym,
                    code_digest=self._code_digest(challenge, code),
                    created_at=now,
                    expires_at=now + CODE_LIFETIME,
                    attempts=0,
                )
            )
            return None, pseudonym

        refusal, pseudonym = run_write(self.db, step)
        if refusal is not None:
            raise refusal.error()
        if pseudonym is not None:
            self.sender.send(phone, _message(code))
        return {"challenge": challenge, "expires_at": format_instant(now + CODE_LIFETIME)}

    def _same_phone(self, person: Person, phone: str) -> bool:
        return same_phone(self.cipher, person, phone)

    # -- the throttle --------------------------------------------------------------------------
    def _locked(self, s: Session, keys: Mapping[str, str], now: datetime) -> _Refusal | None:
        for key in keys.values():
            row = s.get(SignInThrottle, key)
            if row is not None and row.locked_until is not None and row.locked_until > now:
                wait = int((row.locked_until - now).total_seconds()) + 1
                return _Refusal(
                    ErrorCode.SIGN_IN_LOCKED, "too many failed sign-ins: try again later", wait
                )
        return None

    def _count_code(self, s: Session, keys: Mapping[str, str], now: datetime) -> _Refusal | None:
        limits = {"id": CODES_PER_ID, "addr": CODES_PER_ADDRESS}
        rows = {kind: throttle_row(s, key, now) for kind, key in keys.items()}
        for kind, row in rows.items():
            if row.codes >= limits[kind]:
                wait = int((row.window_start + WINDOW - now).total_seconds()) + 1
                return _Refusal(
                    ErrorCode.SIGN_IN_RATE_LIMITED, "too many codes asked: try again later", wait
                )
        for row in rows.values():
            row.codes += 1
        return None

    def _fail(self, s: Session, keys: Mapping[str, str], now: datetime) -> None:
        for kind, key in keys.items():
            row = throttle_row(s, key, now)
            row.failures += 1
            if row.failures >= FAILURES_TO_LOCK[kind]:
                row.locked_until = now + LOCK_FOR

    # -- 2. giving the code back ---------------------------------------------------------------
    def verify(self, raw: Any, address: str) -> dict[str, Any]:
        """Sign in with the code; answers ``{"session", "expires_at", "masked_name",
        "masked_id"}``.

        Raises InvalidInput RECORD_NOT_OBJECT, FIELD_*; AccessDenied SIGN_IN_CODE_INVALID,
        SIGN_IN_LOCKED; DatabaseBusy.
        """
        if not isinstance(raw, Mapping):
            raise InvalidInput(ErrorCode.RECORD_NOT_OBJECT, "a sign-in is a JSON object")
        challenge = required_text(raw, "challenge", 64, what="the challenge id")
        code = required_text(raw, "code", 16, what="the one-time code")
        now = self.clock.now()
        token = SESSION_PREFIX + secrets.token_urlsafe(32)
        addr_key = f"addr:{_address(address)}"
        refusal, person = run_write(
            self.db, lambda s: self._verify_step(s, challenge, code, addr_key, token, now)
        )
        if refusal is not None:
            raise refusal.error()
        assert person is not None
        return {
            "session": token,
            "expires_at": format_instant(now + SESSION_LIFETIME),
            "masked_name": person.masked_name,
            "masked_id": person.masked_id,
        }

    def _verify_step(
        self, s: Session, challenge: str, code: str, addr_key: str, token: str, now: datetime
    ) -> tuple[_Refusal | None, Person | None]:
        """One try in a transaction: counted (a failure of the ID and the address), and a
        session stored when right."""
        row = None
        if _CHALLENGE.fullmatch(challenge):
            query = select(SignInChallenge).where(SignInChallenge.id == challenge)
            row = s.execute(query.with_for_update()).scalar_one_or_none()
        keys = {"addr": addr_key}
        if row is not None:
            keys["id"] = f"id:{row.id_digest}"
        refusal = self._locked(s, keys, now)
        if refusal is not None:
            return refusal, None
        if row is None or not self._matches(row, challenge, code, now):
            self._fail(s, keys, now)
            return _Refusal(ErrorCode.SIGN_IN_CODE_INVALID, "the code is not right"), None
        row.used_at = now
        assert row.pseudonym is not None
        s.add(
            CitizenSession(
                token_digest=hash_token(token),
                pseudonym=row.pseudonym,
                created_at=now,
                expires_at=now + SESSION_LIFETIME,
            )
        )
        return None, s.get(Person, row.pseudonym)

    def _matches(self, row: SignInChallenge, challenge: str, code: str, now: datetime) -> bool:
        """Counts the try; true for the right code of a live, unused challenge sent to
        someone (the digest is compared in constant time in every case)."""
        row.attempts += 1
        right = hmac.compare_digest(row.code_digest, self._code_digest(challenge, code))
        live = row.used_at is None and row.expires_at > now and row.attempts <= ATTEMPTS_PER_CODE
        return right and live and row.pseudonym is not None and bool(_CODE.fullmatch(code))

    # -- sessions ------------------------------------------------------------------------------
    def pseudonym_of(self, token: str | None) -> str:
        """The person a live session token names. Raises AccessDenied SESSION_INVALID."""
        if token and token.startswith(SESSION_PREFIX) and len(token) <= 64:
            with self.db.read() as s:
                row = s.get(CitizenSession, hash_token(token))
            if row is not None and row.revoked_at is None and row.expires_at > self.clock.now():
                return row.pseudonym
        raise AccessDenied(ErrorCode.SESSION_INVALID, "sign in again")

    def sign_out(self, token: str | None) -> None:
        """Ends the session (already ended: nothing to do). Raises AccessDenied
        SESSION_INVALID for a token that names no session."""
        self.pseudonym_of(token)
        assert token is not None
        now = self.clock.now()

        def step(s: Session) -> None:
            row = s.get(CitizenSession, hash_token(token))
            if row is not None and row.revoked_at is None:
                row.revoked_at = now

        run_write(self.db, step)


def id_and_phone(raw: Any, now: datetime) -> tuple[str, str, str]:
    """The ID type, number and phone of a body that names a person (sign-in, holding).
    Raises InvalidInput RECORD_NOT_OBJECT, FIELD_*, ID_*, PHONE_INVALID."""
    if not isinstance(raw, Mapping):
        raise InvalidInput(ErrorCode.RECORD_NOT_OBJECT, "a person's ID and phone are a JSON object")
    id_type = optional_text(raw, "id_type") or identity.IdType.RESIDENT_ID.value
    number = required_text(raw, "id_number", 32, what="the ID number")
    valid = identity.check_id(
        id_type,
        number,
        nationality=optional_text(raw, "nationality"),
        today=now.astimezone(CHINA_TZ).date(),
    )
    phone = required_text(raw, "phone", 32, what="a phone number")
    if not _PHONE.fullmatch(phone):
        raise InvalidInput(ErrorCode.PHONE_INVALID, "not a phone number", field="phone")
    return valid.id_type.value, valid.number, phone


def same_phone(cipher: FieldCipher, person: Person, phone: str) -> bool:
    """``phone`` is the one stored with the person's application (constant time)."""
    stored = cipher.decrypt(person.phone_enc, context=f"people.phone_enc|{person.pseudonym}")
    return hmac.compare_digest(stored.encode(), phone.encode())


def throttle_row(s: Session, key: str, now: datetime) -> SignInThrottle:
    """The throttle row of ``key`` (locked for update), its window restarted when over (the
    sign-in's keys and the family holdings' share the table, each under its own prefix)."""
    row = s.execute(
        select(SignInThrottle).where(SignInThrottle.key == key).with_for_update()
    ).scalar_one_or_none()
    if row is None:
        row = SignInThrottle(key=key, window_start=now, codes=0, failures=0)
        s.add(row)
    elif row.window_start + WINDOW <= now:
        row.window_start, row.codes, row.failures = now, 0, 0
    return row


def _forget(s: Session, now: datetime) -> None:
    """Drop challenges and sessions long over (the tables stay the size of current use)."""
    s.execute(delete(SignInChallenge).where(SignInChallenge.expires_at < now - WINDOW))
    s.execute(delete(CitizenSession).where(CitizenSession.expires_at < now - SESSION_LIFETIME))


def _address(address: str) -> str:
    """The client address as a throttle key (bounded; unknown when the server has none)."""
    return (address or "unknown")[:_ADDRESS_MAX]
