"""Manual colour decisions: the fixed legal bases, the safeguards, and how a decision enters a
colour. Pure: the province refuses a decision that breaks a safeguard, and the audit lists the
published decisions that broke one, with the same checks.

A decision gives yellow or red to one or more people (by pseudonym) until an expiry. It needs:

1. a proposer with the ``operator`` role (``DECISION_PROPOSER_ROLE``); a decision naming more
   than one person is *bulk* and needs the ``supervisor`` role (``DECISION_BULK_ROLE``);
2. a legal basis from :data:`LEGAL_BASES`, each a clause of the law that allows the measure
   (``DECISION_BASIS_UNKNOWN``: a free-text reason alone is refused), allowing the colour
   (``DECISION_BASIS_COLOUR``);
3. evidence references, typed (``DECISION_EVIDENCE_MISSING``), never venue scans alone
   (``MANUAL_VENUE_SCAN_ONLY``: a forwarded venue code places nobody anywhere);
4. an expiry after the proposal (``DECISION_EXPIRY_PASSED``) and at most
   :data:`MAX_DECISION_DAYS` after it (``MANUAL_TOO_LONG``); a longer need is a renewal, a new
   decision checked the same way;
5. a second approver: a different person (``MANUAL_SELF_APPROVED``) with the ``approver`` role
   (``DECISION_APPROVER_ROLE``), before the expiry (``DECISION_EXPIRY_PASSED``);
6. proposer and approver serving the residence region of every person named
   (``STAFF_OUT_OF_REGION``, :func:`region_violations`: the province checks each person, the
   audit the smallest region holding them all, :func:`common_region`).

Only an approved decision acts, from its approval to its expiry (or its revocation), and only
ever makes a colour stricter (:func:`with_decisions`): the colour is the stricter of the rules'
colour and the decisions'; each active decision is a reason ``{"rule": "DECISION:<id>",
"effect": colour}`` sorted among the rules' colour reasons; its end bounds the ``until``.

>>> from datetime import datetime, timedelta, timezone
>>> t = datetime(2026, 12, 1, tzinfo=timezone.utc)
>>> d = Proposal(colour="red", legal_basis="IDL-39-1-3", evidence=(("contact_tracing", "CT-1"),),
...              subjects=1, proposer="st_a", proposer_roles=("operator",), proposed_at=t,
...              expires_at=t + timedelta(days=15))
>>> [v.code.value for v in proposal_violations(d)]
['MANUAL_TOO_LONG']
>>> with_decisions("green", [], None, [Hold("dc_1", "red", t + timedelta(days=3))])[0]
'red'
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from healthcode.core import regions
from healthcode.core.error_codes import ErrorCode
from healthcode.core.facts import MANUAL_GROUNDS, MAX_MANUAL_DAYS

__all__ = [
    "DECISION_COLOURS",
    "DECISION_PREFIX",
    "EVIDENCE_KINDS",
    "LEGAL_BASES",
    "MAX_DECISION_DAYS",
    "MAX_EVIDENCE",
    "REF_PATTERN",
    "Approval",
    "Hold",
    "LegalBasis",
    "Proposal",
    "Violation",
    "approval_violations",
    "common_region",
    "decision_violations",
    "proposal_violations",
    "reason_order",
    "region_violations",
    "serves",
    "with_decisions",
]

#: A decision only makes a colour stricter: green is the rules' alone to give.
DECISION_COLOURS = ("yellow", "red")
#: The longest a decision lasts from its proposal (as a manual assignment: ``MAX_MANUAL_DAYS``).
MAX_DECISION_DAYS = MAX_MANUAL_DAYS
#: What a piece of evidence is (the grounds of a manual assignment).
EVIDENCE_KINDS = MANUAL_GROUNDS
#: The most evidence references one decision holds.
MAX_EVIDENCE = 20
#: An evidence reference: a file or case number, from a closed alphabet (no free text).
REF_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:/-]{0,63}")
#: The reason id of a decision in a colours row: ``DECISION:<id>``.
DECISION_PREFIX = "DECISION:"
_SEVERITY = {"green": 0, "yellow": 1, "red": 2}
_LAW = "中华人民共和国传染病防治法"
_LAW_EN = "Law of the PRC on the Prevention and Control of Infectious Diseases"


@dataclass(frozen=True, slots=True)
class LegalBasis:
    """A clause of the law that allows a measure on a person, and the colours it allows."""

    code: str
    colours: tuple[str, ...]
    law: str
    article: str
    zh: str
    en: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "colours": list(self.colours),
            "law": self.law,
            "article": self.article,
            "zh": self.zh,
            "en": self.en,
        }


def _basis(code: str, colours: tuple[str, ...], article: str, zh: str, en: str) -> LegalBasis:
    return LegalBasis(code, colours, f"{_LAW} ({_LAW_EN})", article, zh, en)


#: The fixed list of legal bases (the 2013 text of the law, in force 2020-2023, when COVID-19
#: was a class B disease managed with the measures of class A, its article 4).
LEGAL_BASES: Mapping[str, LegalBasis] = {
    b.code: b
    for b in (
        _basis(
            "IDL-39-1-1",
            ("red",),
            "第三十九条第一款第（一）项 (art. 39 para. 1 item 1)",
            "对病人、病原携带者予以隔离治疗",
            "isolation and treatment of a patient or a carrier of the pathogen",
        ),
        _basis(
            "IDL-39-1-2",
            ("red",),
            "第三十九条第一款第（二）项 (art. 39 para. 1 item 2)",
            "对疑似病人，确诊前在指定场所单独隔离治疗",
            "isolation of a suspected patient in a designated place until diagnosed",
        ),
        _basis(
            "IDL-39-1-3",
            ("yellow", "red"),
            "第三十九条第一款第（三）项 (art. 39 para. 1 item 3)",
            "对密切接触者，在指定场所进行医学观察和采取其他必要的预防措施",
            "medical observation of a close contact of a patient, carrier or suspected patient",
        ),
        _basis(
            "IDL-41",
            ("yellow", "red"),
            "第四十一条 (art. 41)",
            "对已经发生甲类传染病病例的场所或者该场所内的特定区域的人员实施隔离措施",
            "isolation of the people of a place (or part of it) where a class A case occurred,"
            " decided by the local government and reported for approval",
        ),
    )
}


@dataclass(frozen=True, slots=True)
class Violation:
    """One safeguard a decision broke: its stable code and what was wrong."""

    code: ErrorCode
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code.value, "message": self.message}


@dataclass(frozen=True, slots=True)
class Proposal:
    """What a decision says when it is proposed (as stored or published)."""

    colour: str
    legal_basis: str
    evidence: tuple[tuple[str, str], ...]  # (kind, reference)
    subjects: int  # how many people it names
    proposer: str
    proposer_roles: tuple[str, ...]
    proposed_at: datetime
    expires_at: datetime

    @property
    def bulk(self) -> bool:
        return self.subjects > 1


@dataclass(frozen=True, slots=True)
class Approval:
    """Who approved a decision, with the roles they held then, and when."""

    approver: str
    approver_roles: tuple[str, ...]
    approved_at: datetime


def _role(p: Proposal) -> list[Violation]:
    out = []
    if "operator" not in p.proposer_roles and "supervisor" not in p.proposer_roles:
        out.append(Violation(ErrorCode.DECISION_PROPOSER_ROLE, "the proposer is no operator"))
    if p.bulk and "supervisor" not in p.proposer_roles:
        message = f"a decision naming {p.subjects} people needs the supervisor role"
        out.append(Violation(ErrorCode.DECISION_BULK_ROLE, message))
    return out


def _evidence(p: Proposal) -> list[Violation]:
    if not p.evidence:
        return [Violation(ErrorCode.DECISION_EVIDENCE_MISSING, "no evidence references")]
    kinds = {kind for kind, _ in p.evidence}
    bad = [
        ref
        for kind, ref in p.evidence
        if kind not in EVIDENCE_KINDS or not REF_PATTERN.fullmatch(ref)
    ]
    if bad or len(p.evidence) > MAX_EVIDENCE:
        message = f"evidence is 1-{MAX_EVIDENCE} of {{kind: {', '.join(EVIDENCE_KINDS)}, ref}}"
        return [Violation(ErrorCode.DECISION_EVIDENCE_MISSING, message)]
    if kinds == {"venue_scan"}:
        message = "venue scans alone are no evidence for a decision"
        return [Violation(ErrorCode.MANUAL_VENUE_SCAN_ONLY, message)]
    return []


def _expiry(p: Proposal) -> list[Violation]:
    if p.expires_at <= p.proposed_at:
        return [Violation(ErrorCode.DECISION_EXPIRY_PASSED, "the expiry is not after the proposal")]
    if p.expires_at - p.proposed_at > timedelta(days=MAX_DECISION_DAYS):
        message = f"the expiry is more than {MAX_DECISION_DAYS} days after the proposal"
        return [Violation(ErrorCode.MANUAL_TOO_LONG, message)]
    return []


def proposal_violations(p: Proposal) -> list[Violation]:
    """Every safeguard a proposal breaks (roles, colour, legal basis, evidence, expiry), in
    that order; empty when it may be recorded."""
    out = _role(p)
    basis = LEGAL_BASES.get(p.legal_basis)
    if p.colour not in DECISION_COLOURS:
        out.append(Violation(ErrorCode.VALUE_NOT_IN_SET, "a decision gives yellow or red"))
    if basis is None:
        message = f"the legal basis is one of {', '.join(LEGAL_BASES)} (free text is no basis)"
        out.append(Violation(ErrorCode.DECISION_BASIS_UNKNOWN, message))
    elif p.colour in DECISION_COLOURS and p.colour not in basis.colours:
        message = f"{basis.code} allows {' or '.join(basis.colours)}, not {p.colour}"
        out.append(Violation(ErrorCode.DECISION_BASIS_COLOUR, message))
    return out + _evidence(p) + _expiry(p)


def approval_violations(p: Proposal, a: Approval) -> list[Violation]:
    """Every safeguard an approval breaks: the approver is the proposer, lacks the approver
    role, or approves at or after the expiry; empty when it may take effect."""
    out = []
    if a.approver == p.proposer:
        message = "the approver is the proposer: a second person must approve"
        out.append(Violation(ErrorCode.MANUAL_SELF_APPROVED, message))
    if "approver" not in a.approver_roles:
        out.append(Violation(ErrorCode.DECISION_APPROVER_ROLE, "the approver has no approver role"))
    if a.approved_at >= p.expires_at or a.approved_at < p.proposed_at:
        message = "approved outside the time between its proposal and its expiry"
        out.append(Violation(ErrorCode.DECISION_EXPIRY_PASSED, message))
    return out


def decision_violations(p: Proposal, a: Approval | None) -> list[Violation]:
    """Every safeguard a recorded decision broke (the audit's check): its proposal's and, when
    it was approved, its approval's."""
    return proposal_violations(p) + ([] if a is None else approval_violations(p, a))


def common_region(codes: Iterable[str | None]) -> str | None:
    """The smallest region holding every one of ``codes`` (known GB/T 2260 codes); None when
    there is none, one is None (a person with no residence known), or they lie in different
    provinces.

    >>> common_region(["440106", "440111"]), common_region(["440106", "440303"])
    ('440100', '440000')
    >>> common_region(["440106", "110101"]), common_region(["440106", None])
    (None, None)
    """
    common: list[str] | None = None
    for code in codes:
        if code is None:
            return None
        chain = [r.code for r in regions.ancestors(code)]
        common = chain if common is None else [c for c in common if c in chain]
    return common[0] if common else None


def serves(staff_region: str, people_region: str | None) -> bool:
    """Whether a member serving ``staff_region`` acts on people whose smallest common region
    is ``people_region``: a province-level member on anyone the province holds, any other on
    people inside their region (None: never)."""
    if regions.lookup(staff_region).level == "province":
        return True
    return people_region is not None and regions.is_within(people_region, staff_region)


def region_violations(
    people_region: str | None, proposer_region: str | None, approver_region: str | None
) -> list[Violation]:
    """The proposer and the approver (each when given) serve the people's region (the
    smallest region holding every person named: :func:`common_region`)."""
    out = []
    for who, staff in (("proposer", proposer_region), ("approver", approver_region)):
        if staff is not None and not serves(staff, people_region):
            where = people_region or "no one region"
            message = f"the {who} serves {staff}, the people live in {where}"
            out.append(Violation(ErrorCode.STAFF_OUT_OF_REGION, message))
    return out


@dataclass(frozen=True, slots=True)
class Hold:
    """An approved decision acting on a person now: its id, colour and end."""

    decision: str
    colour: str
    ends_at: datetime


def reason_order(effect: str, rule: str) -> tuple[int, int, str]:
    """Where a reason stands among a colour's reasons: colour reasons by severity, then id;
    pending checks (any other effect) after them, in the order given (a stable sort)."""
    if effect in _SEVERITY:
        return (0, -_SEVERITY[effect], rule)
    return (1, 0, "")


def _reason_key(reason: Mapping[str, Any]) -> tuple[int, int, str]:
    return reason_order(reason["effect"], reason["rule"])


def with_decisions(
    colour: str,
    reasons: Sequence[Mapping[str, Any]],
    until: datetime | None,
    holds: Iterable[Hold],
) -> tuple[str, list[dict[str, Any]], datetime | None, str | None]:
    """The rules' outcome (colour, stored reasons, until) with the person's active decisions:
    the stricter colour, each decision a reason among the colour reasons (by severity, then
    id; pending checks stay last), the until bounded by each decision's end; and the decision
    the colour rests on (the strictest, the least id among equals) when the rules alone give
    a milder colour, else None."""
    active = sorted(holds, key=lambda h: (-_SEVERITY[h.colour], h.decision))
    if not active:
        return colour, [dict(r) for r in reasons], until, None
    colour_reasons = [dict(r) for r in reasons if r["effect"] in _SEVERITY]
    checks = [dict(r) for r in reasons if r["effect"] not in _SEVERITY]
    colour_reasons += [{"rule": DECISION_PREFIX + h.decision, "effect": h.colour} for h in active]
    colour_reasons.sort(key=_reason_key)
    ends = [h.ends_at for h in active] + ([] if until is None else [until])
    strictest = active[0]
    if _SEVERITY[strictest.colour] > _SEVERITY[colour]:
        return strictest.colour, colour_reasons + checks, min(ends), strictest.decision
    return colour, colour_reasons + checks, min(ends), None
