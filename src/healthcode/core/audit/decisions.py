"""The audit's listing: every colour change with no rule or no approved decision behind it,
and every decision that broke a safeguard.

A province publishes its decisions without identities (``GET /log/decisions``: each person
as their colour-log subject, staff by id with the roles they held, times, expiry, bulk flag,
legal basis and evidence). :func:`audit_changes` reads that list beside every leaf of a
verified colour log and lists, as :class:`Finding`:

- ``DECISION_NOT_APPROVED``: a leaf whose basis is a decision the list does not hold, or one
  that was not approved, did not name the leaf's subject, gives another colour, or was not
  acting at the leaf's time (before its approval, at or after its expiry or revocation);
- ``CHANGE_WITHOUT_RULE``: a leaf by the rules giving yellow or red with no rule named;
- each safeguard a published decision broke, with the code of ``core.safeguards`` (the checks
  the province refuses a decision with): a decision inserted behind the service's back, or
  approved by its proposer, or by someone without the role, shows here; and
  ``STAFF_OUT_OF_REGION`` when the list names the regions its staff served when they acted
  and the smallest region holding its people at the proposal (``proposer_region``,
  ``approver_region``, ``people_region``, stored on the decision when it was made, so a later
  move of a member or a person changes nothing) and the proposer or the approver did not serve
  them (a list without these fields, from an older province, is not checked for it).

>>> audit_changes([], [])
[]
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from healthcode.core import regions
from healthcode.core.audit.leaf import ColourLeaf
from healthcode.core.clock import parse_instant
from healthcode.core.error_codes import ErrorCode
from healthcode.core.errors import AuditError
from healthcode.core.safeguards import (
    Approval,
    Proposal,
    decision_violations,
    region_violations,
)

__all__ = ["Finding", "PublishedDecision", "audit_changes", "read_decisions"]

_SUBJECT = re.compile(r"[0-9a-f]{64}")
_STATES = frozenset({"proposed", "approved", "rejected", "revoked"})


def _bad(why: str) -> AuditError:
    return AuditError(ErrorCode.DECISION_LIST_INVALID, f"a published decision {why}")


@dataclass(frozen=True, slots=True)
class PublishedDecision:
    """One decision as the province publishes it."""

    id: str
    state: str
    subjects: frozenset[str]
    proposal: Proposal
    approval: Approval | None
    closed_at: datetime | None
    #: (proposer's, approver's, people's) regions when the list names them
    places: tuple[str | None, str | None, str | None] | None = None

    def acting_at(self, at: datetime) -> bool:
        """Approved, and acting at ``at``: from its approval to its expiry (or revocation)."""
        if self.approval is None or self.state not in ("approved", "revoked"):
            return False
        end = self.proposal.expires_at
        if self.state == "revoked" and self.closed_at is not None:
            end = min(end, self.closed_at)
        return self.approval.approved_at <= at < end

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> PublishedDecision:
        """Raises AuditError DECISION_LIST_INVALID."""
        try:
            subjects = frozenset(d["subjects"])
            if not all(isinstance(s, str) and _SUBJECT.fullmatch(s) for s in subjects):
                raise _bad("names a subject that is not 64 hex digits")
            if d["state"] not in _STATES:
                raise _bad(f"has the state {d['state']!r}")
            proposal = Proposal(
                colour=str(d["colour"]),
                legal_basis=str(d["legal_basis"]),
                evidence=tuple((str(e["kind"]), str(e["ref"])) for e in d["evidence"]),
                subjects=len(subjects),
                proposer=str(d["proposed_by"]),
                proposer_roles=tuple(str(r) for r in d["proposer_roles"]),
                proposed_at=parse_instant(d["proposed_at"]),
                expires_at=parse_instant(d["expires_at"]),
            )
            approval = None
            if d.get("approved_at") is not None:
                approval = Approval(
                    str(d["approved_by"]),
                    tuple(str(r) for r in d.get("approver_roles") or ()),
                    parse_instant(d["approved_at"]),
                )
            closed = d.get("closed_at")
            places = None
            if "proposer_region" in d:
                places = (
                    _region(d["proposer_region"]),
                    _region(d.get("approver_region")),
                    _region(d.get("people_region")),
                )
            return cls(
                id=str(d["id"]),
                state=d["state"],
                subjects=subjects,
                proposal=proposal,
                approval=approval,
                closed_at=None if closed is None else parse_instant(closed),
                places=places,
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise _bad(f"is malformed: {type(exc).__name__}") from exc


def _region(value: Any) -> str | None:
    if value is None:
        return None
    if not regions.is_known(value):
        raise _bad("names a region that is no GB/T 2260 code")
    return str(value)


def _region_findings(d: PublishedDecision) -> list[Finding]:
    if d.places is None:
        return []
    proposer, approver, people = d.places
    if d.approval is None:
        approver = None
    out = [
        Finding(
            ErrorCode.STAFF_OUT_OF_REGION, f"names {who} who serves no known region", None, d.id
        )
        for who, region, named in (
            ("a proposer", proposer, True),
            ("an approver", approver, d.approval is not None),
        )
        if named and region is None
    ]
    for v in region_violations(people, proposer, approver):
        out.append(Finding(v.code, v.message, decision=d.id))
    return out


def read_decisions(document: Any) -> list[PublishedDecision]:
    """The decisions of a province's published list (``{"decisions": [...]}`` or the list).
    Raises AuditError DECISION_LIST_INVALID."""
    items = document.get("decisions") if isinstance(document, dict) else document
    if not isinstance(items, list) or not all(isinstance(d, dict) for d in items):
        raise _bad("list is not a list of objects")
    out = [PublishedDecision.from_dict(d) for d in items]
    if len({d.id for d in out}) != len(out):
        raise _bad("list holds an id twice")
    return out


@dataclass(frozen=True, slots=True)
class Finding:
    """What the audit lists: a code, what is wrong, the leaf (its index) or the decision."""

    code: ErrorCode
    message: str
    index: int | None = None
    decision: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code.value,
            "message": self.message,
            "index": self.index,
            "decision": self.decision,
        }


def _decision_findings(decisions: Sequence[PublishedDecision]) -> list[Finding]:
    out = []
    for d in decisions:
        for v in decision_violations(d.proposal, d.approval):
            out.append(Finding(v.code, v.message, decision=d.id))
        out += _region_findings(d)
        if d.state in ("approved", "revoked") and d.approval is None and d.closed_at is None:
            message = "is listed as approved without an approver"
            out.append(Finding(ErrorCode.DECISION_NOT_APPROVED, message, decision=d.id))
    return out


def _leaf_finding(
    index: int, leaf: ColourLeaf, by_id: Mapping[str, PublishedDecision]
) -> Finding | None:
    if leaf.basis == "rule":
        if leaf.colour != "green" and not leaf.reasons:
            message = f"{leaf.colour} by the rules, with no rule named"
            return Finding(ErrorCode.CHANGE_WITHOUT_RULE, message, index=index)
        return None
    d = by_id.get(leaf.decision or "")
    if d is None:
        why = "a decision the province does not publish"
    elif leaf.subject not in d.subjects:
        why = "a decision that does not name this person"
    elif leaf.colour != d.proposal.colour:
        why = f"a {d.proposal.colour} decision, but the change is to {leaf.colour}"
    elif not d.acting_at(leaf.at):
        why = f"a decision not approved and acting at {leaf.at.isoformat()} (it is {d.state})"
    else:
        return None
    return Finding(
        ErrorCode.DECISION_NOT_APPROVED, f"the change rests on {why}", index, leaf.decision
    )


def audit_changes(
    leaves: Iterable[tuple[int, ColourLeaf]], decisions: Sequence[PublishedDecision]
) -> list[Finding]:
    """The listing (see the module): the decisions' broken safeguards first (in the list's
    order), then the leaves' findings in log order. Empty: every change has a rule or an
    approved, acting decision behind it, and no decision broke a safeguard."""
    by_id = {d.id: d for d in decisions}
    out = _decision_findings(decisions)
    for index, leaf in leaves:
        found = _leaf_finding(index, leaf, by_id)
        if found is not None:
            out.append(found)
    return out
