"""Appeals: a person contests their colour, an operator answers within a deadline.

A person (their token) files an appeal with a ``reason`` and ``evidence`` (references: a
report's number, a ticket, a lab's name), and sees each of their appeals with its state and
answer. An operator sees the open appeals and, for one, the facts the province holds about the
person and the rules that made the colour (``evaluation.explanation``), the venue scans left
out, and answers:

- ``reject`` with a reason (the answer): the colour stands;
- ``correct``: the operator names the wrong records (the hub's ids, as the facts list them);
  the province asks the hub to withdraw each (``POST /v1/records/{id}/holder-withdrawal``, the
  appeal as the reason: the hub allows it to a province holding the person, records it as a
  new version and audit event, and sends it through every holding province's feed). The
  colour changes back by the rules when the withdrawal comes back through the feed, as every
  colour does (``ProvinceService.changes``).

States: ``open`` -> ``escalated`` (unanswered past its deadline, ``appeal_hours`` after it was
made: :meth:`AppealService.escalate_due`, run by the sweep loop; supervisors list them) ->
``correcting`` (an operator's correction claimed it; the hub is being asked) -> ``corrected``,
or -> ``rejected``. A correction that could not reach the hub stays ``correcting``: the same
answer again finishes it (the hub's withdrawal answers a second call with the first); any other
answer is ``APPEAL_ANSWERED``.

Bounds: the body passes the hub's checks of every text (``hub/fields.py``) and no control or
formatting character (a bidi override would show staff another text); the reason and the
answer at most 1000 characters, at most 5 evidence references of 300; at most
``appeals_open_max`` unanswered appeals per person (``APPEAL_LIMIT``); filing the same appeal
again while it is unanswered answers it (a retry makes no second appeal).
"""

from __future__ import annotations

import secrets
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from healthcode.core.clock import Clock
from healthcode.core.error_codes import ErrorCode
from healthcode.core.errors import InvalidInput
from healthcode.core.facts import format_instant
from healthcode.hub.fields import check_value, required_text
from healthcode.province.documents import summary_of
from healthcode.province.models import Appeal, Colour, FactRecord, Person
from healthcode.province.scans import flagged_scans
from healthcode.province.staff import Staff, require_serves, served_regions
from healthcode.store.db import Database
from healthcode.store.retry import run_write

__all__ = [
    "ANSWERED",
    "EVIDENCE_ITEMS_MAX",
    "STATES",
    "TEXT_MAX",
    "UNANSWERED",
    "AppealService",
    "describe",
]

STATES = ("open", "escalated", "correcting", "corrected", "rejected")
UNANSWERED = ("open", "escalated", "correcting")
ANSWERED = ("corrected", "rejected")
TEXT_MAX = 1000  # a reason or an answer
EVIDENCE_ITEMS_MAX = 5
EVIDENCE_ITEM_MAX = 300
RECORDS_MAX = 20  # records one correction withdraws
_LIST_MAX = 200
_HUB_REASON_MAX = 500  # the hub's limit of a withdrawal's reason
_ALLOWED_CONTROLS = frozenset("\n\t")

#: Withdraws a record at the hub: (record id, reason, appeal id) -> the hub's answer.
Withdraw = Callable[..., Any]
#: The full explanation of a person's colour: (session, pseudonym, now) -> reasons, badges.
Detail = Callable[[Session, str, datetime], dict[str, Any]]


def _text(raw: Mapping[str, Any], name: str, limit: int) -> str:
    """A required text without control or formatting characters. Raises InvalidInput
    FIELD_MISSING, FIELD_TOO_LONG, TEXT_CONTROL."""
    value = required_text(raw, name, limit)
    _plain(value, name)
    return value


def _plain(value: str, field: str) -> None:
    for ch in value:
        if ch not in _ALLOWED_CONTROLS and unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp"):
            raise InvalidInput(
                ErrorCode.TEXT_CONTROL,
                f"{field} holds the control or formatting character U+{ord(ch):04X}",
                field=field,
            )


def _object(raw: Any, allowed: frozenset[str]) -> dict[str, Any]:
    """The body as an object of known fields, every text checked as the hub checks them.
    Raises InvalidInput FIELD_TYPE, UNKNOWN_FIELD, TEXT_INVALID, JSON_TOO_DEEP."""
    if not isinstance(raw, dict):
        raise InvalidInput(ErrorCode.FIELD_TYPE, "the body must be a JSON object", field="body")
    check_value(raw, max_depth=2)
    unknown = sorted(set(raw) - allowed)
    if unknown:
        raise InvalidInput(
            ErrorCode.UNKNOWN_FIELD, f"unknown field {unknown[0]!r}", field=unknown[0]
        )
    return raw


def _evidence(raw: Mapping[str, Any]) -> list[str]:
    value = raw.get("evidence", [])
    if not isinstance(value, list):
        raise InvalidInput(ErrorCode.FIELD_TYPE, "evidence is a list of texts", field="evidence")
    if len(value) > EVIDENCE_ITEMS_MAX:
        raise InvalidInput(
            ErrorCode.FIELD_TOO_LONG,
            f"at most {EVIDENCE_ITEMS_MAX} evidence references",
            field="evidence",
        )
    named = {f"evidence.{i}": v for i, v in enumerate(value)}
    return [_text(named, name, EVIDENCE_ITEM_MAX) for name in named]


def _records(raw: Mapping[str, Any]) -> list[int]:
    value = raw.get("records")
    if (
        not isinstance(value, list)
        or not value
        or not all(type(r) is int and 0 < r < 2**63 for r in value)
    ):
        raise InvalidInput(
            ErrorCode.FIELD_TYPE, "records: the hub's ids of the wrong records", field="records"
        )
    if len(value) > RECORDS_MAX:
        raise InvalidInput(
            ErrorCode.FIELD_TOO_LONG, f"at most {RECORDS_MAX} records", field="records"
        )
    return sorted(set(value))


def _t(value: datetime | None) -> str | None:
    return None if value is None else format_instant(value)


def describe(row: Appeal) -> dict[str, Any]:
    """What the person sees of an appeal (staff see the same and who answered)."""
    return {
        "id": row.id,
        "state": row.state,
        "colour": row.colour,
        "reason": row.reason,
        "evidence": list(row.evidence),
        "created_at": _t(row.created_at),
        "deadline_at": _t(row.deadline_at),
        "escalated_at": _t(row.escalated_at),
        "answer": row.answer,
        "answered_at": _t(row.answered_at),
        "records": list(row.records or []),
    }


@dataclass(kw_only=True, eq=False)
class AppealService:
    db: Database
    clock: Clock
    withdraw: Withdraw
    detail: Detail
    deadline: timedelta = timedelta(hours=24)
    open_max: int = 3

    # -- the person ---------------------------------------------------------------------------
    def file(self, pseudonym: str, raw: Any) -> dict[str, Any]:
        """A new appeal of the person's current colour (or the same one still unanswered).
        Raises InvalidInput FIELD_*, UNKNOWN_FIELD, TEXT_*; APPEAL_LIMIT; DatabaseBusy."""
        body = _object(raw, frozenset({"reason", "evidence"}))
        reason = _text(body, "reason", TEXT_MAX)
        evidence = _evidence(body)

        def step(s: Session) -> dict[str, Any]:
            s.get(Person, pseudonym, with_for_update=True)  # one filing per person at a time
            mine = (
                s.execute(
                    select(Appeal).where(
                        Appeal.pseudonym == pseudonym, Appeal.state.in_(UNANSWERED)
                    )
                )
                .scalars()
                .all()
            )
            for row in mine:
                if row.reason == reason and list(row.evidence) == evidence:
                    return describe(row)  # filed again: a retry
            if len(mine) >= self.open_max:
                raise InvalidInput(
                    ErrorCode.APPEAL_LIMIT,
                    f"at most {self.open_max} unanswered appeals at once",
                    limit=self.open_max,
                )
            now = self.clock.now()
            colour = s.get(Colour, pseudonym)
            row = Appeal(
                id="ap_" + secrets.token_hex(8),
                pseudonym=pseudonym,
                state="open",
                colour=colour.colour if colour is not None else "none",
                reason=reason,
                evidence=evidence,
                created_at=now,
                deadline_at=now + self.deadline,
            )
            s.add(row)
            s.flush()
            return describe(row)

        return run_write(self.db, step)

    def mine(self, pseudonym: str) -> list[dict[str, Any]]:
        """The person's appeals, newest first."""
        with self.db.read() as s:
            rows = s.execute(
                select(Appeal)
                .where(Appeal.pseudonym == pseudonym)
                .order_by(Appeal.created_at.desc(), Appeal.id)
                .limit(_LIST_MAX)
            ).scalars()
            return [describe(r) for r in rows]

    def scans(self, pseudonym: str) -> list[dict[str, Any]]:
        """The person's venue scans left out, with the reason of each (``scans.py``)."""
        with self.db.read() as s:
            return flagged_scans(s, pseudonym)

    # -- staff ----------------------------------------------------------------------------------
    def queue(self, member: Staff, state: str | None = None) -> list[dict[str, Any]]:
        """Appeals in ``state`` (default: every unanswered one) of the people the member serves
        (``staff.served_regions``), the earliest deadline first. Raises AccessDenied
        STAFF_ROLE_REQUIRED (operator or supervisor); InvalidInput VALUE_NOT_IN_SET."""
        member.require("operator", "supervisor")
        if state is not None and state not in STATES:
            raise InvalidInput(
                ErrorCode.VALUE_NOT_IN_SET, f"state is one of {', '.join(STATES)}", field="state"
            )
        wanted = UNANSWERED if state is None else (state,)
        stmt = select(Appeal).where(Appeal.state.in_(wanted))
        served = served_regions(member)
        if served is not None:
            stmt = stmt.join(Person, Person.pseudonym == Appeal.pseudonym).where(
                Person.residence_region.in_(sorted(served))
            )
        with self.db.read() as s:
            rows = s.execute(
                stmt.order_by(Appeal.deadline_at, Appeal.id).limit(_LIST_MAX)
            ).scalars()
            return [{**describe(r), "answered_by": r.answered_by} for r in rows]

    def show(self, member: Staff, appeal_id: str) -> dict[str, Any]:
        """One appeal with what decided the colour: the person (masked), their colour, the
        rules that gave it (full reasons), their facts document, their current records and
        the venue scans left out. Raises AccessDenied STAFF_ROLE_REQUIRED, STAFF_OUT_OF_REGION
        (the person lives outside the member's region); InvalidInput APPEAL_UNKNOWN."""
        member.require("operator", "supervisor")
        now = self.clock.now()
        with self.db.read() as s:
            row = self._get(s, appeal_id)
            require_serves(s, member, [row.pseudonym])
            person = s.get(Person, row.pseudonym)
            colour = s.get(Colour, row.pseudonym)
            records = s.execute(
                select(FactRecord)
                .where(FactRecord.pseudonym == row.pseudonym, FactRecord.fact.is_not(None))
                .order_by(FactRecord.record_id)
            ).scalars()
            return {
                **describe(row),
                "answered_by": row.answered_by,
                "person": None
                if person is None
                else {
                    "masked_name": person.masked_name,
                    "masked_id": person.masked_id,
                    "residence_region": person.residence_region,
                },
                "current": None
                if colour is None
                else {"colour": colour.colour, "until": _t(colour.until)},
                "rules": self.detail(s, row.pseudonym, now),
                "summary": summary_of(s, row.pseudonym),
                "facts": [
                    {"record": r.record_id, "kind": r.kind, "version": r.version, "fact": r.fact}
                    for r in records
                ],
                "flagged_scans": flagged_scans(s, row.pseudonym),
            }

    @staticmethod
    def _get(s: Session, appeal_id: str, *, lock: bool = False) -> Appeal:
        row = s.get(Appeal, appeal_id, with_for_update=lock) if len(appeal_id) <= 24 else None
        if row is None:
            raise InvalidInput(ErrorCode.APPEAL_UNKNOWN, "no such appeal", field="appeal")
        return row

    def answer(self, member: Staff, appeal_id: str, raw: Any) -> dict[str, Any]:
        """Answer an appeal: ``{"decision": "reject", "answer"}`` or ``{"decision": "correct",
        "answer", "records": [ids]}`` (see the module). Raises AccessDenied
        STAFF_ROLE_REQUIRED (operator), STAFF_OUT_OF_REGION; InvalidInput FIELD_*,
        VALUE_NOT_IN_SET, TEXT_*, APPEAL_UNKNOWN, APPEAL_ANSWERED, APPEAL_RECORD_INVALID;
        HubError (the appeal stays ``correcting``: answer the same again); DatabaseBusy."""
        member.require("operator")
        body = _object(raw, frozenset({"decision", "answer", "records"}))
        decision = body.get("decision")
        if decision not in ("correct", "reject"):
            raise InvalidInput(
                ErrorCode.VALUE_NOT_IN_SET, "decision is correct or reject", field="decision"
            )
        text = _text(body, "answer", TEXT_MAX)
        records = _records(body) if decision == "correct" else []
        claimed = run_write(
            self.db, lambda s: self._claim(s, member, appeal_id, decision, text, records)
        )
        if claimed["state"] != "correcting":
            return claimed
        reason = f"appeal {appeal_id} upheld: {text}"[:_HUB_REASON_MAX]
        for record in records:
            self.withdraw(record, reason=reason, appeal=appeal_id)
        return run_write(self.db, lambda s: self._corrected(s, appeal_id))

    def _claim(
        self,
        s: Session,
        member: Staff,
        appeal_id: str,
        decision: str,
        text: str,
        records: list[int],
    ) -> dict[str, Any]:
        """Take the appeal for this answer: rejected at once, or ``correcting``; the same
        answer again (a retry) takes it as it is."""
        row = self._get(s, appeal_id, lock=True)
        require_serves(s, member, [row.pseudonym])
        state = "rejected" if decision == "reject" else "correcting"
        if row.state not in ("open", "escalated"):
            same = (
                row.answer == text
                and list(row.records or []) == records
                and row.state in ((state, "corrected") if decision == "correct" else (state,))
            )
            if not same:
                raise InvalidInput(
                    ErrorCode.APPEAL_ANSWERED, f"the appeal is {row.state}", state=row.state
                )
            return describe(row)
        if records:
            self._check_records(s, row.pseudonym, records)
        now = self.clock.now()
        row.state, row.answer, row.answered_by = state, text, member.id
        row.records = records or None
        if state == "rejected":
            row.answered_at = now
        s.flush()
        return describe(row)

    @staticmethod
    def _check_records(s: Session, pseudonym: str, records: list[int]) -> None:
        found = set(
            s.execute(
                select(FactRecord.record_id).where(
                    FactRecord.record_id.in_(records),
                    FactRecord.pseudonym == pseudonym,
                    FactRecord.fact.is_not(None),
                )
            ).scalars()
        )
        missing = [r for r in records if r not in found]
        if missing:
            raise InvalidInput(
                ErrorCode.APPEAL_RECORD_INVALID,
                f"record {missing[0]} is not a current record of the appellant",
                field="records",
            )

    def _corrected(self, s: Session, appeal_id: str) -> dict[str, Any]:
        row = self._get(s, appeal_id, lock=True)
        if row.state == "correcting":
            row.state, row.answered_at = "corrected", self.clock.now()
            s.flush()
        return describe(row)

    # -- the deadline ---------------------------------------------------------------------------
    def escalate_due(self) -> int:
        """Mark every open appeal past its deadline escalated (durably, in one statement);
        how many."""
        now = self.clock.now()

        def step(s: Session) -> int:
            result = s.execute(
                update(Appeal)
                .where(Appeal.state == "open", Appeal.deadline_at <= now)
                .values(state="escalated", escalated_at=now)
            )
            return int(getattr(result, "rowcount", 0) or 0)

        return run_write(self.db, step)
