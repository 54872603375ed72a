"""A person's current code: the colour the rules gave (``colours``), signed now.

The colour comes only from the ``colours`` table (written by re-evaluation: the rules; the
next issue adds recorded manual decisions): nothing here takes a colour from a caller. When the
colour's ``until`` has passed and the sweep has not re-evaluated the person yet, the person is
re-evaluated first, so a code never shows a colour past its time; so is a person whose colour
another rule set gave (a new rule set is being applied to everyone in the background). The
row holds the outcome (the matching rules' ids and effects, compact badges); the explanation
shown (texts, supporting facts) is derived for the one person on request (``detail``).
Each code is signed by the province's current signer, its serial recorded (``issued_codes``)
and reported to the hub's status service through the outbox (in the same transaction), so a
checkpoint can ask the hub about it by serial.

A screen code lives ``SCREEN_LIFETIME`` (5 minutes), a paper code ``PAPER_LIFETIME`` (a day).
A *light* code (medium ``light``, a screen code) carries the colour only, under a subject of its
own (``light_subject``: SHA-256 of the pseudonym, cut to 16 bytes; not the hub's pseudonym), for
venues that need pass or stop. Every code of a colour state that was reported carries the
state's place in the hub's Token Status List (the ``status`` claim, from ``colours.status_index``).

Signing costs about what a raw ES256 signature does because what does not change from one code
to the next is made once: one ``CodeIssuer`` per signer (a new one when the signer changes) and
one ``CodeContent`` per person's colour, kept in a bounded cache keyed by everything the content
says (subject, colour, badges, rule set, masked name and ID), read from the rows of the request's
own transaction. A changed colour or display is another key, so a kept content is never stale.
"""

from __future__ import annotations

import functools
import hashlib
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy.orm import Session

from healthcode.core.clock import Clock, FixedClock
from healthcode.core.codes.native import PAPER_LIFETIME, SCREEN_LIFETIME, SERIAL_BYTES
from healthcode.core.codes.status_list import reference_of
from healthcode.core.error_codes import ErrorCode
from healthcode.core.errors import InvalidInput
from healthcode.core.facts import format_instant
from healthcode.core.trust.issue import CodeContent, CodeIssuer
from healthcode.province.evaluation import queue_report
from healthcode.province.models import Colour, IssuedCode, Person
from healthcode.province.signer import SignerSource
from healthcode.store.db import Database
from healthcode.store.retry import run_write

__all__ = ["CONTENTS_KEPT", "LIFETIMES", "CodeService", "Medium", "badges_of", "light_subject"]

Medium = Literal["screen", "paper", "light"]
LIFETIMES: Mapping[str, timedelta] = {
    "screen": SCREEN_LIFETIME,
    "paper": PAPER_LIFETIME,
    "light": SCREEN_LIFETIME,
}


def light_subject(pseudonym: str) -> str:
    """The subject of a person's light codes: not their pseudonym, the same for each code."""
    return hashlib.sha256(b"healthcode-light\0" + pseudonym.encode()).hexdigest()[:32]


_NAT_BADGES = {24: "nat-24h", 48: "nat-48h", 72: "nat-72h", 168: "nat-7d"}
_RULE_SET_MAX = 32  # the code's rule-set text (core/codes/native.py)
#: Contents kept (the people asking for codes lately): about 1 KB each.
CONTENTS_KEPT = 65_536


def badges_of(badges: Mapping[str, Any], reasons: list[dict[str, Any]]) -> list[str]:
    """The code's badges from a colour's badges and reasons (a pending check among them)."""
    out = []
    nat = _NAT_BADGES.get(badges.get("nat_window_hours") or 0)
    if nat:
        out.append(nat)
    doses = min(int(badges.get("vaccine_doses") or 0), 4)
    if doses:
        out.append(f"vaccine-{doses}")
    if any(r.get("effect") == "check" for r in reasons):
        out.append("pending-check")
    return out


def _rule_set_label(ruleset: str, digest: str) -> str:
    return (
        ruleset if len(ruleset) <= _RULE_SET_MAX else digest.removeprefix("sha256:")[:_RULE_SET_MAX]
    )


#: Re-evaluates people inside a transaction (``evaluation.reevaluate`` bound).
Evaluate = Callable[[Session, list[str], datetime], Any]
#: The full explanation (reasons, badges) of a person's current colour
#: (``evaluation.explanation`` bound to the rule set).
Explain = Callable[[Session, str, datetime], dict[str, Any]]


def _no_detail(session: Session, pseudonym: str, now: datetime) -> dict[str, Any]:
    return {}


@dataclass(kw_only=True, eq=False)
class CodeService:
    db: Database
    clock: Clock
    signers: SignerSource
    evaluate: Evaluate
    ruleset_label: Callable[[], str]
    #: the digest of the rule set in use: a colour of another is evaluated again first
    ruleset_digest: Callable[[], str | None] = lambda: None
    detail: Explain = _no_detail
    _issuers: dict[bytes, CodeIssuer] = field(default_factory=dict, init=False)
    #: ``CodeContent(...)`` kept by its arguments (what the content says).
    _content: Callable[..., CodeContent] = field(init=False)

    def __post_init__(self) -> None:
        self._content = functools.lru_cache(maxsize=CONTENTS_KEPT)(CodeContent)

    def _issuer(self) -> CodeIssuer:
        """The issuer of the current signer (its province and validity read once)."""
        signer = self.signers.current()
        issuer = self._issuers.get(signer.kid)
        if issuer is None:  # the first code, or a new signer (rotation): the old one goes
            issuer = CodeIssuer(signer)
            self._issuers = {signer.kid: issuer}
        return issuer

    def explain(self, pseudonym: str) -> dict[str, Any]:
        """The person's current colour with reasons, badges and until (no code).

        Raises InvalidInput PERSON_UNKNOWN.
        """
        now = self.clock.now()
        with self.db.read() as s:
            person, colour = s.get(Person, pseudonym), s.get(Colour, pseudonym)
            if person is not None and colour is not None and not self._stale(colour, now):
                return _explained(person, colour, self.detail(s, pseudonym, now))

        def step(s: Session) -> dict[str, Any]:
            person, colour = self._current(s, pseudonym, now)
            return _explained(person, colour, self.detail(s, pseudonym, now))

        return run_write(self.db, step)

    def _stale(self, colour: Colour, now: datetime) -> bool:
        """Its until has passed, or another rule set gave it (a re-evaluation of everyone
        under the new one has not reached the person yet)."""
        digest = self.ruleset_digest()
        passed = colour.until is not None and colour.until <= now
        return passed or (digest is not None and colour.ruleset_digest != digest)

    def issue(self, pseudonym: str, medium: Medium = "screen") -> dict[str, Any]:
        """A fresh code for the person: the signed text, with the colour, badges, reasons and
        until it carries, its serial and expiry.

        Raises InvalidInput PERSON_UNKNOWN; TrustError SIGNER_UNAVAILABLE, CERT_*; DatabaseBusy.
        """
        issuer = self._issuer()
        now = self.clock.now()
        serial = secrets.token_bytes(SERIAL_BYTES)
        lifetime = LIFETIMES[medium]

        light = medium == "light"

        def step(s: Session) -> dict[str, Any]:
            person, colour = self._current(s, pseudonym, now)
            content = self._content(
                subject=light_subject(pseudonym) if light else pseudonym,
                colour=colour.colour,
                badges=tuple(badges_of(colour.badges, colour.reasons)),
                rule_set=_rule_set_label(self.ruleset_label(), colour.ruleset_digest),
                masked_name=person.masked_name,
                masked_id=person.masked_id,
                light=light,
            )
            index = colour.status_index
            status = None if index is None else reference_of(issuer.province, index)
            text = issuer.issue(
                content, clock=FixedClock(now), lifetime=lifetime, serial=serial, status=status
            )
            expires = now.replace(microsecond=0) + lifetime
            s.add(
                IssuedCode(
                    serial=serial.hex(),
                    pseudonym=pseudonym,
                    medium=medium,
                    colour=colour.colour,
                    ruleset_digest=colour.ruleset_digest,
                    issued_at=now,
                    expires_at=expires,
                )
            )
            label = self.ruleset_label()[:64]
            queue_report(s, pseudonym, colour.colour, expires, label, now, serial=serial.hex())
            answer = _explained(person, colour, self.detail(s, pseudonym, now))
            return {
                **answer,
                "code": text,
                "serial": serial.hex(),
                "medium": medium,
                "issued_at": format_instant(now),
                "expires_at": format_instant(expires),
            }

        return run_write(self.db, step)

    def _current(self, s: Session, pseudonym: str, now: datetime) -> tuple[Person, Colour]:
        """The person and their colour, re-evaluated first when it is missing or its until has
        passed. Raises InvalidInput PERSON_UNKNOWN."""
        person = s.get(Person, pseudonym)
        if person is None:
            raise InvalidInput(ErrorCode.PERSON_UNKNOWN, "this province holds no such person")
        colour = s.get(Colour, pseudonym)
        if colour is None or self._stale(colour, now):
            self.evaluate(s, [pseudonym], now)
            s.flush()
            colour = s.get(Colour, pseudonym)
        assert colour is not None
        return person, colour


def _explained(person: Person, colour: Colour, detail: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "pseudonym": person.pseudonym,
        "masked_name": person.masked_name,
        "masked_id": person.masked_id,
        "colour": colour.colour,
        "badges": badges_of(colour.badges, colour.reasons),
        "badge_details": detail.get("badges", colour.badges),
        "reasons": detail.get("reasons", colour.reasons),
        "until": None if colour.until is None else format_instant(colour.until),
        "evaluated_at": format_instant(colour.evaluated_at),
        "ruleset_digest": colour.ruleset_digest,
    }
