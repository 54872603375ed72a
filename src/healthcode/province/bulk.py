"""Re-evaluating many of the province's people with the columnar pipeline
(``batch/reevaluate.py``), in the caller's transaction.

- :func:`reevaluate_area`: a risk-area designation, change or lift (a feed entry) re-evaluates
  the people with a visit in the region (or inside it) at or after ``max(start, now -
  look-back)`` for each window it is given (the designation before and after the change),
  found through the ``(region_code, at)`` index; ``look-back`` is how long a visit can still
  change a colour under the rule set (``batch.areas.visit_lookback``; without a bound, every
  visit since the designation's start). An older visit cannot change a colour (nothing
  about it is stored: a person's risk-area fields are derived whenever they are read,
  ``documents.py``).
- :func:`reevaluate_chunk`: one chunk of people (the whole-population job, ``jobs.py``).

Both write ``colours`` in the one row format of the scalar path (``evaluation.py``; no
summary: a re-evaluation changes none of its stored fields) and put a status report in the
outbox for each person the province holds (``people``) whose colour or until changed, in the
same transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, cast

import polars as pl
from sqlalchemy import Table, bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from healthcode.batch import reevaluate as pipeline
from healthcode.batch.areas import visit_lookback
from healthcode.batch.columns import in_set, read_frame
from healthcode.core.clock import FixedClock
from healthcode.core.facts import RiskAreaDesignation
from healthcode.core.rules import RuleSet
from healthcode.province.changes import ChangeListener, changes_of_frame
from healthcode.province.documents import designations
from healthcode.province.evaluation import reserve_indexes
from healthcode.province.models import (
    Colour,
    DecisionSubject,
    Person,
    StatusOutbox,
    Visit,
    person_summaries,
)
from healthcode.province.states import ColourState, StateSerials

__all__ = [
    "TABLES",
    "AreaWindow",
    "area_chunk",
    "area_people",
    "count_area",
    "reevaluate_area",
    "reevaluate_chunk",
    "report_changes",
]

#: A region and the start of a designation of it.
AreaWindow = tuple[str, datetime]


def _tables() -> pipeline.ProvinceTables:
    visits, colours, decisions = Visit.__table__, Colour.__table__, DecisionSubject.__table__
    assert isinstance(visits, Table) and isinstance(colours, Table)
    assert isinstance(decisions, Table)
    return pipeline.ProvinceTables(person_summaries, visits, colours, decisions)


#: The province's tables as the pipeline sees them.
TABLES = _tables()


def report_changes(
    session: Session,
    changed: pl.DataFrame,
    *,
    label: str,
    now: datetime,
    serials: StateSerials,
) -> int:
    """Queue the status report of the colour state each person of ``changed``
    (``pipeline.CHANGED_SCHEMA``) the province holds began at ``now`` (under the state's
    serial, as ``evaluation.queue_report``), each with the next status-list index (kept on the
    person's colour for its codes); how many. The states of people not held get no index."""
    if changed.is_empty():
        return 0
    conn = session.connection()
    names = changed["pseudonym"].to_list()
    held = set(
        session.execute(
            select(Person.pseudonym).where(in_set(Person.pseudonym, names, conn.dialect.name))
        ).scalars()
    )
    states = [
        (p, colour, until)
        for p, colour, until in changed.select("pseudonym", "colour", "until").iter_rows()
        if p in held
    ]
    indexes = reserve_indexes(session, len(states))
    rows = [
        {
            "pseudonym": p,
            "serial": serials.hex(ColourState(p, colour, until, now)),
            "colour": colour,
            "since": now,
            "until": until if until is None or until > now else None,
            "ruleset_version": label[:64],
            "attempts": 0,
            "created_at": now,
            "status_index": index,
        }
        for (p, colour, until), index in zip(states, indexes, strict=True)
    ]
    index_of = {p: i for (p, _, _), i in zip(states, indexes, strict=True)}
    _set_indexes(session, index_of, [p for p in names if p not in held])
    if rows:
        session.execute(insert(StatusOutbox), rows)
    return len(rows)


def _set_indexes(session: Session, index_of: dict[str, int], others: list[str]) -> None:
    """Each held person's new colour state takes its status-list index; a state nobody
    reported has none (one statement, writing only the rows that had one)."""
    colours = cast(Table, Colour.__table__)
    if index_of:
        session.execute(
            update(colours)
            .where(colours.c.pseudonym == bindparam("p"))
            .values(status_index=bindparam("i")),
            [{"p": p, "i": i} for p, i in index_of.items()],
        )
    if others:
        dialect = session.connection().dialect.name
        session.execute(
            update(colours)
            .where(
                in_set(colours.c.pseudonym, others, dialect),
                colours.c.status_index.is_not(None),
            )
            .values(status_index=None)
        )


def reevaluate_chunk(
    session: Session,
    pseudonyms: Sequence[str],
    *,
    ruleset: RuleSet,
    now: datetime,
    label: str,
    serials: StateSerials,
    areas: Iterable[RiskAreaDesignation] | None = None,
    key_range: tuple[str, str] | None = None,
    on_changes: ChangeListener | None = None,
) -> pipeline.Outcome:
    """Re-evaluate ``pseudonyms`` (people without a summary are skipped), queue their
    reports and hand the colour changes to ``on_changes``, in ``session``'s transaction."""
    session.flush()  # the scalar path's pending rows first: the pipeline writes in SQL
    out = pipeline.reevaluate_chunk(
        session.connection(),
        TABLES,
        pseudonyms,
        ruleset=ruleset,
        clock=FixedClock(now),
        risk_areas=designations(session) if areas is None else areas,
        key_range=key_range,
    )
    report_changes(session, out.changed, label=label, now=now, serials=serials)
    session.expire_all()  # ORM rows read before are stale now
    if on_changes is not None:
        on_changes(session, changes_of_frame(out.changed), now)
    return out


def area_people(windows: Sequence[AreaWindow], *, ruleset: RuleSet, now: datetime) -> Any:
    """The pseudonyms a risk-area change concerns (see the module), as a subquery of one
    column, found through the ``(region_code, at)`` index. Raises InvalidInput ``REGION_*``
    for an unknown region code."""
    lookback = visit_lookback(ruleset)
    selections = [
        pipeline.people_with_visits(
            TABLES, region, start if lookback is None else max(start, now - lookback), None
        )
        for region, start in windows
    ]
    return selections[0].union(*selections[1:]).subquery()


def count_area(
    session: Session,
    windows: Sequence[AreaWindow],
    *,
    ruleset: RuleSet,
    now: datetime,
    limit: int | None = None,
) -> int:
    """How many people a risk-area change concerns (counted up to ``limit`` when given)."""
    if not windows:
        return 0
    key = area_people(windows, ruleset=ruleset, now=now).c[0]
    found = select(key).distinct()
    if limit is not None:
        found = found.limit(limit)
    return int(session.execute(select(func.count()).select_from(found.subquery())).scalar_one())


def area_chunk(
    session: Session,
    windows: Sequence[AreaWindow],
    *,
    ruleset: RuleSet,
    now: datetime,
    after: str | None,
    limit: int | None = None,
) -> list[str]:
    """The people a risk-area change concerns, in pseudonym order: those after ``after``,
    at most ``limit``."""
    key = area_people(windows, ruleset=ruleset, now=now).c[0]
    stmt = select(key).distinct().order_by(key)
    if after is not None:
        stmt = stmt.where(key > after)
    if limit is not None:
        stmt = stmt.limit(limit)
    frame = read_frame(session.connection(), stmt, {"pseudonym": pl.String()})
    return list(frame["pseudonym"].to_list())


def reevaluate_area(
    session: Session,
    windows: Sequence[AreaWindow],
    *,
    ruleset: RuleSet,
    now: datetime,
    label: str,
    serials: StateSerials,
    chunk_size: int = 50_000,
    on_changes: ChangeListener | None = None,
) -> pipeline.Outcome:
    """Re-evaluate the people a risk-area change concerns (see the module), ``chunk_size`` at
    a time, all in ``session``'s transaction."""
    total = pipeline.Outcome()
    if not windows:
        return total
    ids = area_chunk(session, windows, ruleset=ruleset, now=now, after=None)
    areas = designations(session)
    for start in range(0, len(ids), chunk_size):
        part = ids[start : start + chunk_size]
        total.add(
            reevaluate_chunk(
                session,
                part,
                ruleset=ruleset,
                now=now,
                label=label,
                serials=serials,
                areas=areas,
                key_range=(part[0], part[-1]),
                on_changes=on_changes,
            )
        )
    return total
