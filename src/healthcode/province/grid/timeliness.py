"""'Four early' timeliness: for each risk person, how long from the fact's arrival at the hub
to the code change, to the task, to the first contact, to isolation; figures per grid or
county and day, and the CSV export with the overdue tasks first.

Times are seconds from ``fact_at`` (the hub's time of the feed entry that brought the fact;
for a change without one, such as a rule's time running out, the colour change itself). A step
not reached yet is empty. Figures are counts and nearest-rank percentiles (p50, p90) and the
maximum of each step over the tasks *created* that day (China Standard Time).
"""

from __future__ import annotations

import csv
import io
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from healthcode.core.clock import CHINA_TZ
from healthcode.province.grid.models import GridTask
from healthcode.province.grid.work import deadline_of

__all__ = ["STEPS", "figure_columns", "figures", "person_rows", "to_csv"]

#: Each step of "four early", as seconds from the fact's arrival.
STEPS = ("to_code", "to_task", "to_contact", "to_isolation")
_PERSON_COLUMNS = (
    "task_id", "pseudonym", "kind", "state", "grid_id", "county", "deadline",
    "overdue_seconds", "fact_at", *STEPS,
)  # fmt: skip


def _seconds(start: datetime, end: datetime | None) -> float | None:
    return None if end is None else round((end - start).total_seconds(), 3)


def steps_of(task: GridTask) -> dict[str, float | None]:
    start = task.fact_at or task.changed_at
    return {
        "to_code": _seconds(start, task.changed_at),
        "to_task": _seconds(start, task.created_at),
        "to_contact": _seconds(start, task.contacted_at),
        "to_isolation": _seconds(start, task.isolated_at),
    }


def person_rows(tasks: Iterable[GridTask], now: datetime) -> list[dict[str, Any]]:
    """One row per risk person's task: overdue ones first (most overdue first), then the rest
    by creation."""
    rows = []
    for t in tasks:
        deadline = deadline_of(t)
        late = None if deadline is None or deadline > now else (now - deadline).total_seconds()
        rows.append(
            {
                "task_id": t.id,
                "pseudonym": t.pseudonym,
                "kind": t.kind,
                "state": t.state,
                "grid_id": t.grid_id or "",
                "county": t.county,
                "deadline": "" if deadline is None else deadline.isoformat(),
                "overdue_seconds": None if late is None else round(late, 3),
                "fact_at": (t.fact_at or t.changed_at).isoformat(),
                **steps_of(t),
                "_created": t.created_at,
            }
        )
    rows.sort(key=_overdue_first)
    for r in rows:
        del r["_created"]
    return rows


def figure_columns(by: str) -> list[str]:
    """The columns of ``figures(by=...)``, in order."""
    stats = [f"{step}_{s}" for step in STEPS for s in ("p50", "p90", "max")]
    return [by, "day", "tasks", "contacted", "isolated", "overdue", *stats]


def _overdue_first(row: dict[str, Any]) -> tuple[bool, float, datetime, str]:
    late: float | None = row["overdue_seconds"]
    return (late is None, -(late or 0.0), row["_created"], row["task_id"])


def _rank(values: Sequence[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def figures(tasks: Iterable[GridTask], *, by: str, now: datetime) -> list[dict[str, Any]]:
    """Per ``by`` (``grid`` or ``county``) and day of creation: tasks, contacted, isolated,
    overdue now, and p50, p90, max of each step (seconds)."""
    groups: dict[tuple[str, str], list[GridTask]] = defaultdict(list)
    for t in tasks:
        unit = (t.grid_id or f"queue:{t.county}") if by == "grid" else t.county
        day = t.created_at.astimezone(CHINA_TZ).date().isoformat()
        groups[(unit, day)].append(t)
    out = []
    for (unit, day), group in sorted(groups.items()):
        row: dict[str, Any] = {
            by: unit,
            "day": day,
            "tasks": len(group),
            "contacted": sum(t.contacted_at is not None for t in group),
            "isolated": sum(t.isolated_at is not None for t in group),
            "overdue": sum(1 for t in group if (d := deadline_of(t)) is not None and d <= now),
        }
        steps = [steps_of(t) for t in group]
        for step in STEPS:
            values = [s[step] for s in steps if s[step] is not None]
            row[f"{step}_p50"] = _rank(values, 0.5)  # type: ignore[arg-type]
            row[f"{step}_p90"] = _rank(values, 0.9)  # type: ignore[arg-type]
            row[f"{step}_max"] = max(values) if values else None  # type: ignore[type-var]
        out.append(row)
    return out


def to_csv(rows: Sequence[dict[str, Any]], columns: Sequence[str] | None = None) -> str:
    """Rows as CSV text (a header; empty cells for None)."""
    names = list(columns or (rows[0].keys() if rows else _PERSON_COLUMNS))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=names, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if row.get(k) is None else row[k] for k in names})
    return buffer.getvalue()
