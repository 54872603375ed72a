"""The dashboard's head: a few counts, each one indexed query (no scan of the population):
the feed's cursor, proposals waiting for a second approver, unanswered and overdue appeals,
dead letters, running jobs; and what a proposal form offers (the legal bases, evidence kinds).

Counts about people are the member's region's, as their lists are (``staff.py``): proposals
whose people all live inside it, appeals of people living inside it; a province-level member
counts all. Dead letters and running jobs are the province's machinery, named by no person,
and counted for everyone.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypeVarTuple

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from healthcode.core.facts import format_instant
from healthcode.core.safeguards import DECISION_COLOURS, EVIDENCE_KINDS, LEGAL_BASES
from healthcode.province.appeals import UNANSWERED
from healthcode.province.models import (
    Appeal,
    Decision,
    FeedCursor,
    FeedDeadLetter,
    Person,
    ReevaluationJob,
)
from healthcode.province.staff import Staff, served_decisions, served_regions
from healthcode.store.db import Database

__all__ = ["summary"]

_Row = TypeVarTuple("_Row")


def _count(s: Session, stmt: Any) -> int:
    return int(s.execute(stmt).scalar_one())


def _waiting(member: Staff, now: datetime) -> Select[int]:
    stmt = (
        select(func.count())
        .select_from(Decision)
        .where(Decision.state == "proposed", Decision.expires_at > now)
    )
    served = served_decisions(member)
    return stmt if served is None else stmt.where(served)


def _appeals(member: Staff, stmt: Select[*_Row]) -> Select[*_Row]:
    """``stmt`` over unanswered appeals kept to the people the member serves."""
    stmt = stmt.where(Appeal.state.in_(UNANSWERED))
    served = served_regions(member)
    if served is None:
        return stmt
    return stmt.join(Person, Person.pseudonym == Appeal.pseudonym).where(
        Person.residence_region.in_(sorted(served))
    )


def summary(db: Database, member: Staff, now: datetime) -> dict[str, Any]:
    """What the dashboard's head shows (see the module)."""
    with db.read() as s:
        cursor = s.get(FeedCursor, 1)
        waiting = _count(s, _waiting(member, now))
        appeals: dict[str, int] = dict(
            s.execute(
                _appeals(member, select(Appeal.state, func.count()).select_from(Appeal)).group_by(
                    Appeal.state
                )
            ).all()
        )
        overdue = _count(
            s,
            _appeals(member, select(func.count()).select_from(Appeal)).where(
                Appeal.deadline_at <= now
            ),
        )
        dead = _count(s, select(func.count()).select_from(FeedDeadLetter))
        jobs = _count(
            s,
            select(func.count())
            .select_from(ReevaluationJob)
            .where(ReevaluationJob.state == "running"),
        )
    return {
        "me": member.to_dict(),
        "at": format_instant(now),
        "feed": {
            "seq": None if cursor is None else cursor.seq,
            "applied_at": None if cursor is None else format_instant(cursor.updated_at),
        },
        "waiting_decisions": waiting,
        "appeals": {**{st: int(appeals.get(st, 0)) for st in UNANSWERED}, "overdue": overdue},
        "dead_letters": dead,
        "running_jobs": jobs,
        "form": {
            "colours": list(DECISION_COLOURS),
            "legal_bases": [b.to_dict() for b in LEGAL_BASES.values()],
            "evidence_kinds": list(EVIDENCE_KINDS),
        },
    }
