"""Tasks made from colour changes: a risk person's task in the grid of their residence.

``TaskMaker.on_changes`` is a ``changes.ChangeListener``: it runs inside the transaction that
changed the colours (scalar or columnar path), so a task commits or rolls back with its colour.
The rules behind a colour are read from the person's ``colours`` row (``reasons``; the
columnar path does not carry them in the change): the first colour reason whose rule is a risk
rule (``RISK_KINDS``) names the kind of risk person, and the rule's ``follow_up`` in the rule
set in use says what it asks (isolation, NAT on given days). A colour change to red or yellow
with no risk rule (an overdue test, say) makes no task.

One open task per person and kind: a person whose open task of the same kind exists gets no
second one. A person living in another province gets a task in state ``handed_over`` here and
a hand-over in the outbox (``handover.py``), sent to the hub after the commit; the province of
residence makes the task in its grid when its feed brings it (``receive``).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from healthcode.core import regions
from healthcode.core.clock import CHINA_TZ, parse_instant
from healthcode.core.error_codes import ErrorCode
from healthcode.core.errors import InvalidInput
from healthcode.core.rules import RuleSet
from healthcode.province.changes import ColourChange
from healthcode.province.feed import arrival_of
from healthcode.province.grid.models import GridHandoverOut, GridTask, GridTaskEvent
from healthcode.province.grid.units import grid_of_residence
from healthcode.province.models import Colour, Person

__all__ = [
    "DEADLINES",
    "OPEN_STATES",
    "RISK_KINDS",
    "TaskMaker",
    "asks_of",
    "new_task_id",
    "record_event",
]

#: Rule id -> the kind of risk person it makes (national baseline ids; an overlay keeps them).
RISK_KINDS: dict[str, str] = {
    "RED_INFECTION": "case",
    "RED_SUSPECTED": "suspected_case",
    "RED_NAT_POSITIVE": "nat_positive",
    "RED_CLOSE_CONTACT": "close_contact",
    "RED_HIGH_RISK_OUTFLOW": "high_risk_area",
    "RED_MANUAL": "manual",
    "YELLOW_SECONDARY_CONTACT": "secondary_contact",
    "YELLOW_MEDIUM_RISK_OUTFLOW": "medium_risk_area",
    "YELLOW_POST_RELEASE_MONITORING": "post_release",
    "YELLOW_MANUAL": "manual",
}
#: Colour -> (first contact within, isolation within), from the task's creation.
DEADLINES: dict[str, tuple[timedelta, timedelta]] = {
    "red": (timedelta(hours=2), timedelta(hours=12)),
    "yellow": (timedelta(hours=12), timedelta(hours=24)),
}
#: States in which a task still needs work (the others are closed).
OPEN_STATES = ("new", "contacted", "isolated", "tested", "unreachable")
_CHUNK = 1000


def new_task_id() -> str:
    return "gt_" + secrets.token_hex(8)


def record_event(
    session: Session,
    task: GridTask,
    *,
    action: str,
    at: datetime,
    staff_id: str | None = None,
    before: str | None = None,
    note: str = "",
    action_id: str | None = None,
) -> None:
    session.add(
        GridTaskEvent(task_id=task.id, at=at, staff_id=staff_id, action=action,
                      from_state=before, to_state=task.state, note=note, action_id=action_id)
    )  # fmt: skip


def asks_of(ruleset: RuleSet, rule_id: str, changed_at: datetime) -> dict[str, Any]:
    """What the rule asks: isolation (hospital, central, home, home_monitoring or None), the
    NAT dates (day 1 = the day of the colour change, China Standard Time), its texts."""
    try:
        follow = ruleset.rule(rule_id).follow_up
    except Exception:  # a rule no longer in the set in use: no instructions to give
        follow = {}
    first = changed_at.astimezone(CHINA_TZ).date()
    days = [int(d) for d in follow.get("nat_days") or [] if isinstance(d, int)]
    return {
        "isolation": follow.get("isolation"),
        "nat_dates": [(first + timedelta(days=d - 1)).isoformat() for d in days],
        "zh": str(follow.get("zh", "")),
        "en": str(follow.get("en", "")),
    }


def risk_rule(colour: Colour) -> str | None:
    """The first colour reason of ``colour`` that is a risk rule (reasons are in severity
    order), or None."""
    for reason in colour.reasons or []:
        rule = reason.get("rule")
        if reason.get("effect") == colour.colour and rule in RISK_KINDS:
            return str(rule)
    return None


@dataclass(kw_only=True, eq=False)
class TaskMaker:
    province: str
    ruleset: Callable[[], RuleSet]

    def on_changes(self, session: Session, changes: Sequence[ColourChange], now: datetime) -> None:
        """Make the tasks of these colour changes in ``session``'s transaction."""
        wanted = [c.pseudonym for c in changes if c.colour in DEADLINES]
        for start in range(0, len(wanted), _CHUNK):
            self._chunk(session, wanted[start : start + _CHUNK], now)

    def _chunk(self, session: Session, pseudonyms: list[str], now: datetime) -> None:
        colours = {
            c.pseudonym: c
            for c in session.execute(select(Colour).where(Colour.pseudonym.in_(pseudonyms)))
            .scalars()
        }  # fmt: skip
        homes = dict(
            session.execute(
                select(Person.pseudonym, Person.residence_region).where(
                    Person.pseudonym.in_(pseudonyms)
                )
            ).all()
        )
        open_: set[tuple[str, str]] = {
            (p, k)
            for p, k in session.execute(
                select(GridTask.pseudonym, GridTask.kind).where(
                    GridTask.pseudonym.in_(pseudonyms), GridTask.state.in_(OPEN_STATES)
                )
            )
        }
        ruleset = self.ruleset()
        for pseudonym in pseudonyms:
            colour, home = colours.get(pseudonym), homes.get(pseudonym)
            rule = None if colour is None else risk_rule(colour)
            if colour is None or home is None or rule is None:
                continue
            if (pseudonym, RISK_KINDS[rule]) in open_:
                continue
            task = self._task(session, colour, rule, home, ruleset, now)
            open_.add((pseudonym, task.kind))
        session.flush()

    def _task(
        self,
        session: Session,
        colour: Colour,
        rule: str,
        home: str,
        ruleset: RuleSet,
        now: datetime,
    ) -> GridTask:
        contact, isolation = DEADLINES[colour.colour]
        asks = asks_of(ruleset, rule, now)
        elsewhere = regions.province_of(home).code != self.province
        task = GridTask(
            id=new_task_id(),
            pseudonym=colour.pseudonym,
            kind=RISK_KINDS[rule],
            rule=rule,
            colour=colour.colour,
            asks=asks,
            residence_region=home,
            county=home,
            grid_id=None if elsewhere else grid_of_residence(session, colour.pseudonym, home),
            state="handed_over" if elsewhere else "new",
            fact_at=arrival_of(session, colour.pseudonym),
            changed_at=now,
            created_at=now,
            contact_due=now + contact,
            isolation_due=now + isolation if asks["isolation"] else None,
            state_at=now,
        )
        session.add(task)
        record_event(session, task, action="created", at=now)
        if elsewhere:
            task.handed_to = regions.province_of(home).code
            session.add(
                GridHandoverOut(task_id=task.id, payload=handover_payload(task), attempts=0,
                                created_at=now)
            )  # fmt: skip
        return task


def handover_payload(task: GridTask) -> dict[str, Any]:
    """What the hub passes to the province of residence (no name, phone or ID number)."""

    def stamp(value: datetime | None) -> str | None:
        return None if value is None else value.isoformat()

    return {
        "task": task.id,
        "pseudonym": task.pseudonym,
        "residence_region": task.residence_region,
        "kind": task.kind,
        "rule": task.rule,
        "colour": task.colour,
        "asks": task.asks,
        "fact_at": stamp(task.fact_at),
        "changed_at": stamp(task.changed_at),
    }


def receive(
    session: Session, province: str, data: Mapping[str, Any], now: datetime
) -> GridTask | None:
    """A task handed over by another province (a ``grid_task`` feed entry): made in the grid
    of the residence once (a second delivery finds it). None when it is not for this province
    or already here. Raises InvalidInput for a malformed entry (the page is refused)."""
    source, task_id = str(data["from_province"]), str(data["task"])
    home = str(data["residence_region"])
    if regions.province_of(home).code != province:
        return None
    known = session.execute(
        select(GridTask.id).where(
            GridTask.source_province == source, GridTask.source_task == task_id
        )
    ).first()
    if known is not None:
        return None
    colour = str(data["colour"])
    if colour not in DEADLINES:
        raise InvalidInput(ErrorCode.GRID_HANDOVER_INVALID, "a hand-over of an unknown colour")
    contact, isolation = DEADLINES[colour]
    asks = dict(data.get("asks") or {})
    pseudonym = str(data["pseudonym"])
    task = GridTask(
        id=new_task_id(),
        pseudonym=pseudonym,
        kind=str(data["kind"])[:24],
        rule=str(data["rule"])[:64],
        colour=colour,
        asks=asks,
        residence_region=home,
        county=home,
        grid_id=grid_of_residence(session, pseudonym, home),
        state="new",
        source_province=source,
        source_task=task_id,
        fact_at=_time(data.get("fact_at")),
        changed_at=_time(data.get("changed_at")) or now,
        created_at=now,
        contact_due=now + contact,
        isolation_due=now + isolation if asks.get("isolation") else None,
        state_at=now,
    )
    session.add(task)
    record_event(session, task, action="received", at=now, note=f"from {source}")
    session.flush()
    return task


def _time(value: Any) -> datetime | None:
    return None if value in (None, "") else parse_instant(str(value))
