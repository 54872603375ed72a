"""Working a task: the state machine, who may see and do what, the views of a task.

States and the moves a grid worker may make (``TRANSITIONS``)::

    new ─► contacted ─► isolated ─► tested ─► released
     │         │  └──────────────► tested ◄─┘ (again, each test day)
     │         └─► released (only when the rule asked no isolation, or after it)
     └─► unreachable ─► contacted
    any open state ─► moved_away (with the new residence: the task goes to that grid)

``released`` and ``moved_away`` close a task; ``handed_over`` is the sending province's mark on
a task it passed to the province of residence. A grid worker may move only their own grid's
tasks (``GRID_NOT_OWN``), records a note with each move (at most ``NOTE_MAX`` characters of
plain text), and escalates a task to the supervisors; nothing here reads or writes a colour.
A supervisor of the region assigns a task of the county's queue to one of its grids.

A worker's action may carry a client-generated id (``action_id``, ``ACTION_ID``): a phone that
queued it offline or lost the answer sends it again, and the same id on the same task is the
same action: answered with the task as it is, applied once (``repeated``). The same id naming a
different action (another state, note or member) is refused (``GRID_ACTION_REUSED``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from healthcode.core.error_codes import ErrorCode
from healthcode.core.errors import AccessDenied, InvalidInput
from healthcode.core.identity import mask_phone
from healthcode.province.grid.models import GridTask, GridTaskEvent
from healthcode.province.grid.tasks import OPEN_STATES
from healthcode.province.models import Person
from healthcode.province.staff import Staff
from healthcode.store.crypto import FieldCipher

__all__ = [
    "ACTION_ID",
    "NOTE_MAX",
    "STATES",
    "TRANSITIONS",
    "check_action_id",
    "check_note",
    "deadline_of",
    "may_act",
    "move",
    "repeated",
    "task_view",
]

STATES = (*OPEN_STATES, "released", "moved_away", "handed_over")
TRANSITIONS: dict[str, frozenset[str]] = {
    "new": frozenset({"contacted", "unreachable", "moved_away"}),
    "unreachable": frozenset({"contacted", "unreachable", "moved_away"}),
    "contacted": frozenset({"isolated", "tested", "released", "unreachable", "moved_away"}),
    "isolated": frozenset({"tested", "released", "moved_away"}),
    "tested": frozenset({"tested", "isolated", "released", "moved_away"}),
}
NOTE_MAX = 500
#: A client-generated action id: 8 to 64 letters, digits, ``_`` or ``-`` (a UUID is one).
ACTION_ID = re.compile(r"[A-Za-z0-9_-]{8,64}")


def check_action_id(raw: Any) -> str | None:
    """An action id: absent, or ``ACTION_ID``. Raises InvalidInput GRID_ACTION_ID_INVALID."""
    if raw is None:
        return None
    if not isinstance(raw, str) or ACTION_ID.fullmatch(raw) is None:
        raise InvalidInput(ErrorCode.GRID_ACTION_ID_INVALID,
                           "an action id is 8 to 64 letters, digits, _ or -",
                           field="action_id")  # fmt: skip
    return raw


def repeated(
    s: Session,
    task: GridTask,
    action_id: str | None,
    *,
    member: Staff,
    action: str,
    note: str,
    to: str | None = None,
) -> bool:
    """Whether ``action_id`` already names this very action on ``task`` (call with the task
    locked). Raises InvalidInput GRID_ACTION_REUSED when it names another action."""
    if action_id is None:
        return False
    done = s.execute(
        select(GridTaskEvent).where(
            GridTaskEvent.task_id == task.id, GridTaskEvent.action_id == action_id
        )
    ).scalar_one_or_none()
    if done is None:
        return False
    same = (done.staff_id, done.action, done.note) == (member.id, action, note)
    if not same or (to is not None and done.to_state != to):
        raise InvalidInput(ErrorCode.GRID_ACTION_REUSED, "this action id names another action",
                       field="action_id")  # fmt: skip
    return True


def check_note(raw: Any) -> str:
    """A note: absent or plain text of at most ``NOTE_MAX`` characters (lines allowed).
    Raises InvalidInput GRID_NOTE_INVALID."""
    if raw is None:
        return ""
    if not isinstance(raw, str) or len(raw) > NOTE_MAX:
        raise InvalidInput(
            ErrorCode.GRID_NOTE_INVALID, f"a note is text of at most {NOTE_MAX}", field="note"
        )
    if not all(ch.isprintable() or ch == "\n" for ch in raw):
        raise InvalidInput(
            ErrorCode.GRID_NOTE_INVALID, "a note is plain text (no control characters)",
            field="note",
        )  # fmt: skip
    return raw.strip()


def may_act(member: Staff, task: GridTask) -> None:
    """Raises AccessDenied STAFF_ROLE_REQUIRED (not a grid worker), GRID_NOT_OWN (another
    grid's task, or one in a county queue)."""
    member.require("grid-worker")
    if task.grid_id is None or task.grid_id != member.grid_id:
        raise AccessDenied(ErrorCode.GRID_NOT_OWN, "this task belongs to another grid")


def move(task: GridTask, to: str, *, member: Staff, now: datetime) -> str:
    """Move ``task`` to state ``to``; the state before. Raises InvalidInput GRID_STATE_UNKNOWN;
    Conflict GRID_TRANSITION_INVALID."""
    if to not in STATES:
        raise InvalidInput(
            ErrorCode.GRID_STATE_UNKNOWN, f"a state is one of {', '.join(STATES)}", field="state"
        )
    before = task.state
    if to not in TRANSITIONS.get(before, frozenset()):
        raise InvalidInput(
            ErrorCode.GRID_TRANSITION_INVALID,
            f"a task cannot move from {before} to {to}",
            state=before,
        )
    if to == "released" and task.asks.get("isolation") and task.isolated_at is None:
        raise InvalidInput(
            ErrorCode.GRID_TRANSITION_INVALID,
            "the rule asks for isolation, which was never recorded",
            state=before,
        )
    task.state, task.state_at, task.state_by = to, now, member.id
    if to == "contacted" and task.contacted_at is None:
        task.contacted_at = now
    if to == "isolated" and task.isolated_at is None:
        task.isolated_at = now
    if to in ("released", "moved_away"):
        task.closed_at = now
    return before


def deadline_of(task: GridTask) -> datetime | None:
    """The deadline of the task's next step: first contact while nobody reached the person,
    isolation (when asked) until recorded; none after, or once closed."""
    if task.state in ("new", "unreachable"):
        return task.contact_due
    if task.state == "contacted" and task.isolated_at is None:
        return task.isolation_due
    return None


def _stamp(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _person(person: Person | None, cipher: FieldCipher, shown: bool) -> dict[str, Any]:
    if person is None:  # handed over for someone who never applied here
        return {"held": False, "name": None, "phone": None, "masked_id": None}
    p = person.pseudonym
    phone = cipher.decrypt(person.phone_enc, context=f"people.phone_enc|{p}")
    if shown:
        name = cipher.decrypt(person.name_enc, context=f"people.name_enc|{p}")
    else:
        name = person.masked_name
        try:
            phone = mask_phone(phone)
        except InvalidInput:
            phone = "*" * len(phone)
    return {"held": True, "name": name, "phone": phone, "masked_id": person.masked_id}


def task_view(
    task: GridTask,
    *,
    person: Person | None,
    cipher: FieldCipher,
    shown: bool,
    now: datetime,
    events: list[GridTaskEvent] | None = None,
) -> dict[str, Any]:
    """A task as a member of staff sees it: contact details in clear only when ``shown``
    (the task's own grid's worker), masked otherwise."""
    deadline = deadline_of(task)
    view: dict[str, Any] = {
        "id": task.id,
        "pseudonym": task.pseudonym,
        "kind": task.kind,
        "rule": task.rule,
        "colour": task.colour,
        "asks": task.asks,
        "state": task.state,
        "state_at": _stamp(task.state_at),
        "state_by": task.state_by,
        "grid_id": task.grid_id,
        "county": task.county,
        "residence_region": task.residence_region,
        "deadline": _stamp(deadline),
        "overdue": deadline is not None and deadline <= now,
        "escalated_at": _stamp(task.escalated_at),
        "from_province": task.source_province,
        "handed_to": task.handed_to,
        "times": times_of(task),
        "person": {**_person(person, cipher, shown), "shown": shown},
    }
    if events is not None:
        view["events"] = [_event(e) for e in events]
    return view


def times_of(task: GridTask) -> dict[str, str | None]:
    return {
        "fact_at": _stamp(task.fact_at),
        "changed_at": _stamp(task.changed_at),
        "created_at": _stamp(task.created_at),
        "contacted_at": _stamp(task.contacted_at),
        "isolated_at": _stamp(task.isolated_at),
        "closed_at": _stamp(task.closed_at),
    }


def _event(e: GridTaskEvent) -> Mapping[str, Any]:
    return {
        "at": e.at.isoformat(),
        "staff_id": e.staff_id,
        "action": e.action,
        "from": e.from_state,
        "to": e.to_state,
        "note": e.note,
    }
