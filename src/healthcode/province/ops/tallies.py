"""Colour counts per region over time, kept as colours change, so the dashboard reads a few
hundred rows instead of every person's colour.

``Tallies.on_changes`` is a ``changes.ChangeListener``: inside the transaction of a batch of
colour changes it inserts one ``colour_moves`` row per hour, region (the person's residence;
``""`` when they applied elsewhere) and colour, with how many people entered and left it, how
many of those were transcodings (a change of a colour the person had, not a first colour) and
their latency from the fact's arrival at the hub (``feed.arrival_of``; a change without one,
such as a decision or a rule's time running out, is not timed). Nothing is updated in place,
so no two transactions wait on one counter row.

``fold`` moves those rows into ``colour_hours`` and ``colour_tallies`` (a delete that returns
what it deleted, so two folds never count a row twice); the report loop folds, and so does
every read. The count of a colour in a region at the end of an hour is its count now less what
came in after that hour (``colours``). A reader may be kept to some residence regions
(``within``: a member's, ``staff.served_regions``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVarTuple

from sqlalchemy import Select, case, delete, func, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from healthcode.batch.columns import in_set
from healthcode.core import regions
from healthcode.core.clock import Clock
from healthcode.core.errors import HealthcodeError
from healthcode.core.facts import format_instant
from healthcode.province.changes import ChangeListeners, ColourChange
from healthcode.province.feed import arrival_of
from healthcode.province.models import Person
from healthcode.province.ops.models import ColourHour, ColourMove, ColourTally
from healthcode.store.db import Database
from healthcode.store.retry import run_write

__all__ = ["COLOURS", "LEVELS", "Tallies", "hour_of", "region_at"]

COLOURS = ("green", "yellow", "red")
#: How finely regions are shown: each county, or each prefecture-level city.
LEVELS = ("city", "county")
FIGURES = ("entered", "left", "changed", "timed", "seconds_sum", "seconds_max")
_FOLD_BATCH = 5000
_FOLD_ROUNDS = 20


def hour_of(at: datetime) -> datetime:
    """The UTC hour ``at`` falls in."""
    return at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def region_at(code: str, level: str) -> str:
    """A residence region (a county code) as the dashboard groups it."""
    if level == "city" and len(code) == 6 and not code.endswith("0000"):
        return code[:4] + "00"
    return code


def _name(code: str) -> str:
    try:
        return regions.lookup(code).name if code else ""
    except HealthcodeError:
        return code


def _residences(session: Session, pseudonyms: Sequence[str]) -> dict[str, str]:
    """Each held person's residence region, in one query (the keys as one array parameter)."""
    if not pseudonyms:
        return {}
    held = in_set(Person.pseudonym, pseudonyms, session.get_bind().dialect.name)
    rows = session.execute(select(Person.pseudonym, Person.residence_region).where(held))
    return {pseudonym: region for pseudonym, region in rows}


def moves_of(
    changes: Iterable[ColourChange],
    residences: dict[str, str],
    arrivals: dict[str, datetime | None],
    now: datetime,
) -> dict[tuple[str, str], list[float]]:
    """Per (region, colour): entered, left, changed, timed, seconds_sum, seconds_max."""
    acc: dict[tuple[str, str], list[float]] = defaultdict(lambda: [0, 0, 0, 0, 0.0, 0.0])
    for c in changes:
        region = residences.get(c.pseudonym, "")
        came = acc[(region, c.colour)]
        came[0] += 1
        if c.before is None:
            continue
        acc[(region, c.before)][1] += 1
        came[2] += 1
        arrived = arrivals.get(c.pseudonym)
        if arrived is not None:
            seconds = max(0.0, (now - arrived).total_seconds())
            came[3] += 1
            came[4] += seconds
            came[5] = max(came[5], seconds)
    return acc


def _named(figures: list[float]) -> dict[str, float]:
    return dict(zip(FIGURES, figures, strict=True))


def _upsert(s: Session, table: Any, keys: tuple[str, ...], rows: list[dict[str, Any]]) -> None:
    """Add ``rows``' figures to ``table``'s (the larger maximum kept), inserting new keys."""
    if not rows:
        return
    maker = postgresql.insert if s.get_bind().dialect.name == "postgresql" else sqlite.insert
    stmt = maker(table)
    ex = stmt.excluded
    values: dict[str, Any] = {}
    for name in rows[0]:
        if name in keys:
            continue
        mine = table.c[name]
        values[name] = (
            case((ex[name] > mine, ex[name]), else_=mine)
            if name == "seconds_max"
            else mine + ex[name]
        )
    s.execute(stmt.on_conflict_do_update(index_elements=list(keys), set_=values), rows)


@dataclass(kw_only=True, eq=False)
class Tallies:
    db: Database
    clock: Clock

    @classmethod
    def listening(cls, listeners: ChangeListeners, *, db: Database, clock: Clock) -> Tallies:
        """Tallies kept by ``listeners``' colour changes from now on."""
        tallies = cls(db=db, clock=clock)
        listeners.add(tallies.on_changes)
        return tallies

    def on_changes(self, session: Session, changes: Sequence[ColourChange], now: datetime) -> None:
        """The listener: one move row per (region, colour) of this batch (see the module)."""
        people = [c.pseudonym for c in changes]
        arrivals = {p: arrival_of(session, p) for p in people}
        moved = moves_of(changes, _residences(session, people), arrivals, now)
        hour = hour_of(now)
        rows = [
            {"hour": hour, "region_code": region, "colour": colour, **_named(f)}
            for (region, colour), f in sorted(moved.items())
        ]
        session.execute(insert(ColourMove), rows)

    def fold(self, limit: int = _FOLD_BATCH) -> int:
        """Fold up to ``limit`` move rows into the hours and the tallies; how many."""

        def step(s: Session) -> int:
            oldest = select(ColourMove.id).order_by(ColourMove.id).limit(limit)
            taken = s.execute(
                delete(ColourMove)
                .where(ColourMove.id.in_(oldest.scalar_subquery()))
                .returning(
                    ColourMove.hour,
                    ColourMove.region_code,
                    ColourMove.colour,
                    *(getattr(ColourMove, f) for f in FIGURES),
                )
            ).all()
            hours: dict[tuple[datetime, str, str], list[float]] = defaultdict(
                lambda: [0, 0, 0, 0, 0.0, 0.0]
            )
            tallies: dict[tuple[str, str], int] = defaultdict(int)
            for hour, region, colour, *figures in taken:
                into = hours[(hour, region, colour)]
                for i, value in enumerate(figures):
                    into[i] = max(into[i], value) if i == 5 else into[i] + value
                tallies[(region, colour)] += figures[0] - figures[1]
            _upsert(
                s,
                ColourHour.__table__,
                ("hour", "region_code", "colour"),
                [
                    {"hour": h, "region_code": r, "colour": c, **_named(f)}
                    for (h, r, c), f in sorted(hours.items())
                ],
            )
            _upsert(
                s,
                ColourTally.__table__,
                ("region_code", "colour"),
                [{"region_code": r, "colour": c, "n": n} for (r, c), n in sorted(tallies.items())],
            )
            return len(taken)

        return run_write(self.db, step)

    def fold_all(self) -> int:
        """Fold until nothing is left (at most ``_FOLD_ROUNDS`` batches); how many rows."""
        total = 0
        for _ in range(_FOLD_ROUNDS):
            n = self.fold()
            total += n
            if n < _FOLD_BATCH:
                break
        return total

    def _window(self, hours: int) -> list[datetime]:
        end = hour_of(self.clock.now())
        return [end - timedelta(hours=hours - 1 - i) for i in range(hours)]

    def colours(
        self, *, hours: int = 48, level: str = "city", within: Regions = None
    ) -> dict[str, Any]:
        """Each region's count of each colour now and at the end of each of the last
        ``hours`` hours (China's regions by ``level``), largest red count first; only the
        residences in ``within`` when given (``staff.served_regions``; None: all)."""
        self.fold_all()
        window = self._window(hours)
        with self.db.read() as s:
            current, net = _read_counts(s, level, window[0], within)
        out: list[dict[str, Any]] = []
        for code in sorted({r for r, _ in current} | {r for r, _ in net}):
            series = {c: _backwards(current[(code, c)], net[(code, c)], window) for c in COLOURS}
            if not any(any(v) for v in series.values()):
                continue
            now_counts = {c: current[(code, c)] for c in COLOURS}
            out.append({"code": code, "name": _name(code), "now": now_counts, "series": series})
        out.sort(key=lambda r: (-r["now"]["red"], -r["now"]["yellow"], r["code"]))
        return {"level": level, "hours": [format_instant(h) for h in window], "regions": out}

    def transcodings(self, *, hours: int = 48, within: Regions = None) -> dict[str, Any]:
        """Per hour of the last ``hours``: transcodings into each colour, how many were timed
        from a fact's arrival, their mean and longest latency in seconds; of the residences in
        ``within`` when given."""
        self.fold_all()
        window = self._window(hours)
        with self.db.read() as s:
            rows = s.execute(
                _within(
                    select(
                        ColourHour.hour,
                        ColourHour.colour,
                        func.sum(ColourHour.changed),
                        func.sum(ColourHour.timed),
                        func.sum(ColourHour.seconds_sum),
                        func.max(ColourHour.seconds_max),
                    ).where(ColourHour.hour >= window[0]),
                    ColourHour.region_code,
                    within,
                ).group_by(ColourHour.hour, ColourHour.colour)
            )
            by_hour: dict[datetime, list[Any]] = {h: [{}, 0, 0.0, 0.0] for h in window}
            for hour, colour, changed, timed, total, longest in rows:
                at = by_hour.get(hour_of(hour))
                if at is None:
                    continue
                at[0][colour] = int(changed or 0)
                at[1] += int(timed or 0)
                at[2] += float(total or 0)
                at[3] = max(at[3], float(longest or 0))
        return {
            "hours": [format_instant(h) for h in window],
            "changes": {c: [by_hour[h][0].get(c, 0) for h in window] for c in COLOURS},
            "timed": [by_hour[h][1] for h in window],
            "mean_seconds": [
                round(by_hour[h][2] / by_hour[h][1], 3) if by_hour[h][1] else None for h in window
            ],
            "max_seconds": [round(by_hour[h][3], 3) if by_hour[h][1] else None for h in window],
        }


Counts = dict[tuple[str, str], int]
Nets = dict[tuple[str, str], dict[datetime, int]]
_Row = TypeVarTuple("_Row")
#: Residence regions a reader is kept to (None: every one, the unknown ``""`` included).
Regions = frozenset[str] | None


def _within(stmt: Select[*_Row], column: Any, within: Regions) -> Select[*_Row]:
    return stmt if within is None else stmt.where(column.in_(sorted(within)))


def _read_counts(
    s: Session, level: str, after: datetime, within: Regions = None
) -> tuple[Counts, Nets]:
    """The tallies now and each hour's net change after ``after``, by (region, colour)."""
    current: Counts = defaultdict(int)
    for region, colour, n in s.execute(
        _within(
            select(ColourTally.region_code, ColourTally.colour, ColourTally.n),
            ColourTally.region_code,
            within,
        )
    ):
        current[(region_at(region, level), colour)] += int(n)
    net: Nets = defaultdict(lambda: defaultdict(int))
    for hour, region, colour, entered, left in s.execute(
        _within(
            select(
                ColourHour.hour,
                ColourHour.region_code,
                ColourHour.colour,
                ColourHour.entered,
                ColourHour.left,
            ).where(ColourHour.hour > after),
            ColourHour.region_code,
            within,
        )
    ):
        net[(region_at(region, level), colour)][hour] += int(entered) - int(left)
    return current, net


def _backwards(now: int, net: dict[datetime, int], window: list[datetime]) -> list[int]:
    """The count at the end of each hour of ``window``: ``now`` less what came after."""
    out = [0] * len(window)
    later = sum(n for h, n in net.items() if hour_of(h) > window[-1])
    running = now - later
    for i in range(len(window) - 1, -1, -1):
        out[i] = running
        running -= net.get(window[i], 0)
    return out
