"""The bulk re-evaluation pipeline stores what the scalar path gives each person, on each
backend, and touches only the people selected."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import polars as pl
from batch_db import Province
from bench.rules_bench import documents, population
from sqlalchemy import Connection, select

from healthcode.batch.areas import visit_lookback
from healthcode.batch.reevaluate import everyone, people_with_visits, reevaluate
from healthcode.core.clock import FixedClock
from healthcode.core.facts import ItineraryVisit, RiskAreaDesignation
from healthcode.core.facts.vocabulary import ITINERARY_SOURCES
from healthcode.core.rules import AREA_FIELDS, area_facts, baseline, evaluate

NOW = datetime(2022, 11, 20, 1, 0, tzinfo=UTC)
CODES = ["440100", "440106", "440300", "110101", "429004"]
HIGH = RiskAreaDesignation("440100", "high", NOW - timedelta(days=5))
MEDIUM = RiskAreaDesignation("440000", "medium", NOW - timedelta(days=12))


def _fill(province: Province, n: int) -> tuple[list[dict[str, Any]], dict[str, list[Any]]]:
    rng = random.Random(n)
    docs = documents(population(n, seed=3))
    visits: dict[str, list[ItineraryVisit]] = {}
    rows = []
    for i, doc in enumerate(docs):
        p = f"p{i:04d}"
        doc = {
            k: (
                datetime.fromisoformat(v.replace("Z", "+00:00"))
                if isinstance(v, str) and v.endswith("Z")
                else v
            )
            for k, v in doc.items()
        }
        rows.append({"pseudonym": p, **doc, "updated_at": NOW - timedelta(days=30)})
        visits[p] = [
            ItineraryVisit(
                rng.choice(CODES),
                NOW - timedelta(minutes=rng.randrange(20 * 24 * 60)),
                rng.choice(ITINERARY_SOURCES),
            )
            for _ in range(rng.randrange(4))
        ]
    with province.db.write() as session:
        stored = [{k: v for k, v in row.items() if k not in AREA_FIELDS} for row in rows]
        session.execute(province.tables.summaries.insert(), stored)
        vrows = [
            {"pseudonym": p, "region_code": v.region_code, "at": v.at, "source": v.source}
            for p, vs in visits.items()
            for v in vs
        ]
        for i, v in enumerate(vrows):
            v["record_id"] = i + 1
        session.execute(province.tables.visits.insert(), vrows)
    return rows, visits


def _expected(
    rows: list[dict[str, Any]],
    visits: dict[str, list[ItineraryVisit]],
    areas: list[RiskAreaDesignation],
    *,
    counted: bool = False,
) -> dict[str, tuple[Any, ...]]:
    """What the scalar path gives each row: its risk-area fields from every visit, or as they
    are in the row when ``counted`` (the row holds them already)."""
    out = {}
    rules = baseline()
    for row in rows:
        doc = {
            k: v.isoformat(timespec="milliseconds").replace("+00:00", "Z")
            if isinstance(v, datetime)
            else v
            for k, v in row.items()
            if k not in ("pseudonym", "updated_at")
        }
        if not counted:
            doc.update(area_facts(visits[row["pseudonym"]], areas))
        r = evaluate(rules, doc, clock=FixedClock(NOW))
        reasons = [{"rule": x.rule_id, "effect": x.effect} for x in (*r.reasons, *r.checks)]
        badges = {
            "antibody_igg": r.badges.antibody_igg,
            "vaccine_doses": r.badges.vaccine_doses,
            "nat_window_hours": r.badges.nat_window_hours,
        }
        out[row["pseudonym"]] = (r.colour, reasons, badges, r.until)
    return out


def _stored(province: Province) -> dict[str, tuple[Any, ...]]:
    c = province.tables.colours.c
    with province.db.read() as session:
        rows = session.execute(select(c.pseudonym, c.colour, c.reasons, c.badges, c.until)).all()
    return {p: (colour, reasons, badges, until) for p, colour, reasons, badges, until in rows}


def test_risk_area_reevaluates_exactly_its_visitors(province: Province) -> None:
    rows, visits = _fill(province, 60)
    rules, clock = baseline(), FixedClock(NOW)
    lookback = visit_lookback(rules)
    assert lookback is not None
    since = NOW - lookback
    visitors = {
        p
        for p, vs in visits.items()
        if any(v.region_code in ("440100", "440106") and v.at >= since for v in vs)
    }
    progress: list[tuple[int, int]] = []
    outboxes: list[pl.DataFrame] = []

    def outbox(conn: Connection, changed: pl.DataFrame) -> None:
        assert isinstance(conn, Connection)
        outboxes.append(changed)

    out = reevaluate(
        province.db,
        province.tables,
        people_with_visits(province.tables, "440100", since, None),
        ruleset=rules,
        clock=clock,
        risk_areas=[HIGH],
        chunk_size=7,
        progress=lambda done, total: progress.append((done, total)),
        on_chunk=outbox,
    )
    assert 0 < len(visitors) < len(rows)
    assert out.evaluated == len(visitors)
    assert progress[0] == (0, len(visitors)) and progress[-1] == (len(visitors), len(visitors))
    assert len(progress) == 1 + -(-len(visitors) // 7)
    stored = _stored(province)
    assert set(stored) == visitors
    want = _expected([r for r in rows if r["pseudonym"] in visitors], visits, [HIGH])
    assert stored == want
    changed = pl.concat(outboxes)
    assert set(changed["pseudonym"]) == visitors  # nobody had a colour before
    assert changed["colour_before"].null_count() == len(visitors)
    assert out.changed.sort("pseudonym").equals(changed.sort("pseudonym"))

    # again: nothing differs, nothing is written
    again = reevaluate(
        province.db,
        province.tables,
        people_with_visits(province.tables, "440100", since, None),
        ruleset=rules,
        clock=clock,
        risk_areas=[HIGH],
    )
    assert (again.evaluated, again.colours_written) == (len(visitors), 0)

    # the area is lifted: everyone is re-evaluated with the designation ended
    lifted = RiskAreaDesignation("440100", "high", HIGH.effective_from, NOW - timedelta(days=2))
    after = reevaluate(
        province.db,
        province.tables,
        everyone(province.tables),
        ruleset=rules,
        clock=clock,
        risk_areas=[lifted, MEDIUM],
        chunk_size=25,
    )
    assert after.evaluated == len(rows)
    assert _stored(province) == _expected(rows, visits, [lifted, MEDIUM])
    before = {p: (v[0], v[3]) for p, v in stored.items()}
    now = {p: (v[0], v[3]) for p, v in _stored(province).items()}
    moved = {p for p in now if before.get(p) != now[p]}
    assert set(after.changed["pseudonym"]) == moved
    for p, colour_before, colour, until, _ in after.changed.iter_rows():
        assert colour_before == (before.get(p) or (None,))[0]
        assert (colour, until) == now[p]


def test_a_reevaluation_writes_no_summary(province: Province) -> None:
    """The risk-area fields are derived, never stored: re-evaluating everyone under risk areas
    leaves every summary row as it was (its stored fields, its ``updated_at``)."""
    _fill(province, 12)
    s = province.tables.summaries

    def summaries() -> list[Any]:
        with province.db.read() as session:
            return list(session.execute(select(s).order_by(s.c.pseudonym)).all())

    before = summaries()
    out = reevaluate(
        province.db,
        province.tables,
        everyone(province.tables),
        ruleset=baseline(),
        clock=FixedClock(NOW),
        risk_areas=[HIGH, MEDIUM],
    )
    assert out.evaluated == 12 and out.colours_written == 12
    assert summaries() == before
    assert not set(AREA_FIELDS) & set(s.c.keys())


def test_chunks_follow_the_database_order(province: Province) -> None:
    names = ["Zed", "alpha", "Beta", "_x", "1", "é", "a b"]
    with province.db.write() as session:
        session.execute(
            province.tables.summaries.insert(),
            [{"pseudonym": p, "vaccine_doses": 0, "updated_at": NOW} for p in names],
        )
    for size in (1, 2, 3):
        out = reevaluate(
            province.db,
            province.tables,
            everyone(province.tables),
            ruleset=baseline(),
            clock=FixedClock(NOW + timedelta(seconds=size)),
            risk_areas=[HIGH],
            chunk_size=size,
        )
        assert out.evaluated == len(names)
    assert set(_stored(province)) == set(names)
