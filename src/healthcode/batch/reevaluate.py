"""Re-evaluating many people at once: facts read in columns, the batch engine, bulk writes.

:func:`reevaluate` takes a set of people (a SQL selection of pseudonyms, e.g.
:func:`people_with_visits` through the ``(region_code, at)`` index, or :func:`everyone`) and,
chunk by chunk, each chunk in one write transaction:

1. reads their stored facts (``person_summaries``: the fields of ``core.rules.PERSON_FIELDS``)
   and current colour, until and since (``colours``) in columns
   (:func:`healthcode.batch.columns.read_frame`, the chunk's people joined as a table of keys,
   ``joined_with_keys``; on PostgreSQL the summaries are locked, ``FOR UPDATE``, so a fact
   arriving meanwhile waits for the chunk);
2. derives the three risk-area fields (``core.rules.AREA_FIELDS``, never stored) from their
   visits (without the venue scans left out, ``visits.flag``) and the current designations
   (:func:`healthcode.batch.areas.area_visits`, the columnar twin of ``core.rules.area_facts``);
3. evaluates them with :func:`healthcode.batch.rules.evaluate_frame`;
4. writes back the colours rows whose colour, reasons, badges, until or rule-set digest
   changed (``since``, when the colour state began, set to now where the colour or until
   changed, kept otherwise): on PostgreSQL ``COPY`` into a temporary table and one
   ``INSERT ... ON CONFLICT DO UPDATE ... WHERE`` the stored row differs (the comparison made
   by the database: only the colour, until and since of the stored row are read, not its
   reasons and badges); on SQLite ``executemany`` of the same statement. No summary is
   written: a re-evaluation changes none of the stored fields;
   An approved manual decision acting on a person (``ProvinceTables.decisions``: rows of
   ``pseudonym, decision_id, colour, starts_at, ends_at``) enters after the rules, as on the
   scalar path (``core.safeguards.with_decisions``, the same function, row by row for the
   few people a decision names);
5. hands the people whose colour or until changed to ``on_chunk(connection, changed)``
   inside the same transaction (the status outbox), then reports progress (people done, total).

A colours row stores ``reasons`` as a JSON array of ``{"rule", "effect"}`` (colour reasons by
severity then id, then pending checks, as :func:`healthcode.core.rules.evaluate` orders them)
and ``badges`` as ``{"antibody_igg", "vaccine_doses", "nat_window_hours"}``; the texts behind
a reason come from the rule set. People of the selection without a summary are skipped.

How a province uses it: when a designation of region R is made, changed or lifted, it
re-evaluates ``people_with_visits(tables, R, now - visit_lookback(ruleset), None)`` (all of
R's visitors when the look-back is ``None``): an older visit cannot change a colour under this
rule set. A new rule set or overlay version runs ``everyone`` in the background
(each chunk commits on its own, ``progress`` reports), while per-person updates go on: on
PostgreSQL they wait only for the chunk that holds their row.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import polars as pl
from sqlalchemy import Connection, Select, Table, select

from healthcode.batch.areas import area_visits, counted_regions, region_and_below
from healthcode.batch.columns import joined_with_keys, read_frame
from healthcode.batch.rules import SCHEMA, evaluate_frame
from healthcode.batch.writes import write_colours
from healthcode.core.clock import Clock
from healthcode.core.facts import RiskAreaDesignation
from healthcode.core.rules import PERSON_FIELDS, SEVERITY, RuleSet
from healthcode.core.safeguards import Hold, with_decisions
from healthcode.store.db import Database

__all__ = [
    "CHANGED_SCHEMA",
    "Outcome",
    "ProvinceTables",
    "everyone",
    "people_with_visits",
    "reevaluate",
    "reevaluate_chunk",
]

_MS = pl.Datetime("ms", "UTC")
_US = pl.Datetime("us", "UTC")
#: The people whose colour or until changed: the colour before (null when they had none), the
#: colour and until now (what a status report says), the decision the colour rests on (null:
#: the rules).
CHANGED_SCHEMA = {
    "pseudonym": pl.String(),
    "colour_before": pl.String(),
    "colour": pl.String(),
    "until": pl.Datetime("ms", "UTC"),
    "decision": pl.String(),
}
_HOLDS = {
    "pseudonym": pl.String(),
    "decision_id": pl.String(),
    "colour": pl.String(),
    "ends_at": pl.Datetime("us", "UTC"),
}
_VISITS = {
    "pseudonym": pl.String(),
    "region_code": pl.String(),
    "at": pl.Datetime("us", "UTC"),
    "source": pl.String(),
}
#: What is read of a person's stored colour: what decides ``since`` and who changed. Whether
#: the rest (reasons, badges, digest) differs is decided by the write itself (``write_colours``).
_OLD = {
    "old_colour": pl.String(),
    "old_until": _MS,
    "old_since": pl.Datetime("us", "UTC"),
}
_COLOURS = ("colour", "reasons", "badges", "until", "digest")


@dataclass(frozen=True, slots=True)
class ProvinceTables:
    """The province's tables the pipeline reads and writes (see the shared plan); the
    decisions acting on people, when the province has them."""

    summaries: Table
    visits: Table
    colours: Table
    decisions: Table | None = None


@dataclass(slots=True)
class Outcome:
    """What a re-evaluation did: people evaluated, colours rows written, colours or untils
    changed."""

    evaluated: int = 0
    colours_written: int = 0
    changed: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=CHANGED_SCHEMA))

    def add(self, other: Outcome) -> None:
        self.evaluated += other.evaluated
        self.colours_written += other.colours_written
        self.changed = pl.concat([self.changed, other.changed])


def people_with_visits(
    tables: ProvinceTables, region_code: str, since: datetime | None, until: datetime | None
) -> Select[Any]:
    """The people with a visit in ``region_code`` or any region inside it, at or after
    ``since`` and before ``until`` (either may be open): a range scan of the ``(region_code,
    at)`` index per region code. Raises InvalidInput ``REGION_*`` for an unknown code."""
    v = tables.visits.c
    stmt = select(v.pseudonym).where(v.region_code.in_(region_and_below(region_code)))
    if since is not None:
        stmt = stmt.where(v.at >= since)
    if until is not None:
        stmt = stmt.where(v.at < until)
    return stmt.distinct()


def everyone(tables: ProvinceTables) -> Select[Any]:
    """Every person with a facts document."""
    return select(tables.summaries.c.pseudonym)


def reevaluate(
    db: Database,
    tables: ProvinceTables,
    people: Select[Any],
    *,
    ruleset: RuleSet,
    clock: Clock,
    risk_areas: Iterable[RiskAreaDesignation],
    chunk_size: int = 50_000,
    progress: Callable[[int, int], None] | None = None,
    on_chunk: Callable[[Connection, pl.DataFrame], None] | None = None,
) -> Outcome:
    """Re-evaluate the people ``people`` selects (one pseudonym column), ``chunk_size`` at a
    time, each chunk in a write transaction of its own; see the module docstring.

    Raises RuleSetError as :func:`evaluate_frame`, DatabaseBusy as ``Database.write``; a chunk
    that raises has written nothing, and the chunks before it stay written (running it again
    is safe: it writes only what differs).
    """
    areas = list(risk_areas)
    chosen = people.subquery()
    key = chosen.c[0]
    with db.reader() as conn:  # in the database's order: each chunk is a range of the key
        selected = read_frame(
            conn, select(key).distinct().order_by(key), {"pseudonym": pl.String()}
        )
    ids: list[str] = selected["pseudonym"].to_list()
    total, out = len(ids), Outcome()
    if progress is not None:
        progress(0, total)
    for start in range(0, total, chunk_size):
        part = ids[start : start + chunk_size]
        with db.write() as session:
            conn = session.connection()
            done = reevaluate_chunk(
                conn,
                tables,
                part,
                ruleset=ruleset,
                clock=clock,
                risk_areas=areas,
                key_range=(part[0], part[-1]),
            )
            if on_chunk is not None:
                on_chunk(conn, done.changed)
        out.add(done)
        if progress is not None:
            progress(start + len(part), total)
    return out


def reevaluate_chunk(
    conn: Connection,
    tables: ProvinceTables,
    pseudonyms: Sequence[str],
    *,
    ruleset: RuleSet,
    clock: Clock,
    risk_areas: Iterable[RiskAreaDesignation],
    key_range: tuple[str, str] | None = None,
) -> Outcome:
    """Re-evaluate ``pseudonyms`` on ``conn``, in the caller's transaction (steps 1-4 of the
    module docstring); the caller commits, and puts ``changed`` in its outbox.

    ``key_range``, when given, is the least and the greatest of ``pseudonyms`` in the
    database's own order: the reads then scan only that range of the pseudonym indexes
    instead of whole tables (each chunk of a large selection would otherwise read them all).
    """
    areas = list(risk_areas)
    facts_sql = _facts_statement(conn, tables, pseudonyms, key_range)
    facts = read_frame(conn, facts_sql, _facts_schema())
    visits = _read_visits(conn, tables, facts["pseudonym"].to_list(), areas, key_range)
    fresh = area_visits(visits, areas)
    facts = facts.join(fresh, on="pseudonym", how="left", maintain_order="left")
    result = evaluate_frame(ruleset, facts.select(list(SCHEMA)), clock=clock, lists=False)
    stamp = clock.now().astimezone(UTC)
    colours = _with_holds(conn, tables, _colour_rows(ruleset, facts, result), key_range, stamp)
    moved = pl.col("colour").ne_missing(pl.col("old_colour")) | pl.col("until").ne_missing(
        pl.col("old_until")
    )
    # a changed colour or until begins a new colour state at ``stamp``; else it goes on
    since = pl.when(moved).then(pl.lit(stamp, dtype=_US)).otherwise(pl.col("old_since"))
    colours = colours.with_columns(since.alias("since"))
    written = write_colours(  # only the rows that differ from the stored ones are written
        conn, tables.colours, colours.select("pseudonym", *_COLOURS, "since"), evaluated_at=stamp
    )
    changed = colours.filter(moved).select(
        "pseudonym", pl.col("old_colour").alias("colour_before"), "colour", "until", "decision"
    )
    return Outcome(facts.height, written, changed)


def _facts_schema() -> dict[str, pl.DataType]:
    return {"pseudonym": pl.String(), **{f: SCHEMA[f] for f in PERSON_FIELDS}, **_OLD}


def _facts_statement(
    conn: Connection,
    tables: ProvinceTables,
    ids: Sequence[str],
    key_range: tuple[str, str] | None,
) -> Select[Any]:
    s, c = tables.summaries, tables.colours
    chosen = joined_with_keys(s, s.c.pseudonym, ids, conn.dialect.name)
    stmt = select(
        s.c.pseudonym,
        *(s.c[name] for name in PERSON_FIELDS),
        c.c.colour.label("old_colour"),
        c.c.until.label("old_until"),
        c.c.since.label("old_since"),
    ).select_from(chosen.outerjoin(c, c.c.pseudonym == s.c.pseudonym))
    if key_range is not None:
        stmt = stmt.where(s.c.pseudonym.between(*key_range))
    return stmt.with_for_update(of=s) if conn.dialect.name == "postgresql" else stmt


def _read_visits(
    conn: Connection,
    tables: ProvinceTables,
    ids: list[str],
    areas: list[RiskAreaDesignation],
    key_range: tuple[str, str] | None,
) -> pl.DataFrame:
    """The visits of ``ids`` that a designation of ``areas`` may count (by region and time),
    without the venue scans left out (``visits.flag``, ``core/facts/scans.py``)."""
    codes, start = counted_regions(areas)
    if start is None or not ids:
        return pl.DataFrame(schema=_VISITS)
    v = tables.visits.c
    stmt = (
        select(v.pseudonym, v.region_code, v.at, v.source)
        .select_from(joined_with_keys(tables.visits, v.pseudonym, ids, conn.dialect.name))
        .where(v.region_code.in_(codes), v.at >= start, v.flag.is_(None))
    )
    if key_range is not None:
        stmt = stmt.where(v.pseudonym.between(*key_range))
    return read_frame(conn, stmt, _VISITS)


def _with_holds(
    conn: Connection,
    tables: ProvinceTables,
    colours: pl.DataFrame,
    key_range: tuple[str, str] | None,
    now: datetime,
) -> pl.DataFrame:
    """The colours rows with the decisions acting at ``now`` (see the module), and a
    ``decision`` column: the decision a colour rests on, null when the rules give it."""
    colours = colours.with_columns(pl.lit(None, dtype=pl.String).alias("decision"))
    ids = colours["pseudonym"].to_list()
    if tables.decisions is None or not ids:
        return colours
    d = tables.decisions.c
    stmt = (
        select(d.pseudonym, d.decision_id, d.colour, d.ends_at)
        .select_from(joined_with_keys(tables.decisions, d.pseudonym, ids, conn.dialect.name))
        .where(d.starts_at <= now, d.ends_at > now)
    )
    if key_range is not None:
        stmt = stmt.where(d.pseudonym.between(*key_range))
    holds: dict[str, list[Hold]] = {}
    for p, decision, colour, ends in read_frame(conn, stmt, _HOLDS).iter_rows():
        holds.setdefault(p, []).append(Hold(decision, colour, ends))
    if not holds:
        return colours
    rows = colours.filter(pl.col("pseudonym").is_in(list(holds)))
    fixed = []
    for p, colour, reasons, until in rows.select(
        "pseudonym", "colour", "reasons", "until"
    ).iter_rows():
        colour, merged, until, decision = with_decisions(
            colour, json.loads(reasons), until, holds[p]
        )
        fixed.append((p, colour, _json(merged), until, decision))
    schema = {
        "pseudonym": pl.String(),
        "colour": pl.String(),
        "reasons": pl.String(),
        "until": _MS,
        "decision": pl.String(),
    }
    frame = pl.DataFrame(fixed, schema=schema, orient="row")
    return colours.update(frame, on="pseudonym", include_nulls=True)


def _json(value: Any) -> str:
    # The text PostgreSQL prints for this jsonb (keys by length, ", " and ": "), which is also
    # what SQLAlchemy's JSON type writes on SQLite: an unchanged value compares equal as text.
    return json.dumps(value)


def _reasons_text(ruleset: RuleSet, reason_mask: int, check_mask: int) -> str:
    rules = list(enumerate(ruleset.rules))
    colour = [(i, r) for i, r in rules if r.effect in SEVERITY and reason_mask >> i & 1]
    colour.sort(key=lambda p: (-SEVERITY[p[1].effect], p[1].id))
    checks = [(i, r) for i, r in rules if r.effect == "check" and check_mask >> i & 1]
    return _json([{"rule": r.id, "effect": r.effect} for _, r in [*colour, *checks]])


def _colour_rows(ruleset: RuleSet, facts: pl.DataFrame, result: pl.DataFrame) -> pl.DataFrame:
    """The colours rows of the evaluated people, beside what was stored (``old_*``)."""
    frame = pl.concat([facts.select("pseudonym", *_OLD), result], how="horizontal")
    masks = frame.select("reason_mask", "check_mask").unique()
    reasons = masks.with_columns(
        pl.Series(
            "reasons", [_reasons_text(ruleset, r, c) for r, c in masks.iter_rows()], dtype=pl.String
        )
    )
    badge_cols = ["antibody_igg", "vaccine_doses", "nat_window_hours"]
    combos = frame.select(badge_cols).unique()
    badges = combos.with_columns(
        pl.Series(
            "badges",
            [_json(dict(zip(badge_cols, row, strict=True))) for row in combos.iter_rows()],
            dtype=pl.String,
        )
    )
    return (
        frame.join(
            reasons,
            on=["reason_mask", "check_mask"],
            how="left",
            nulls_equal=True,
            maintain_order="left",
        )
        .join(badges, on=badge_cols, how="left", nulls_equal=True, maintain_order="left")
        .with_columns(pl.lit(ruleset.digest, dtype=pl.String).alias("digest"))
    )
