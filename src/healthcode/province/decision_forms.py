"""What a manual colour decision looks like on the way in and on the way out: the proposal's
body read into a ``core.safeguards.Proposal`` (shape only; the safeguards are the core's),
and a stored decision shown to staff, to the person it names, and to the public log.

A proposal's body::

    {"subjects": ["<pseudonym>", ...],      the people it names (more than one: bulk)
     "colour": "red",                       yellow | red
     "legal_basis": "IDL-39-1-3",           one of core.safeguards.LEGAL_BASES
     "evidence": [{"kind": "contact_tracing", "ref": "CT-2026-0042"}],
     "expires_at": "2026-12-08T00:00:00Z",  at most 14 days on (whole seconds kept)
     "note": "optional words for staff"}    never shown to the public log
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from healthcode.core.clock import parse_instant
from healthcode.core.error_codes import ErrorCode
from healthcode.core.errors import AccessDenied, HealthcodeError, InvalidInput
from healthcode.core.facts import format_instant
from healthcode.core.safeguards import (
    DECISION_PREFIX,
    LEGAL_BASES,
    Approval,
    Proposal,
    Violation,
)
from healthcode.province.models import Decision

__all__ = [
    "APPEAL_ROUTE",
    "MAX_SUBJECTS",
    "approval_of",
    "person_view",
    "proposal_of",
    "public_view",
    "read_note",
    "read_proposal",
    "reason_of",
    "refusal",
    "staff_view",
    "state_of",
]

#: The most people one decision names.
MAX_SUBJECTS = 100_000
#: Where the person appeals a colour.
APPEAL_ROUTE = "POST /v1/me/appeals"
_NOTE_MAX = 500
_PSEUDONYM_MAX = 64


def refusal(violation: Violation) -> HealthcodeError:
    """The error a broken safeguard answers: AccessDenied for a role, InvalidInput else."""
    kind = AccessDenied if violation.code.http_status == 403 else InvalidInput
    return kind(violation.code, violation.message)


def _subjects(raw: Any) -> list[str]:
    if (
        not isinstance(raw, list)
        or not 1 <= len(raw) <= MAX_SUBJECTS
        or not all(isinstance(p, str) and 0 < len(p) <= _PSEUDONYM_MAX for p in raw)
        or len(set(raw)) != len(raw)
    ):
        raise InvalidInput(
            ErrorCode.FIELD_TYPE,
            f"subjects is a list of 1-{MAX_SUBJECTS} different pseudonyms",
            field="subjects",
        )
    return sorted(raw)


def _evidence(raw: Any) -> tuple[tuple[str, str], ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list) or not all(
        isinstance(e, dict) and isinstance(e.get("kind"), str) and isinstance(e.get("ref"), str)
        for e in raw
    ):
        raise InvalidInput(
            ErrorCode.DECISION_EVIDENCE_MISSING,
            'evidence is a list of {"kind", "ref"}',
            field="evidence",
        )
    return tuple((e["kind"], e["ref"]) for e in raw)


def _instant(raw: Any, field: str) -> datetime:
    try:
        if not isinstance(raw, str):
            raise ValueError(field)
        return parse_instant(raw).replace(microsecond=0)
    except ValueError as exc:
        raise InvalidInput(
            ErrorCode.FIELD_TYPE, f"{field} is an ISO 8601 instant", field=field
        ) from exc


def read_note(raw: Any, field: str = "note", *, required: bool = False) -> str | None:
    """A short printable text (a note, a reason to reject or revoke). Raises InvalidInput
    FIELD_MISSING, FIELD_TYPE."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        if required:
            raise InvalidInput(ErrorCode.FIELD_MISSING, f"{field} is required", field=field)
        return None
    if not isinstance(raw, str) or len(raw) > _NOTE_MAX or not raw.isprintable():
        raise InvalidInput(
            ErrorCode.FIELD_TYPE, f"{field} is printable text of at most {_NOTE_MAX}", field=field
        )
    return raw.strip()


def read_proposal(
    body: Any, *, proposer: str, roles: Sequence[str], now: datetime
) -> tuple[Proposal, list[str], str | None]:
    """The proposal a body makes (its subjects, sorted, and its note). Raises InvalidInput
    JSON_INVALID (not an object), FIELD_TYPE, DECISION_EVIDENCE_MISSING,
    FIELD_TYPE, FIELD_MISSING."""
    if not isinstance(body, dict):
        raise InvalidInput(ErrorCode.JSON_INVALID, "the body is a JSON object")
    subjects = _subjects(body.get("subjects"))
    colour, basis = body.get("colour"), body.get("legal_basis")
    proposal = Proposal(
        colour=colour if isinstance(colour, str) else "",
        legal_basis=basis if isinstance(basis, str) else "",
        evidence=_evidence(body.get("evidence")),
        subjects=len(subjects),
        proposer=proposer,
        proposer_roles=tuple(roles),
        proposed_at=now.replace(microsecond=0),
        expires_at=_instant(body.get("expires_at"), "expires_at"),
    )
    return proposal, subjects, read_note(body.get("note"))


def proposal_of(row: Decision) -> Proposal:
    return Proposal(
        colour=row.colour,
        legal_basis=row.legal_basis,
        evidence=tuple((e["kind"], e["ref"]) for e in row.evidence),
        subjects=row.subjects,
        proposer=row.proposed_by,
        proposer_roles=tuple(row.proposer_roles),
        proposed_at=row.proposed_at,
        expires_at=row.expires_at,
    )


def approval_of(row: Decision) -> Approval | None:
    if row.approved_by is None or row.approved_at is None:
        return None
    return Approval(row.approved_by, tuple(row.approver_roles or ()), row.approved_at)


def state_of(row: Decision, now: datetime) -> str:
    """proposed, approved, rejected, revoked, or expired (approved, its expiry passed)."""
    if row.state in ("approved", "proposed") and row.expires_at <= now:
        return "expired"
    return row.state


def _t(value: datetime | None) -> str | None:
    return None if value is None else format_instant(value)


def _basis(code: str) -> dict[str, Any]:
    basis = LEGAL_BASES.get(code)
    return {"code": code} if basis is None else basis.to_dict()


def _regions(row: Decision) -> dict[str, str | None]:
    """The regions stored when it was made: served by its proposer and approver then, holding
    its people at the proposal."""
    return {
        "proposer_region": row.proposer_region,
        "approver_region": row.approver_region,
        "people_region": row.people_region,
    }


def staff_view(
    row: Decision, now: datetime, subjects: Sequence[str] | None = None
) -> dict[str, Any]:
    """A decision as staff see it (with its list of people when given)."""
    out: dict[str, Any] = {
        "id": row.id,
        "state": state_of(row, now),
        "colour": row.colour,
        "legal_basis": _basis(row.legal_basis),
        "evidence": row.evidence,
        "note": row.note,
        "subjects": row.subjects,
        "bulk": row.bulk,
        "renews": row.renews,
        "proposed_by": row.proposed_by,
        "proposer_roles": row.proposer_roles,
        "proposed_at": _t(row.proposed_at),
        "expires_at": _t(row.expires_at),
        "approved_by": row.approved_by,
        "approver_roles": row.approver_roles,
        "approved_at": _t(row.approved_at),
        **_regions(row),
        "closed_by": row.closed_by,
        "closed_at": _t(row.closed_at),
        "close_reason": row.close_reason,
    }
    if subjects is not None:
        out["people"] = list(subjects)
    return out


def person_view(row: Decision, ends_at: datetime) -> dict[str, Any]:
    """An active decision as the person it names sees it: what, why in words, until when,
    how to appeal."""
    basis = LEGAL_BASES[row.legal_basis]
    return {
        "id": row.id,
        "reason": DECISION_PREFIX + row.id,
        "colour": row.colour,
        "legal_basis": basis.to_dict(),
        "evidence": [e["kind"] for e in row.evidence],
        "approved_at": _t(row.approved_at),
        "expires_at": _t(ends_at),
        "appeal": {"route": APPEAL_ROUTE, "decision": row.id},
    }


def public_view(
    row: Decision, subjects: Sequence[str], log_subject: Callable[[str], str]
) -> dict[str, Any]:
    """A decision as the public log shows it: no identity, no note; each person as their log
    subject (sorted), the staff by id with the roles they held and the regions stored when it
    was made (``_regions``)."""
    return {
        "id": row.id,
        "state": row.state,
        "colour": row.colour,
        "legal_basis": row.legal_basis,
        "evidence": row.evidence,
        "bulk": row.bulk,
        "renews": row.renews,
        "subjects": sorted(log_subject(p) for p in subjects),
        "proposed_by": row.proposed_by,
        "proposer_roles": row.proposer_roles,
        "proposed_at": _t(row.proposed_at),
        "expires_at": _t(row.expires_at),
        "approved_by": row.approved_by,
        "approver_roles": row.approver_roles,
        "approved_at": _t(row.approved_at),
        "closed_at": _t(row.closed_at),
        **_regions(row),
    }


def reason_of(row: Decision, ends_at: datetime) -> dict[str, Any]:
    """The decision as a reason of the person's colour, in the shape of a rule's
    (``core.rules.Reason.to_dict``)."""
    basis = LEGAL_BASES[row.legal_basis]
    return {
        "rule": DECISION_PREFIX + row.id,
        "rule_version": 1,
        "origin": "decision",
        "effect": row.colour,
        "code": "MANUAL_DECISION",
        "zh": f"经授权人员依法赋码（已复核）：{basis.zh}",
        "en": f"set by an authorised decision (second approver): {basis.en}",
        "until": _t(ends_at),
        "legal_basis": f"{basis.law} {basis.article}",
        "follow_up": {"appeal": APPEAL_ROUTE},
        "supporting": {"decision": row.id},
    }
