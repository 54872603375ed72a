"""``GridService``: the grid of one province, what its routes and commands call.

Grid units (``units.py``), tasks made from colour changes (``tasks.py``, a listener of
``ProvinceService.changes``) or received from another province (a feed handler), worked by
grid workers (``work.py``), assigned by supervisors, handed over (``handover.py``), and their
timeliness (``timeliness.py``). Each write runs in one transaction through ``run_write``.

Who sees what: a grid worker lists their grid's tasks; any grid worker or supervisor may open
a task of the province, with the person's name and phone in clear only for a worker of the
task's own grid (masked for everyone else); a supervisor lists and assigns the tasks of their
region (the county queues first).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from healthcode.core import regions
from healthcode.core.clock import Clock
from healthcode.core.error_codes import ErrorCode
from healthcode.core.errors import AccessDenied, InvalidInput
from healthcode.core.rules import RuleSet
from healthcode.province.grid import timeliness, units, work
from healthcode.province.grid.handover import HandoverSender
from healthcode.province.grid.models import (
    GridAssignment,
    GridHandoverOut,
    GridTask,
    GridTaskEvent,
    GridUnit,
)
from healthcode.province.grid.tasks import (
    OPEN_STATES,
    TaskMaker,
    handover_payload,
    new_task_id,
    record_event,
)
from healthcode.province.grid.tasks import receive as receive_task
from healthcode.province.models import Person, StaffMember
from healthcode.province.staff import Staff
from healthcode.store.crypto import FieldCipher
from healthcode.store.db import Database
from healthcode.store.retry import run_write

__all__ = ["GridService"]

log = logging.getLogger("healthcode.province")

_LIST_MAX = 500


@dataclass(kw_only=True, eq=False)
class GridService:
    db: Database
    clock: Clock
    province: str
    cipher: FieldCipher
    ruleset: Callable[[], RuleSet]
    send: Callable[[Any], int]
    maker: TaskMaker = field(init=False)
    sender: HandoverSender = field(init=False)

    def __post_init__(self) -> None:
        self.maker = TaskMaker(province=self.province, ruleset=self.ruleset)
        self.sender = HandoverSender(db=self.db, send=self.send)

    # -- units ----------------------------------------------------------------------------------
    def load_csv(self, text: str) -> int:
        """Load grid units from CSV text, all or nothing. Raises InvalidInput
        GRID_CSV_INVALID (every bad line listed)."""
        found = units.parse_csv(text, self.province)
        now = self.clock.now()
        return run_write(self.db, lambda s: units.load_units(s, found, now))

    def load(self, member: Staff, items: Any) -> int:
        """Units given over the API by a supervisor (their region only), all or nothing.
        Raises AccessDenied STAFF_ROLE_REQUIRED, GRID_NOT_OWN; InvalidInput GRID_CSV_INVALID."""
        member.require("supervisor")
        if not isinstance(items, list) or not all(isinstance(i, Mapping) for i in items):
            raise InvalidInput(ErrorCode.GRID_CSV_INVALID, "units are a list of objects")
        found = units.parse_units(list(enumerate(items)), self.province)
        for unit in found:
            self._in_region(member, unit.region_code)
        now = self.clock.now()
        return run_write(self.db, lambda s: units.load_units(s, found, now))

    def units(self) -> list[dict[str, Any]]:
        """Every unit with its active workers' ids and names."""
        with self.db.read() as s:
            rows = s.execute(select(GridUnit).order_by(GridUnit.region_code, GridUnit.grid_id))
            workers = s.execute(
                select(StaffMember).where(
                    StaffMember.grid_id.is_not(None), StaffMember.disabled_at.is_(None)
                )
            ).scalars()
            by_grid: dict[str, list[dict[str, str]]] = {}
            for w in workers:
                by_grid.setdefault(str(w.grid_id), []).append({"id": w.id, "name": w.name})
            return [
                {**units.Unit(u.region_code, u.grid_id, u.name).to_dict(),
                 "workers": by_grid.get(u.grid_id, [])}
                for u in rows.scalars()
            ]  # fmt: skip

    # -- tasks ----------------------------------------------------------------------------------
    def on_changes(self, session: Session, changes: Any, now: datetime) -> None:
        """The listener of colour changes (``changes.ChangeListener``)."""
        self.maker.on_changes(session, changes, now)

    def receive(self, session: Session, data: Mapping[str, Any], now: datetime) -> None:
        """The feed handler of ``grid_task`` entries. One the hub let through malformed is
        logged and skipped: it must not hold up the feed (and every colour behind it)."""
        try:
            with session.begin_nested():
                receive_task(session, self.province, data, now)
        except (KeyError, TypeError, ValueError, InvalidInput) as exc:
            log.error("grid_task entry skipped (%s): %s", type(exc).__name__, exc)

    def send_once(self) -> int:
        return self.sender.send_once()

    def tasks(self, member: Staff, *, closed: bool = False) -> list[dict[str, Any]]:
        """A grid worker's grid's tasks, or a supervisor's region's (county queues first);
        open ones unless ``closed``; overdue first, then by deadline. Contact details in clear
        only for a worker of the task's grid."""
        member.require("grid-worker", "supervisor")
        now = self.clock.now()
        query = select(GridTask)
        if member.has("grid-worker") and not member.has("supervisor"):
            query = query.where(GridTask.grid_id == member.grid_id)
        else:
            query = _in_region(query, member.region_code)
        if not closed:
            query = query.where(GridTask.state.in_(OPEN_STATES))
        with self.db.read() as s:
            rows = s.execute(query.order_by(GridTask.created_at).limit(_LIST_MAX)).scalars().all()
            views = [self._view(s, t, member, now) for t in rows]
        views.sort(key=_order)
        return views

    def task(self, member: Staff, task_id: str) -> dict[str, Any]:
        """One task with its events. Raises AccessDenied STAFF_ROLE_REQUIRED; InvalidInput
        GRID_TASK_UNKNOWN."""
        member.require("grid-worker", "supervisor")
        with self.db.read() as s:
            task = _task(s, task_id)
            events = list(
                s.execute(
                    select(GridTaskEvent)
                    .where(GridTaskEvent.task_id == task.id)
                    .order_by(GridTaskEvent.id)
                ).scalars()
            )
            return self._view(s, task, member, self.clock.now(), events)

    def act(self, member: Staff, task_id: str, body: Any) -> dict[str, Any]:
        """Record what happened: ``{"state", "note"?, "residence_region"?, "action_id"?}``
        (``residence_region`` with ``moved_away``: the new residence, whose grid gets the
        task; ``action_id``: the client's id, a repeat answered as the same action, applied
        once). Raises AccessDenied STAFF_ROLE_REQUIRED, GRID_NOT_OWN; InvalidInput
        GRID_TASK_UNKNOWN, GRID_STATE_UNKNOWN, GRID_TRANSITION_INVALID, GRID_NOTE_INVALID,
        GRID_ACTION_ID_INVALID, GRID_ACTION_REUSED, FIELD_*, REGION_*."""
        member.require("grid-worker")
        raw = _object(body)
        state = raw.get("state")
        if not isinstance(state, str):
            raise InvalidInput(ErrorCode.GRID_STATE_UNKNOWN, "state is required", field="state")
        note = work.check_note(raw.get("note"))
        action_id = work.check_action_id(raw.get("action_id"))
        moved_to = raw.get("residence_region")
        if moved_to is not None:
            if state != "moved_away" or not isinstance(moved_to, str):
                raise InvalidInput(ErrorCode.GRID_TRANSITION_INVALID,
                                   "a new residence goes with moved_away",
                                   field="residence_region")  # fmt: skip
            moved_to = regions.lookup(moved_to).code
        now = self.clock.now()

        def step(s: Session) -> dict[str, Any]:
            task = _task(s, task_id, lock=True)
            if work.repeated(s, task, action_id, member=member, action="state", note=note,
                             to=state):  # fmt: skip
                return {**self._view(s, task, member, now), "repeat": True}
            work.may_act(member, task)
            before = work.move(task, state, member=member, now=now)
            record_event(s, task, action="state", at=now, staff_id=member.id, before=before,
                         note=note, action_id=action_id)  # fmt: skip
            if moved_to is not None:
                self._moved(s, task, moved_to, now)
            s.flush()
            return {**self._view(s, task, member, now), "repeat": False}

        return run_write(self.db, step)

    def escalate(self, member: Staff, task_id: str, body: Any) -> dict[str, Any]:
        """Escalate a task of one's grid to the supervisors, with a note (and the client's
        ``action_id``, as ``act``). Raises as ``act``."""
        member.require("grid-worker")
        raw = _object(body)
        note = work.check_note(raw.get("note"))
        action_id = work.check_action_id(raw.get("action_id"))
        now = self.clock.now()

        def step(s: Session) -> dict[str, Any]:
            task = _task(s, task_id, lock=True)
            if work.repeated(s, task, action_id, member=member, action="escalate", note=note):
                return {**self._view(s, task, member, now), "repeat": True}
            work.may_act(member, task)
            if task.state not in OPEN_STATES:
                raise InvalidInput(ErrorCode.GRID_TRANSITION_INVALID, "the task is closed",
                                   state=task.state)  # fmt: skip
            task.escalated_at = now
            record_event(s, task, action="escalate", at=now, staff_id=member.id, note=note,
                         action_id=action_id)  # fmt: skip
            s.flush()
            return {**self._view(s, task, member, now), "repeat": False}

        return run_write(self.db, step)

    def assign(self, member: Staff, task_id: str, body: Any) -> dict[str, Any]:
        """A supervisor assigns an open task of their region to a grid of its county; the
        person is placed in that grid for later tasks. Raises AccessDenied
        STAFF_ROLE_REQUIRED, GRID_NOT_OWN; InvalidInput GRID_TASK_UNKNOWN, GRID_UNKNOWN,
        GRID_TRANSITION_INVALID."""
        member.require("supervisor")
        raw = _object(body)
        grid_id, note = raw.get("grid_id"), work.check_note(raw.get("note"))
        now = self.clock.now()

        def step(s: Session) -> dict[str, Any]:
            task = _task(s, task_id, lock=True)
            self._in_region(member, task.county)
            unit = s.get(GridUnit, grid_id) if isinstance(grid_id, str) else None
            if unit is None or unit.region_code != task.county:
                raise InvalidInput(ErrorCode.GRID_UNKNOWN, "no such grid in the task's county",
                                   field="grid_id")  # fmt: skip
            if task.state not in OPEN_STATES:
                raise InvalidInput(ErrorCode.GRID_TRANSITION_INVALID, "the task is closed",
                                   state=task.state)  # fmt: skip
            task.grid_id = unit.grid_id
            placed = s.get(GridAssignment, task.pseudonym)
            if placed is None:
                s.add(GridAssignment(pseudonym=task.pseudonym, grid_id=unit.grid_id,
                                     assigned_by=member.id, assigned_at=now))  # fmt: skip
            else:
                placed.grid_id, placed.assigned_by, placed.assigned_at = (
                    unit.grid_id,
                    member.id,
                    now,
                )
            record_event(s, task, action="assign", at=now, staff_id=member.id,
                         note=f"to {unit.grid_id}. {note}".strip())  # fmt: skip
            s.flush()
            return self._view(s, task, member, now)

        return run_write(self.db, step)

    # -- timeliness -----------------------------------------------------------------------------
    def _scope(self, member: Staff | None) -> list[GridTask]:
        """The tasks a member's figures cover (``None``: the province's own tools, all)."""
        query = select(GridTask).where(GridTask.state != "handed_over")
        if member is not None:
            if member.require("grid-worker", "supervisor").has("supervisor"):
                query = _in_region(query, member.region_code)
            else:
                query = query.where(GridTask.grid_id == member.grid_id)
        with self.db.read() as s:
            return list(s.execute(query).scalars())

    def figures(self, member: Staff | None, *, by: str) -> list[dict[str, Any]]:
        """Timeliness per grid or county and day (``timeliness.figures``)."""
        if by not in ("grid", "county"):
            raise InvalidInput(ErrorCode.FIELD_TYPE, "by is grid or county", field="by")
        return timeliness.figures(self._scope(member), by=by, now=self.clock.now())

    def export(self, member: Staff | None) -> str:
        """Each risk person's timeliness as CSV, the overdue first."""
        rows = timeliness.person_rows(self._scope(member), self.clock.now())
        return timeliness.to_csv(rows)

    # -- helpers --------------------------------------------------------------------------------
    def _view(
        self,
        s: Session,
        task: GridTask,
        member: Staff,
        now: datetime,
        events: list[GridTaskEvent] | None = None,
    ) -> dict[str, Any]:
        shown = member.has("grid-worker") and task.grid_id is not None
        shown = shown and task.grid_id == member.grid_id
        return work.task_view(task, person=s.get(Person, task.pseudonym), cipher=self.cipher,
                              shown=shown, now=now, events=events)  # fmt: skip

    def _in_region(self, member: Staff, region: str) -> None:
        if region != member.region_code and not regions.is_within(region, member.region_code):
            raise AccessDenied(ErrorCode.GRID_NOT_OWN, f"{region} is outside your region")

    def _moved(self, s: Session, task: GridTask, region: str, now: datetime) -> None:
        """The person lives in ``region`` now: a new task there (in this province's grid, or
        handed over to the province of the region)."""
        elsewhere = regions.province_of(region).code != self.province
        moved = GridTask(**{c: getattr(task, c) for c in _COPIED})
        moved.id, moved.residence_region, moved.county = new_task_id(), region, region
        moved.state, moved.state_at, moved.created_at = "new", now, now
        moved.contact_due = now + (task.contact_due - task.created_at)
        if task.isolation_due is not None:
            moved.isolation_due = now + (task.isolation_due - task.created_at)
        moved.grid_id = None if elsewhere else units.grid_of_residence(s, task.pseudonym, region)
        if elsewhere:
            moved.state, moved.handed_to = "handed_over", regions.province_of(region).code
            s.add(GridHandoverOut(task_id=moved.id, payload=handover_payload(moved), attempts=0,
                                  created_at=now))  # fmt: skip
        s.add(moved)
        record_event(s, moved, action="created", at=now, note=f"moved from task {task.id}")


_COPIED = ("pseudonym", "kind", "rule", "colour", "asks", "fact_at", "changed_at",
           "source_province")  # fmt: skip


def _order(view: dict[str, Any]) -> tuple[bool, bool, str, str]:
    """Overdue first, then escalated, then by deadline."""
    return (not view["overdue"], view["escalated_at"] is None, view["deadline"] or "9", view["id"])


def _in_region(query: Select[GridTask], region: str) -> Select[GridTask]:
    prefix = (
        region[:2] if region.endswith("0000") else region[:4] if region.endswith("00") else region
    )
    return query.where(GridTask.county.startswith(prefix))


def _object(body: Any) -> Mapping[str, Any]:
    if not isinstance(body, Mapping):
        raise InvalidInput(ErrorCode.RECORD_NOT_OBJECT, "the body is a JSON object")
    return body


def _task(s: Session, task_id: str, *, lock: bool = False) -> GridTask:
    task = s.get(GridTask, task_id, with_for_update=lock) if len(task_id) <= 24 else None
    if task is None:
        raise InvalidInput(ErrorCode.GRID_TASK_UNKNOWN, "no such task")
    return task
