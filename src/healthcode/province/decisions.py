"""Manual colour decisions, with the safeguards of ``core/safeguards.py``.

- ``propose``: an operator (a supervisor for more than one person: *bulk*) proposes a yellow
  or red colour for people, on a legal basis of the fixed list, with evidence, until an
  expiry at most 14 days on. A proposal breaking a safeguard is refused with its code and
  nothing of it is stored; a refused bulk proposal still raises an alert at the hub (written in
  a transaction of its own). ``renew`` proposes the same again, checked the same way.
- ``approve``: a different member with the approver role approves it; from then until its
  expiry the decision acts on its people (``decision_subjects.starts_at``), and they are
  re-evaluated in the same transaction through the province's one seam (the colour and its
  change, ``basis="decision"``, handed to the change listeners). Two approvers racing: one
  wins, the other gets ``DECISION_STATE``; the same approver again answers the decision as it
  is (a replay changes nothing).
- ``reject`` (an approver or a supervisor) ends a proposal; ``revoke`` ends a proposal or an
  approved decision at once (its people are re-evaluated). An approved decision expires by
  itself: the colour's ``until`` is its end, so the sweep re-evaluates them then.

Bulk decisions raise an alert at the hub when proposed, approved or refused
(``decision_alerts``, sent by the report loop). Decisions are never deleted; the public log
lists them without identities (``public``).
"""

from __future__ import annotations

import functools
import logging
import secrets
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import CursorResult, delete, func, insert, select, update
from sqlalchemy.orm import Session

from healthcode.core.clock import Clock
from healthcode.core.error_codes import ErrorCode
from healthcode.core.errors import AccessDenied, HealthcodeError, InvalidInput
from healthcode.core.facts import format_instant
from healthcode.core.safeguards import (
    DECISION_COLOURS,
    LEGAL_BASES,
    Approval,
    Proposal,
    approval_violations,
    common_region,
    proposal_violations,
    reason_order,
    serves,
)
from healthcode.province.decision_forms import (
    person_view,
    proposal_of,
    public_view,
    read_note,
    read_proposal,
    reason_of,
    refusal,
    staff_view,
)
from healthcode.province.models import (
    Colour,
    Decision,
    DecisionAlert,
    DecisionSubject,
    Person,
)
from healthcode.province.staff import Staff, require_serves, served_decisions
from healthcode.store.db import Database
from healthcode.store.retry import run_write

__all__ = ["DecisionService", "with_told"]

log = logging.getLogger("healthcode.province")

#: Re-evaluates people inside the session's transaction at ``now`` (the province's seam).
Reevaluate = Callable[[Session, Collection[str], datetime], Any]
_PAGE_MAX = 1000


@dataclass(kw_only=True, eq=False)
class DecisionService:
    db: Database
    clock: Clock
    reevaluate: Reevaluate
    #: the person's subject in the colour log (``core.audit.leaf.log_subject`` with its key)
    log_subject: Callable[[str], str]
    #: called after a commit that queued an alert (wakes the report loop)
    alerted: Callable[[], None] = lambda: None
    #: sends alerts to the hub (``HubClient.alert``); None: they wait
    send: Callable[[dict[str, Any]], Any] | None = None

    # -- proposing -------------------------------------------------------------------------------
    def propose(self, member: Staff, body: Any, *, renews: str | None = None) -> dict[str, Any]:
        """Record a proposal (see the module). Raises AccessDenied DECISION_PROPOSER_ROLE,
        DECISION_BULK_ROLE, STAFF_OUT_OF_REGION (a person outside the member's region: the
        whole proposal; a bulk one is alerted all the same); InvalidInput DECISION_* / MANUAL_*
        of the safeguards, PERSON_UNKNOWN; DatabaseBusy."""
        now = self.clock.now()
        proposal, subjects, note = read_proposal(
            body, proposer=member.id, roles=member.roles, now=now
        )
        broken = proposal_violations(proposal)
        if broken:
            if proposal.bulk:
                self._alert_apart("bulk-refused", proposal, None, broken[0].code, now)
            raise refusal(broken[0])
        decision_id = "dc_" + secrets.token_hex(8)

        def step(s: Session) -> dict[str, Any]:
            self._check_known(s, subjects)
            require_serves(s, member, subjects)
            people_region = common_region(_residences(s, subjects))
            row = Decision(
                id=decision_id,
                colour=proposal.colour,
                legal_basis=proposal.legal_basis,
                evidence=[{"kind": k, "ref": r} for k, r in proposal.evidence],
                note=note,
                subjects=len(subjects),
                bulk=proposal.bulk,
                renews=renews,
                state="proposed",
                proposed_by=member.id,
                proposer_roles=list(member.roles),
                proposer_region=member.region_code,
                people_region=people_region,
                proposed_at=proposal.proposed_at,
                expires_at=proposal.expires_at,
            )
            s.add(row)
            s.flush()
            s.execute(
                insert(DecisionSubject),
                [
                    {
                        "decision_id": decision_id,
                        "pseudonym": p,
                        "colour": proposal.colour,
                        "starts_at": None,
                        "ends_at": proposal.expires_at,
                    }
                    for p in subjects
                ],
            )
            if proposal.bulk:
                self._alert(s, "bulk-proposed", proposal, decision_id, None, now)
            return staff_view(row, now)

        return self._stored_or_alerted(step, proposal, now)

    def _stored_or_alerted(
        self, step: Callable[[Session], dict[str, Any]], proposal: Proposal, now: datetime
    ) -> dict[str, Any]:
        """``step`` written; a bulk proposal it refuses (someone outside the member's region:
        nothing stored) is alerted all the same."""
        try:
            answer = run_write(self.db, step)
        except AccessDenied as exc:
            if proposal.bulk:
                self._alert_apart("bulk-refused", proposal, None, exc.code, now)
            raise
        if proposal.bulk:
            self.alerted()
        return answer

    def renew(self, member: Staff, decision_id: str, body: Any) -> dict[str, Any]:
        """Propose the decision again (same people, colour and legal basis unless the body
        says otherwise; new evidence and expiry), checked and approved the same way. Raises as
        ``propose``; InvalidInput DECISION_UNKNOWN, DECISION_STATE (only an approved decision
        is renewed)."""
        if not isinstance(body, dict):
            raise InvalidInput(ErrorCode.JSON_INVALID, "the body is a JSON object")
        with self.db.read() as s:
            row = self._row(s, decision_id)
            if row.state != "approved":
                raise InvalidInput(ErrorCode.DECISION_STATE, "only an approved decision renews")
            subjects = self._subjects(s, decision_id)
        merged = {
            "subjects": subjects,
            "colour": row.colour,
            "legal_basis": row.legal_basis,
            **{k: v for k, v in body.items() if k != "subjects"},
        }
        return self.propose(member, merged, renews=decision_id)

    def _check_known(self, s: Session, subjects: Sequence[str]) -> None:
        """Every pseudonym is a person the province holds or has a colour for. Raises
        InvalidInput PERSON_UNKNOWN."""
        known: set[str] = set()
        for start in range(0, len(subjects), 500):
            part = subjects[start : start + 500]
            known.update(
                s.execute(select(Colour.pseudonym).where(Colour.pseudonym.in_(part))).scalars()
            )
            known.update(
                s.execute(select(Person.pseudonym).where(Person.pseudonym.in_(part))).scalars()
            )
        missing = [p for p in subjects if p not in known]
        if missing:
            raise InvalidInput(
                ErrorCode.PERSON_UNKNOWN,
                f"{len(missing)} of the people are unknown here",
                field="subjects",
            )

    # -- approving, rejecting, revoking ----------------------------------------------------------
    def approve(self, member: Staff, decision_id: str) -> dict[str, Any]:
        """Approve a proposal; it acts on its people from now (see the module). Raises
        AccessDenied DECISION_APPROVER_ROLE, STAFF_OUT_OF_REGION (a person, or the people's
        region stored at the proposal, outside the approver's region); InvalidInput
        MANUAL_SELF_APPROVED, DECISION_EXPIRY_PASSED, DECISION_UNKNOWN, DECISION_STATE;
        DatabaseBusy."""
        now = self.clock.now().replace(microsecond=0)

        def step(s: Session) -> tuple[dict[str, Any], bool]:
            row = self._row(s, decision_id, lock=True)
            if row.state == "approved" and row.approved_by == member.id:
                return staff_view(row, now), False  # a replay: nothing changes
            if row.state != "proposed":
                raise InvalidInput(ErrorCode.DECISION_STATE, f"the decision is {row.state}")
            require_serves(s, member, self._subjects(s, decision_id))
            _require_served_then(member, row)
            proposal = proposal_of(row)
            broken = approval_violations(proposal, Approval(member.id, member.roles, now))
            if broken:
                raise refusal(broken[0])
            won: CursorResult[Any] = s.execute(  # type: ignore[assignment]
                update(Decision)
                .where(Decision.id == decision_id, Decision.state == "proposed")
                .values(
                    state="approved",
                    approved_by=member.id,
                    approver_roles=list(member.roles),
                    approver_region=member.region_code,
                    approved_at=now,
                )
            )
            if won.rowcount != 1:  # another approver came first
                raise InvalidInput(ErrorCode.DECISION_STATE, "the decision is approved already")
            s.execute(
                update(DecisionSubject)
                .where(DecisionSubject.decision_id == decision_id)
                .values(starts_at=now)
            )
            self.reevaluate(s, self._subjects(s, decision_id), now)
            if row.bulk:
                self._alert(s, "bulk-approved", proposal, decision_id, None, now, member)
            s.refresh(row)
            return staff_view(row, now), row.bulk

        answer, bulk = run_write(self.db, step)
        if bulk:
            self.alerted()
        return answer

    def reject(self, member: Staff, decision_id: str, body: Any) -> dict[str, Any]:
        """An approver or supervisor rejects a proposal, with a reason. Raises AccessDenied
        STAFF_ROLE_REQUIRED, STAFF_OUT_OF_REGION; InvalidInput FIELD_MISSING, DECISION_UNKNOWN,
        DECISION_STATE."""
        member.require("approver", "supervisor")
        return self._close(member, decision_id, body, "rejected", ("proposed",))

    def revoke(self, member: Staff, decision_id: str, body: Any) -> dict[str, Any]:
        """End a proposal or an approved decision now, with a reason; its people are
        re-evaluated. Raises AccessDenied STAFF_ROLE_REQUIRED, STAFF_OUT_OF_REGION; InvalidInput
        FIELD_MISSING, DECISION_UNKNOWN, DECISION_STATE."""
        member.require("operator", "approver", "supervisor")
        return self._close(member, decision_id, body, "revoked", ("proposed", "approved"))

    def _close(
        self, member: Staff, decision_id: str, body: Any, state: str, allowed: tuple[str, ...]
    ) -> dict[str, Any]:
        reason = read_note(
            body.get("reason") if isinstance(body, dict) else None, "reason", required=True
        )
        now = self.clock.now().replace(microsecond=0)

        def step(s: Session) -> dict[str, Any]:
            row = self._row(s, decision_id, lock=True)
            if row.state not in allowed or row.expires_at <= now:
                raise InvalidInput(ErrorCode.DECISION_STATE, f"the decision is {row.state}")
            require_serves(s, member, self._subjects(s, decision_id))
            acting = row.state == "approved"
            row.state, row.closed_by, row.closed_at, row.close_reason = (
                state,
                member.id,
                now,
                reason,
            )
            s.execute(
                update(DecisionSubject)
                .where(DecisionSubject.decision_id == decision_id, DecisionSubject.ends_at > now)
                .values(ends_at=now)
            )
            if acting:
                self.reevaluate(s, self._subjects(s, decision_id), now)
            s.flush()
            return staff_view(row, now)

        return run_write(self.db, step)

    # -- reading ---------------------------------------------------------------------------------
    def _row(self, s: Session, decision_id: str, *, lock: bool = False) -> Decision:
        stmt = select(Decision).where(Decision.id == decision_id)
        row = s.execute(stmt.with_for_update() if lock else stmt).scalar_one_or_none()
        if row is None:
            raise InvalidInput(ErrorCode.DECISION_UNKNOWN, f"no decision {decision_id}")
        return row

    def _subjects(self, s: Session, decision_id: str) -> list[str]:
        return list(
            s.execute(
                select(DecisionSubject.pseudonym)
                .where(DecisionSubject.decision_id == decision_id)
                .order_by(DecisionSubject.pseudonym)
            ).scalars()
        )

    def get(self, member: Staff, decision_id: str) -> dict[str, Any]:
        """One decision with its list of people (staff serving every one of them). Raises
        AccessDenied STAFF_OUT_OF_REGION; InvalidInput DECISION_UNKNOWN."""
        with self.db.read() as s:
            row = self._row(s, decision_id)
            subjects = self._subjects(s, decision_id)
            require_serves(s, member, subjects)
            return staff_view(row, self.clock.now(), subjects)

    def recent(
        self, member: Staff, *, state: str | None = None, limit: int = 100
    ) -> list[dict[str, Any]]:
        """Decisions whose people all live inside the member's region (``served_decisions``),
        newest first; ``state`` one of proposed, approved, rejected, revoked."""
        stmt = select(Decision).order_by(Decision.proposed_at.desc(), Decision.id)
        if state is not None:
            stmt = stmt.where(Decision.state == state)
        served = served_decisions(member)
        if served is not None:
            stmt = stmt.where(served)
        now = self.clock.now()
        with self.db.read() as s:
            rows = s.execute(stmt.limit(max(1, min(limit, _PAGE_MAX)))).scalars()
            return [staff_view(r, now) for r in rows]

    def active_for(
        self, s: Session, pseudonym: str, now: datetime
    ) -> list[tuple[Decision, datetime]]:
        """The approved decisions acting on the person at ``now``, with when each ends."""
        rows = s.execute(
            select(Decision, DecisionSubject.ends_at)
            .join(DecisionSubject, DecisionSubject.decision_id == Decision.id)
            .where(
                DecisionSubject.pseudonym == pseudonym,
                DecisionSubject.starts_at <= now,
                DecisionSubject.ends_at > now,
            )
            .order_by(Decision.id)
        ).all()
        return [(r[0], r[1]) for r in rows]

    def told(self, s: Session, pseudonym: str, now: datetime) -> dict[str, Any]:
        """What the person is told of the decisions acting on them: each decision (legal basis
        in words, expiry, how to appeal) and each as a reason of their colour."""
        active = self.active_for(s, pseudonym, now)
        return {
            "decisions": [person_view(d, ends) for d, ends in active],
            "reasons": [reason_of(d, ends) for d, ends in active],
        }

    def public(self, *, offset: int = 0, limit: int = 100) -> dict[str, Any]:
        """The decisions as the public log lists them (``decision_forms.public_view``), oldest
        first, ``limit`` (at most 1000) from ``offset``; and how many there are. Each names the
        regions stored when it was made (the proposer's and the approver's, served then, and
        ``people_region``, the smallest region holding the people's residences at the
        proposal), so the audit checks ``STAFF_OUT_OF_REGION`` against the history as it was."""
        limit = max(1, min(limit, _PAGE_MAX))
        with self.db.read() as s:
            total = s.execute(select(func.count()).select_from(Decision)).scalar_one()
            rows = s.execute(
                select(Decision)
                .order_by(Decision.proposed_at, Decision.id)
                .offset(max(0, offset))
                .limit(limit)
            ).scalars()
            out = [public_view(r, self._subjects(s, r.id), self.log_subject) for r in rows]
        return {"decisions": out, "total": total, "offset": offset}

    # -- alerts ----------------------------------------------------------------------------------
    def _alert(
        self,
        s: Session,
        kind: str,
        proposal: Proposal,
        decision_id: str | None,
        code: ErrorCode | None,
        now: datetime,
        member: Staff | None = None,
    ) -> None:
        staff = proposal.proposer if member is None else member.id
        roles = proposal.proposer_roles if member is None else member.roles
        body = {
            "ref": "al_" + secrets.token_hex(8),
            "kind": kind,
            "decision": decision_id,
            "subjects": proposal.subjects,
            "staff": staff,
            "roles": list(roles),
            "colour": proposal.colour or None,
            "legal_basis": proposal.legal_basis or None,
            "code": None if code is None else code.value,
            "at": format_instant(now),
        }
        s.add(DecisionAlert(kind=kind, body=body, created_at=now, attempts=0))

    def _alert_apart(
        self, kind: str, proposal: Proposal, decision_id: str | None, code: ErrorCode, now: datetime
    ) -> None:
        """An alert in a transaction of its own (the refused proposal stores nothing); a
        colour or legal basis not of the fixed lists is left out (it is no code)."""
        safe = replace(
            proposal,
            colour=proposal.colour if proposal.colour in DECISION_COLOURS else "",
            legal_basis=proposal.legal_basis if proposal.legal_basis in LEGAL_BASES else "",
        )
        run_write(self.db, lambda s: self._alert(s, kind, safe, decision_id, code, now))
        self.alerted()

    def send_alerts(self, batch: int = 100) -> int:
        """Send waiting alerts to the hub, each deleted once stored; how many were sent. An
        unreachable hub leaves them for the next round."""
        if self.send is None:
            return 0
        with self.db.read() as s:
            rows = [
                (r.id, r.body)
                for r in s.execute(
                    select(DecisionAlert).order_by(DecisionAlert.id).limit(batch)
                ).scalars()
            ]
        sent = 0
        for alert_id, body in rows:
            try:
                self.send(body)
            except HealthcodeError as exc:
                if exc.code is not ErrorCode.HUB_REFUSED:  # the hub away: try again later
                    run_write(self.db, functools.partial(_count_attempt, alert_id=alert_id))
                    break
                log.error("the hub refused alert %s: %s", body.get("ref"), exc.details)
            run_write(self.db, functools.partial(_drop, alert_id=alert_id))
            sent += 1
        return sent


def _require_served_then(member: Staff, row: Decision) -> None:
    """The approver serves the region the people lived in when it was proposed (the region
    the log publishes). Raises AccessDenied STAFF_OUT_OF_REGION."""
    if not serves(member.region_code, row.people_region):
        raise AccessDenied(
            ErrorCode.STAFF_OUT_OF_REGION,
            f"the people lived in {row.people_region or 'no one region'} when it was proposed,"
            f" outside the region {member.region_code} the member serves",
            region=member.region_code,
        )


def _residences(s: Session, subjects: Sequence[str]) -> list[str | None]:
    """The residence region of each distinct one (None for a person known by a colour alone)."""
    found: dict[str, str | None] = dict.fromkeys(subjects)
    for start in range(0, len(subjects), 500):
        part = subjects[start : start + 500]
        rows = s.execute(
            select(Person.pseudonym, Person.residence_region).where(Person.pseudonym.in_(part))
        )
        found.update({p: r for p, r in rows})
    return list(set(found.values()))


def _count_attempt(s: Session, alert_id: int) -> None:
    s.execute(
        update(DecisionAlert)
        .where(DecisionAlert.id == alert_id)
        .values(attempts=DecisionAlert.attempts + 1)
    )


def _drop(s: Session, alert_id: int) -> None:
    s.execute(delete(DecisionAlert).where(DecisionAlert.id == alert_id))


def with_told(out: dict[str, Any], told: dict[str, Any]) -> dict[str, Any]:
    """An explanation with the decisions acting on the person among its reasons."""
    if told["reasons"]:
        out["reasons"] = sorted(
            [*out["reasons"], *told["reasons"]],
            key=lambda r: reason_order(r["effect"], r["rule"]),
        )
    out["decisions"] = told["decisions"]
    return out
