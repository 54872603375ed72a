"""The population the kill -9 tests of the province's jobs load: facts documents written
directly (no records behind them), times moved to today, some of them applied here.

Because no records stand behind the documents, a colour that ended during a test would be
re-evaluated by the until sweep from the person's records (none) and rightly turn green,
and that person would be reported twice. So the tests keep only people whose colour, under
the test's rules and scenario, lasts at least ``HORIZON``: longer than a test runs on a slow,
shared machine.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.rules_bench import NOW as BENCH_NOW  # noqa: E402
from bench.rules_bench import population  # noqa: E402

from healthcode.batch.rules import SCHEMA, evaluate_frame  # noqa: E402
from healthcode.core.clock import FixedClock  # noqa: E402
from healthcode.core.rules import AREA_FIELDS, PERSON_FIELDS, RuleSet  # noqa: E402
from healthcode.province.models import Person, person_summaries  # noqa: E402
from healthcode.store.db import Database  # noqa: E402

__all__ = ["BENCH_NOW", "HORIZON", "fill", "held", "lasting"]

HORIZON = timedelta(hours=1)


def lasting(n: int, rules: RuleSet, *, scenario: dict[str, pl.Expr] | None = None) -> pl.DataFrame:
    """``n`` facts documents (as of the bench's now) whose colour under ``rules``, with the
    ``scenario``'s columns set for everyone, lasts at least ``HORIZON``. The risk-area fields
    are derived from visits and risk areas (none here), so they are null unless the scenario
    sets them (with the visits and the area that give them)."""
    frame = population(2 * n, seed=11)
    nulls = {f: pl.lit(None, dtype=SCHEMA[f]) for f in AREA_FIELDS}
    scenario_frame = frame.with_columns(**{**nulls, **(scenario or {})})
    result = evaluate_frame(rules, scenario_frame.select(list(SCHEMA)), clock=FixedClock(BENCH_NOW))
    until = result["until"]
    kept = frame.filter(until.is_null() | (until > BENCH_NOW + HORIZON)).head(n)
    assert kept.height == n, "the population has too few lasting colours"
    return kept


def held(n: int, every: int) -> list[str]:
    """The pseudonyms applied here: one person in ``every``."""
    return [f"k{i:06d}" for i in range(0, n, every)]


def fill(db: Database, frame: pl.DataFrame, *, every: int) -> None:
    """``frame``'s documents (times moved to today; their stored fields) as ``k000000``...,
    one in ``every`` applied here, resident in 440106."""
    shift = datetime.now(UTC) - BENCH_NOW
    rows = []
    for i, row in enumerate(frame.iter_rows(named=True)):
        doc = {k: row[k] + shift if isinstance(row[k], datetime) else row[k] for k in PERSON_FIELDS}
        rows.append({**doc, "pseudonym": f"k{i:06d}", "updated_at": datetime.now(UTC)})
    people = [
        {
            "pseudonym": pseudonym,
            "id_digest": "d" + pseudonym[1:],
            "id_type": "resident_id",
            "id_enc": b"x",
            "name_enc": b"x",
            "phone_enc": b"x",
            "masked_id": "4401**********0000",
            "masked_name": "张*",
            "residence_region": "440106",
            "applied_at": datetime.now(UTC),
        }
        for pseudonym in held(frame.height, every)
    ]
    with db.write() as s:
        s.execute(person_summaries.insert(), rows)
        s.execute(Person.__table__.insert(), people)  # type: ignore[arg-type]
