"""Family members holding codes: a signed-in person shows the codes of people who consent
(elderly parents without a smartphone, children), as the "family code" of the national apps.

Consent is given by the held person's own phone, never by what the holder knows:

1. ``ask(holder, raw)``: the holder names the person by ID number and the phone number that
   person applied with. When both match an application here (the phone compared in constant
   time), a six-digit consent code goes to **that phone** by the ``SmsSender``, naming the
   holder (masked) and saying to give the code only to someone they want to show their code.
   The answer is the same when they do not match (nothing is sent), so the route tells nobody
   who applied. A child's application carries a guardian's phone, so a guardian consents for a
   child the same way; an ID number or a birth date alone (all a stranger may know) never
   makes a holding.
2. ``confirm(holder, raw)``: the holder types the code the person read out to them. It must be
   the code of a challenge this holder asked (a code sent for another holder matches nothing),
   live (5 minutes), unused, within ``ATTEMPTS_PER_CODE`` tries. Then the holding is made and
   the held person is told by SMS that they can end it.

Either side ends a holding (``revoke``); the holder sees the held person's code only while it
is live (``held_person``, ``HOLD_UNKNOWN`` otherwise, the same for another holder's holding).

Limits (the sign-in's throttle table, keys ``hold-by:<holder>`` and ``hold-id:<ID digest>``):
``CODES_PER_HOLDER`` consent codes asked per holder and ``CODES_PER_HELD`` sent to one person
per window (``HOLD_RATE_LIMITED``); ``FAILURES_TO_LOCK`` wrong codes lock the holder's holding
for ``LOCK_FOR`` (``HOLD_LOCKED``); ``HELD_MAX`` people held by one holder, ``HOLDERS_MAX``
holders of one person (``HOLD_LIMIT``); nobody holds themselves (``HOLD_SELF``).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from healthcode.core.clock import Clock
from healthcode.core.error_codes import ErrorCode
from healthcode.core.errors import AccessDenied, InvalidInput
from healthcode.core.facts import format_instant
from healthcode.hub.fields import required_text
from healthcode.province.models import HoldChallenge, Holding, Person
from healthcode.province.people import PersonTokens
from healthcode.province.signin import (
    ATTEMPTS_PER_CODE,
    CODE_LIFETIME,
    LOCK_FOR,
    WINDOW,
    SmsSender,
    id_and_phone,
    same_phone,
    throttle_row,
)
from healthcode.store.crypto import FieldCipher
from healthcode.store.db import Database
from healthcode.store.retry import run_write

__all__ = [
    "CODES_PER_HELD",
    "CODES_PER_HOLDER",
    "FAILURES_TO_LOCK",
    "HELD_MAX",
    "HOLDERS_MAX",
    "FamilyService",
]

CODES_PER_HOLDER = 5
CODES_PER_HELD = 3
FAILURES_TO_LOCK = 5
HELD_MAX = 5
HOLDERS_MAX = 3
_CODE = re.compile(r"[0-9]{6}")
_CHALLENGE = re.compile(r"[A-Za-z0-9_-]{22}")


def _consent_text(holder: str, code: str) -> str:
    return (
        f"【健康码】{holder} 请求代您出示健康码。同意请将验证码 {code} 告诉对方（5 分钟内有效），"
        f"不同意请勿告诉任何人。Health code: {holder} asks to show your code for you. If you "
        f"agree, give them {code} (5 min); if not, tell nobody."
    )


def _held_text(holder: str) -> str:
    return (
        f"【健康码】{holder} 已代您持有健康码，您可随时登录在“家人”页中取消。"
        f"Health code: {holder} now holds your code; sign in and end it under Family at any time."
    )


def _denied(code: ErrorCode, message: str, retry_after: int | None = None) -> AccessDenied:
    details = {} if retry_after is None else {"retry_after": retry_after}
    return AccessDenied(code, message, **details)


@dataclass(kw_only=True, eq=False)
class FamilyService:
    db: Database
    clock: Clock
    tokens: PersonTokens
    cipher: FieldCipher
    sender: SmsSender
    make_code: Callable[[], str] = lambda: f"{secrets.randbelow(1_000_000):06d}"

    def __post_init__(self) -> None:
        probe = self.tokens.id_digest("holding", "code-key")
        self._key = hashlib.sha256(b"healthcode/hold-code/v1" + probe.encode()).digest()

    def _digest(self, challenge: str, code: str) -> str:
        return hmac.new(self._key, f"{challenge}|{code}".encode(), hashlib.sha256).hexdigest()

    # -- 1. asking the person's consent -------------------------------------------------------
    def ask(self, holder: str, raw: Any) -> dict[str, Any]:
        """Send a consent code to the named person's phone (when ID and phone match); answers
        ``{"challenge", "expires_at"}`` either way.

        Raises InvalidInput RECORD_NOT_OBJECT, FIELD_*, ID_*, PHONE_INVALID, HOLD_SELF;
        AccessDenied HOLD_LOCKED, HOLD_RATE_LIMITED; DatabaseBusy."""
        now = self.clock.now()
        id_type, number, phone = id_and_phone(raw, now)
        digest = self.tokens.id_digest(id_type, number)
        challenge, code = secrets.token_urlsafe(16), self.make_code()

        def step(s: Session) -> tuple[AccessDenied | None, Person | None, str]:
            me = s.get(Person, holder)
            if me is not None and hmac.compare_digest(me.id_digest, digest):
                raise InvalidInput(ErrorCode.HOLD_SELF, "a person cannot hold their own code")
            refusal = self._locked(s, holder, now) or self._count(s, holder, digest, now)
            if refusal is not None:
                return refusal, None, ""
            s.execute(delete(HoldChallenge).where(HoldChallenge.expires_at < now - WINDOW))
            found = s.execute(select(Person).where(Person.id_digest == digest)).scalar_one_or_none()
            held = found if found and same_phone(self.cipher, found, phone) else None
            s.add(
                HoldChallenge(
                    id=challenge,
                    holder=holder,
                    held=None if held is None else held.pseudonym,
                    code_digest=self._digest(challenge, code),
                    created_at=now,
                    expires_at=now + CODE_LIFETIME,
                    attempts=0,
                )
            )
            return None, held, "" if me is None else me.masked_name

        refusal, held, holder_name = run_write(self.db, step)
        if refusal is not None:
            raise refusal
        if held is not None:
            self.sender.send(phone, _consent_text(holder_name, code))
        return {"challenge": challenge, "expires_at": format_instant(now + CODE_LIFETIME)}

    def _locked(self, s: Session, holder: str, now: datetime) -> AccessDenied | None:
        row = throttle_row(s, f"hold-by:{holder}", now)
        if row.locked_until is not None and row.locked_until > now:
            wait = int((row.locked_until - now).total_seconds()) + 1
            return _denied(ErrorCode.HOLD_LOCKED, "too many wrong consent codes", wait)
        return None

    def _count(self, s: Session, holder: str, digest: str, now: datetime) -> AccessDenied | None:
        limits = {f"hold-by:{holder}": CODES_PER_HOLDER, f"hold-id:{digest}": CODES_PER_HELD}
        rows = [(throttle_row(s, key, now), limit) for key, limit in limits.items()]
        for row, limit in rows:
            if row.codes >= limit:
                wait = int((row.window_start + WINDOW - now).total_seconds()) + 1
                return _denied(ErrorCode.HOLD_RATE_LIMITED, "too many consent codes asked", wait)
        for row, _ in rows:
            row.codes += 1
        return None

    # -- 2. the code given back ----------------------------------------------------------------
    def confirm(self, holder: str, raw: Any) -> dict[str, Any]:
        """Make the holding with the consent code; answers the holding (the same holding when
        it is live already).

        Raises InvalidInput RECORD_NOT_OBJECT, FIELD_*; AccessDenied HOLD_CODE_INVALID,
        HOLD_LOCKED; InvalidInput HOLD_LIMIT; DatabaseBusy."""
        if not isinstance(raw, Mapping):
            raise InvalidInput(ErrorCode.RECORD_NOT_OBJECT, "a consent is a JSON object")
        challenge = required_text(raw, "challenge", 64, what="the challenge id")
        code = required_text(raw, "code", 16, what="the consent code")
        now = self.clock.now()
        made = secrets.token_urlsafe(12)
        refusal, view, phone = run_write(
            self.db, lambda s: self._confirm_step(s, holder, challenge, code, made, now)
        )
        if refusal is not None:
            raise refusal
        if phone:
            holder_name = view.pop("_holder_name")
            self.sender.send(phone, _held_text(holder_name))
        view.pop("_holder_name", None)
        return view

    def _confirm_step(
        self, s: Session, holder: str, challenge: str, code: str, made: str, now: datetime
    ) -> tuple[AccessDenied | None, dict[str, Any], str]:
        refusal = self._locked(s, holder, now)
        if refusal is not None:
            return refusal, {}, ""
        row = None
        if _CHALLENGE.fullmatch(challenge):
            query = select(HoldChallenge).where(HoldChallenge.id == challenge)
            row = s.execute(query.with_for_update()).scalar_one_or_none()
        if row is None or not self._matches(row, holder, challenge, code, now):
            throttled = throttle_row(s, f"hold-by:{holder}", now)
            throttled.failures += 1
            if throttled.failures >= FAILURES_TO_LOCK:
                throttled.locked_until = now + LOCK_FOR
            return _denied(ErrorCode.HOLD_CODE_INVALID, "the consent code is not right"), {}, ""
        assert row.held is not None
        # both people locked (in one order: no deadlock), so that the limits hold under races
        people = {p: s.get(Person, p, with_for_update=True) for p in sorted({holder, row.held})}
        me, held = people[holder], people[row.held]
        assert me is not None and held is not None
        live = select(Holding).where(Holding.revoked_at.is_(None))
        same = s.execute(live.where(Holding.holder == holder, Holding.held == row.held))
        existing = same.scalars().first()
        if existing is not None:
            row.used_at = now
            return None, {**_view(existing, held), "_holder_name": me.masked_name}, ""
        self._within_limits(s, holder, row.held)
        row.used_at = now
        holding = Holding(id=made, holder=holder, held=row.held, created_at=now)
        s.add(holding)
        phone = self.cipher.decrypt(held.phone_enc, context=f"people.phone_enc|{held.pseudonym}")
        return None, {**_view(holding, held), "_holder_name": me.masked_name}, phone

    def _within_limits(self, s: Session, holder: str, held: str) -> None:
        def live(column: Any, value: str) -> int:
            query = select(func.count()).select_from(Holding).where(Holding.revoked_at.is_(None))
            return int(s.execute(query.where(column == value)).scalar_one())

        if live(Holding.holder, holder) >= HELD_MAX:
            raise InvalidInput(ErrorCode.HOLD_LIMIT, f"at most {HELD_MAX} held", limit=HELD_MAX)
        if live(Holding.held, held) >= HOLDERS_MAX:
            raise InvalidInput(
                ErrorCode.HOLD_LIMIT, f"at most {HOLDERS_MAX} holders", limit=HOLDERS_MAX
            )

    def _matches(
        self, row: HoldChallenge, holder: str, challenge: str, code: str, now: datetime
    ) -> bool:
        """Counts the try; true for the right code of this holder's live, unused challenge
        that was sent to someone (the digest compared in constant time in every case)."""
        row.attempts += 1
        right = hmac.compare_digest(row.code_digest, self._digest(challenge, code))
        live = row.used_at is None and row.expires_at > now and row.attempts <= ATTEMPTS_PER_CODE
        mine = hmac.compare_digest(row.holder.encode(), holder.encode())
        return right and live and mine and row.held is not None and bool(_CODE.fullmatch(code))

    # -- reading and ending --------------------------------------------------------------------
    def held(self, holder: str) -> list[dict[str, Any]]:
        """The people the holder holds now, oldest first."""
        return self._list(Holding.holder, holder, lambda h: h.held)

    def holders(self, held: str) -> list[dict[str, Any]]:
        """The people who hold the person's code now, oldest first."""
        return self._list(Holding.held, held, lambda h: h.holder)

    def _list(
        self, column: Any, value: str, other: Callable[[Holding], str]
    ) -> list[dict[str, Any]]:
        with self.db.read() as s:
            query = select(Holding).where(column == value, Holding.revoked_at.is_(None))
            rows = s.execute(query.order_by(Holding.created_at, Holding.id)).scalars().all()
            return [_view(h, s.get(Person, other(h))) for h in rows]

    def held_person(self, holder: str, holding: str) -> str:
        """The pseudonym the holder's live holding ``holding`` names. Raises InvalidInput
        HOLD_UNKNOWN (none, ended, or another's)."""
        with self.db.read() as s:
            row = s.get(Holding, holding) if len(holding) <= 24 else None
        if row is None or row.revoked_at is not None or row.holder != holder:
            raise InvalidInput(ErrorCode.HOLD_UNKNOWN, "no such holding")
        return row.held

    def revoke(self, caller: str, holding: str) -> dict[str, Any]:
        """End a holding, by its holder or the held person (ended already: answered again).
        Raises InvalidInput HOLD_UNKNOWN; DatabaseBusy."""
        now = self.clock.now()

        def step(s: Session) -> dict[str, Any]:
            row = s.get(Holding, holding, with_for_update=True) if len(holding) <= 24 else None
            if row is None or caller not in (row.holder, row.held):
                raise InvalidInput(ErrorCode.HOLD_UNKNOWN, "no such holding")
            if row.revoked_at is None:
                row.revoked_at = now
                row.revoked_by = "holder" if caller == row.holder else "held"
            other = row.held if caller == row.holder else row.holder
            return _view(row, s.get(Person, other))

        answer: dict[str, Any] = run_write(self.db, step)
        return answer


def _view(row: Holding, other: Person | None) -> dict[str, Any]:
    """A holding as either side sees it: the other person's masked name and ID."""
    return {
        "id": row.id,
        "masked_name": None if other is None else other.masked_name,
        "masked_id": None if other is None else other.masked_id,
        "since": format_instant(row.created_at),
        "revoked_at": None if row.revoked_at is None else format_instant(row.revoked_at),
        "revoked_by": row.revoked_by,
    }
