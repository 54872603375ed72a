"""Grid task hand-overs: a province passes the task of a person it holds, who lives in another
province, to that province through its feed.

``POST /v1/grid/handovers`` (a province): each hand-over names the sending province's task id,
the person's pseudonym (held by the sender: a current registration), the residence (a region
of *another* province), the kind of risk person, the rule, colour and what it asks, and the
times of the fact and the colour change. The hub appends one ``grid_task`` entry to the feed
of the residence's province, in one transaction for the request (all or nothing). No name,
phone or ID number passes: the receiving province shows the contact details it holds itself.
Delivery is at least once: a retried request appends again, and the receiving province keeps
one task per ``(from_province, task)``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from healthcode.core import regions
from healthcode.core.clock import Clock
from healthcode.core.error_codes import ErrorCode
from healthcode.core.errors import AccessDenied, InvalidInput
from healthcode.hub.access import require
from healthcode.hub.feeds import Feeds, NewEntry
from healthcode.hub.fields import check_value, required_text, time_field
from healthcode.hub.orgs import Principal
from healthcode.store.db import Database
from healthcode.store.models import Registration
from healthcode.store.retry import run_write

__all__ = ["HANDOVERS_MAX", "GridHandovers"]

#: The most hand-overs one request may carry.
HANDOVERS_MAX = 500
_TASK_ID = re.compile(r"gt_[0-9a-f]{16}")
_COLOURS = ("red", "yellow")


def _refused(index: int, message: str, **details: Any) -> InvalidInput:
    return InvalidInput(ErrorCode.GRID_HANDOVER_INVALID, message, index=index, **details)


def _checked(index: int, raw: Any, sender: str) -> tuple[str, dict[str, Any]]:
    """The destination province and the entry's data. Raises InvalidInput
    GRID_HANDOVER_INVALID, FIELD_*, TIME_FORMAT, TEXT_INVALID, JSON_TOO_DEEP."""
    if not isinstance(raw, Mapping):
        raise _refused(index, "a hand-over is a JSON object")
    check_value(dict(raw), max_depth=4, path=f"handovers[{index}]")
    task = required_text(raw, "task", 24)
    if not _TASK_ID.fullmatch(task):
        raise _refused(index, "task is the sender's task id (gt_ and 16 hex digits)", field="task")
    residence = required_text(raw, "residence_region", 6)
    try:
        home = regions.province_of(residence).code
    except InvalidInput as exc:
        raise _refused(index, exc.message, field="residence_region") from exc
    if home == sender:
        raise _refused(index, "the residence is in the sending province", field="residence_region")
    colour = required_text(raw, "colour", 8)
    asks = raw.get("asks")
    if colour not in _COLOURS or not isinstance(asks, Mapping):
        raise _refused(index, "colour is red or yellow, asks an object", field="colour")
    fact_at, changed_at = time_field(raw, "fact_at"), time_field(raw, "changed_at", required=True)
    assert changed_at is not None
    data = {
        "task": task,
        "pseudonym": required_text(raw, "pseudonym", 64),
        "residence_region": residence,
        "kind": required_text(raw, "kind", 24),
        "rule": required_text(raw, "rule", 64),
        "colour": colour,
        "asks": dict(asks),
        "fact_at": None if fact_at is None else fact_at.isoformat(),
        "changed_at": changed_at.isoformat(),
        "from_province": sender,
    }
    return home, data


@dataclass(kw_only=True, eq=False)
class GridHandovers:
    db: Database
    clock: Clock
    feeds: Feeds

    def hand_over(self, principal: Principal, items: Sequence[Any]) -> int:
        """Append each hand-over to its province's feed; how many. All or nothing.

        Raises AccessDenied KIND_NOT_ALLOWED, GRID_HANDOVER_NOT_HELD (with ``index``);
        InvalidInput GRID_HANDOVER_INVALID (with ``index``), BATCH_TOO_LARGE; DatabaseBusy.
        """
        require(principal, "grid:handover")
        if len(items) > HANDOVERS_MAX:
            raise InvalidInput(
                ErrorCode.BATCH_TOO_LARGE, f"at most {HANDOVERS_MAX} hand-overs a request"
            )
        checked = [_checked(i, raw, principal.province) for i, raw in enumerate(items)]
        now = self.clock.now()

        def step(s: Session) -> int:
            held = _held(s, principal.province, {d["pseudonym"] for _, d in checked})
            for i, (_, data) in enumerate(checked):
                if data["pseudonym"] not in held:
                    raise AccessDenied(
                        ErrorCode.GRID_HANDOVER_NOT_HELD,
                        "the sending province does not hold this person",
                        index=i,
                    )
            entries = [NewEntry(home, "grid_task", 0, data) for home, data in checked]
            self.feeds.append(s, entries, now=now)
            return len(entries)

        return run_write(self.db, step) if checked else 0


def _held(s: Session, province: str, pseudonyms: set[str]) -> set[str]:
    rows = s.execute(
        select(Registration.pseudonym).where(
            Registration.province == province,
            Registration.pseudonym.in_(sorted(pseudonyms)),
            Registration.ended_at.is_(None),
        )
    )
    return set(rows.scalars())
