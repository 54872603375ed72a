"""A person's current code: the colour re-evaluation gave (``colours``), signed now.

The colour comes only from the ``colours`` table (written by re-evaluation: the rules and the
approved manual decisions acting on the person, ``decisions.py``): nothing here takes a colour
from a caller. When the
colour's ``until`` has passed and the sweep has not re-evaluated the person yet, the person is
re-evaluated first, so a code never shows a colour past its time; so is a person whose colour
another rule set gave (a new rule set is being applied to everyone in the background). The
row holds the outcome (the matching rules' ids and effects, compact badges); the explanation
shown (texts, supporting facts) is derived from the person's facts document (``detail``; its
risk-area fields derived from their visits in the same read, ``documents.py``), the same for
every instant of the colour state (``core.rules.evaluate``: a result holds until its
``until``).

Each code is signed by the province's current signer. Its serial names the person's colour
state (``states.py``), not the code: every code of one state carries the same serial, which the
status report queued with the colour change already gave the hub, so a checkpoint can ask the
hub about any code by serial and issuing writes nothing: one read (person, colour row and
stored facts in one statement, then the person's visits and the risk areas), then a signature.

What every code of a colour state says is prepared once (:class:`Prepared`: the answer, the
``CodeContent`` checked with the payload schema, the serial) and kept per person
(``kept.py``: forgotten by every commit that re-evaluates the person), so a request for a kept
person costs the signature and the times; one ``CodeIssuer`` per signer (a new one when the
signer changes). With ``states_kept`` 0 every request reads (the plain path).

A screen code lives ``SCREEN_LIFETIME`` (5 minutes), a paper code ``PAPER_LIFETIME`` (a day).
A *light* code (medium ``light``, a screen code) carries the colour only, under a subject of its
own (``light_subject``: SHA-256 of the pseudonym, cut to 16 bytes; not the hub's pseudonym), for
venues that need pass or stop. Every code of a colour state that was reported carries the
state's place in the hub's Token Status List (the ``status`` claim, from ``colours.status_index``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import Connection, bindparam, select
from sqlalchemy.orm import Session

from healthcode.core.clock import Clock, FixedClock
from healthcode.core.codes.native import PAPER_LIFETIME, SCREEN_LIFETIME
from healthcode.core.codes.status_list import StatusReference, reference_of
from healthcode.core.error_codes import ErrorCode
from healthcode.core.errors import InvalidInput
from healthcode.core.facts import format_instant
from healthcode.core.rules import PERSON_FIELDS
from healthcode.core.trust.certs import KeyPair
from healthcode.core.trust.issue import CodeContent, CodeIssuer
from healthcode.core.trust.template import CodeTemplate
from healthcode.province.documents import document_of
from healthcode.province.kept import Kept
from healthcode.province.models import Colour, Person, person_summaries
from healthcode.province.signer import SignerSource
from healthcode.province.states import ColourState, StateSerials
from healthcode.store.db import Database
from healthcode.store.retry import run_write

__all__ = [
    "LIFETIMES",
    "CodeService",
    "Medium",
    "Prepared",
    "badges_of",
    "light_subject",
]


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

_P, _C, _S = Person.__table__.c, Colour.__table__.c, person_summaries.c
#: The one read of an issue: the person, their colour row and stored facts (``s_<field>``).
_READ = (
    select(
        _P.pseudonym,
        _P.masked_name,
        _P.masked_id,
        _C.colour,
        _C.reasons,
        _C.badges,
        _C.until,
        _C.ruleset_digest,
        _C.evaluated_at,
        _C.since,
        _C.status_index,
        _S.pseudonym.label("s_pseudonym"),
        *(_S[name].label(f"s_{name}") for name in PERSON_FIELDS),
    )
    .select_from(
        Person.__table__.outerjoin(Colour.__table__, _C.pseudonym == _P.pseudonym).outerjoin(
            person_summaries, _S.pseudonym == _P.pseudonym
        )
    )
    .where(_P.pseudonym == bindparam("pseudonym"))
)


def _document(bind: Session | Connection, row: Any) -> dict[str, Any] | None:
    """The facts document of a row of ``_READ`` (None: the person has no summary yet)."""
    if row.s_pseudonym is None:
        return None
    stored = {name: row._mapping[f"s_{name}"] for name in PERSON_FIELDS}
    return document_of(bind, row.pseudonym, stored)


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
#: The full explanation (reasons, badges, decisions) of a person's colour from their facts
#: document (``documents.document_of``; None: none), at ``now`` (``evaluation.explain_doc``
#: bound to the rule set, with the decisions acting on them).
Explain = Callable[[str, Mapping[str, Any] | None, datetime], dict[str, Any]]


def _no_detail(pseudonym: str, doc: Mapping[str, Any] | None, now: datetime) -> dict[str, Any]:
    return {}


class Instants:
    """The answer's ``issued_at`` and ``expires_at`` as :func:`format_instant` writes them,
    the text of the whole second written once a second (a code lives whole seconds from the
    second it was issued in; ``issued_at`` adds the milliseconds)."""

    def __init__(self) -> None:
        #: by lifetime: the last whole second, its text but the milliseconds, the expiry's text
        self._last: dict[timedelta, tuple[datetime, str, str]] = {}

    def texts(self, now: datetime, lifetime: timedelta) -> tuple[str, str]:
        """``(format_instant(now), format_instant(whole second of now + lifetime))``."""
        second = now.replace(microsecond=0)
        last = self._last.get(lifetime)
        if last is None or last[0] != second:
            last = (second, format_instant(second)[:-4], format_instant(second + lifetime))
            self._last[lifetime] = last  # one step, safe between threads
        return f"{last[1]}{now.microsecond // 1000:03d}Z", last[2]


@dataclass(frozen=True, slots=True)
class Prepared:
    """What every code of a person's current colour state says, ready to sign."""

    answer: dict[str, Any]  # the explanation (``GET /v1/me``)
    content: CodeContent
    serial: bytes
    until: datetime | None
    digest: str
    light: CodeContent  # the light code's content (colour only, its own subject)
    status: StatusReference | None  # the state's place in the hub's status list
    #: the templates of this state's codes (``core/trust/template.py``), by light or not;
    #: made by the first code of each, again when the signer changes
    templates: dict[bool, CodeTemplate] = field(default_factory=dict, compare=False)

    def template(self, issuer: CodeIssuer, light: bool) -> CodeTemplate:
        """The template of this state's (light) codes signed by ``issuer``."""
        template = self.templates.get(light)
        if template is None or template.kid != issuer.signer.kid:
            content = self.light if light else self.content
            template = issuer.template(content, serial=self.serial, status=self.status)
            self.templates[light] = template
        return template


@dataclass(kw_only=True, eq=False)
class CodeService:
    db: Database
    clock: Clock
    signers: SignerSource
    serials: StateSerials
    evaluate: Evaluate
    ruleset_label: Callable[[], str]
    #: the digest of the rule set in use: a colour of another is evaluated again first
    ruleset_digest: Callable[[], str | None] = lambda: None
    detail: Explain = _no_detail
    #: people whose prepared codes are kept (0: every request reads)
    states_kept: int = 65_536
    kept: Kept[Prepared] = field(init=False)
    _issuers: dict[bytes, CodeIssuer] = field(default_factory=dict, init=False)
    _instants: Instants = field(default_factory=Instants, init=False)

    def __post_init__(self) -> None:
        self.kept = Kept(self.states_kept)

    def _issuer(self, signer: KeyPair | None = None) -> CodeIssuer:
        """The issuer of ``signer`` (by default the current one; its province and validity
        read once)."""
        signer = signer or self.signers.current()
        issuer = self._issuers.get(signer.kid)
        if issuer is None:  # the first code, or a new signer (rotation): the old one goes
            issuer = CodeIssuer(signer)
            self._issuers = {signer.kid: issuer}
        return issuer

    def explain(self, pseudonym: str) -> dict[str, Any]:
        """The person's current colour with reasons, badges and until (no code).

        Raises InvalidInput PERSON_UNKNOWN; DatabaseBusy.
        """
        return dict(self.prepared(pseudonym, self.clock.now()).answer)

    def issue(self, pseudonym: str, medium: Medium = "screen") -> dict[str, Any]:
        """A fresh code for the person: the signed text, with the colour, badges, reasons and
        until it carries, its serial (the colour state's) and expiry. Writes nothing unless
        the colour must be evaluated first (none yet, its until passed, another rule set).

        Raises InvalidInput PERSON_UNKNOWN; TrustError SIGNER_UNAVAILABLE, CERT_*; DatabaseBusy.
        """
        issuer = self._issuer()
        now = self.clock.now()
        return self._signed(issuer, self.prepared(pseudonym, now), medium, now)

    def explain_kept(self, pseudonym: str) -> dict[str, Any] | None:
        """:meth:`explain`'s answer when the person's state is kept; None when answering
        would read the database (then ask :meth:`explain`). Reads nothing, raises nothing."""
        prepared = self._kept(pseudonym, self.clock.now())
        return None if prepared is None else dict(prepared.answer)

    def issue_kept(self, pseudonym: str, medium: Medium = "screen") -> dict[str, Any] | None:
        """:meth:`issue`'s answer when it needs no read: the person's state kept and the
        signer chosen (``SignerSource.chosen``); None otherwise (then ask :meth:`issue`).

        Raises TrustError CERT_* (the signer's validity, as :meth:`issue`)."""
        now = self.clock.now()
        signer = self.signers.chosen(now)
        prepared = self._kept(pseudonym, now)
        if signer is None or prepared is None:
            return None
        return self._signed(self._issuer(signer), prepared, medium, now)

    def _signed(
        self, issuer: CodeIssuer, prepared: Prepared, medium: Medium, now: datetime
    ) -> dict[str, Any]:
        """The answer of a code of ``prepared`` issued at ``now``."""
        lifetime = LIFETIMES[medium]
        template = prepared.template(issuer, medium == "light")
        text = issuer.issue_templated(template, clock=FixedClock(now), lifetime=lifetime)
        issued_at, expires_at = self._instants.texts(now, lifetime)
        return {
            **prepared.answer,
            "code": text,
            "serial": prepared.serial.hex(),
            "medium": medium,
            "issued_at": issued_at,
            "expires_at": expires_at,
        }

    def _stale(self, until: datetime | None, digest: str, now: datetime) -> bool:
        """Its until has passed, or another rule set gave it (a re-evaluation of everyone
        under the new one has not reached the person yet)."""
        current = self.ruleset_digest()
        passed = until is not None and until <= now
        return passed or (current is not None and digest != current)

    def _kept(self, pseudonym: str, now: datetime) -> Prepared | None:
        """The person's kept state, unless time alone made it stale."""
        kept = self.kept.get(pseudonym)
        if kept is None or self._stale(kept.until, kept.digest, now):
            return None
        return kept

    def prepared(self, pseudonym: str, now: datetime) -> Prepared:
        """What the person's codes say now: kept, else read (and kept), else evaluated first.

        Raises InvalidInput PERSON_UNKNOWN; DatabaseBusy."""
        kept = self._kept(pseudonym, now)
        if kept is not None:
            return kept
        mark = self.kept.mark()
        with self.db.reader() as conn:
            row = conn.execute(_READ, {"pseudonym": pseudonym}).first()
            current = not (
                row is None or row.colour is None or self._stale(row.until, row.ruleset_digest, now)
            )
            doc = _document(conn, row) if current else None
        if not current:
            return run_write(self.db, lambda s: self._evaluated(s, pseudonym, now))
        prepared = self._prepare(row, doc, now)
        self.kept.put(pseudonym, prepared, mark)
        return prepared

    def _evaluated(self, s: Session, pseudonym: str, now: datetime) -> Prepared:
        """The person re-evaluated (their colour missing, its until passed, of another rule
        set), then read, in ``s``'s transaction. Raises InvalidInput PERSON_UNKNOWN."""
        if s.get(Person, pseudonym) is None:
            raise InvalidInput(ErrorCode.PERSON_UNKNOWN, "this province holds no such person")
        self.evaluate(s, [pseudonym], now)
        s.flush()
        row = s.execute(_READ, {"pseudonym": pseudonym}).first()
        assert row is not None and row.colour is not None
        return self._prepare(row, _document(s, row), now)

    def _prepare(self, row: Any, doc: Mapping[str, Any] | None, now: datetime) -> Prepared:
        """What every code of the row's colour state says (``doc``: the person's facts
        document, for the explanation)."""
        badges = badges_of(row.badges, row.reasons)
        content = CodeContent(
            subject=row.pseudonym,
            colour=row.colour,
            badges=tuple(badges),
            rule_set=_rule_set_label(self.ruleset_label(), row.ruleset_digest),
            masked_name=row.masked_name,
            masked_id=row.masked_id,
        )
        state = ColourState(row.pseudonym, row.colour, row.until, row.since)
        detail = self.detail(row.pseudonym, doc, now)
        answer = {
            "pseudonym": row.pseudonym,
            "masked_name": row.masked_name,
            "masked_id": row.masked_id,
            "colour": row.colour,
            "badges": badges,
            "badge_details": detail.get("badges", row.badges),
            "reasons": detail.get("reasons", row.reasons),
            "decisions": detail.get("decisions", []),
            "until": None if row.until is None else format_instant(row.until),
            "evaluated_at": format_instant(row.evaluated_at),
            "ruleset_digest": row.ruleset_digest,
        }
        serial = self.serials.serial(state)
        light = CodeContent(
            subject=light_subject(row.pseudonym),
            colour=row.colour,
            badges=(),
            rule_set="",
            masked_name="",
            masked_id="",
            light=True,
        )
        index = row.status_index
        status = None if index is None else reference_of(self.serials.province, index)
        return Prepared(answer, content, serial, row.until, row.ruleset_digest, light, status)
