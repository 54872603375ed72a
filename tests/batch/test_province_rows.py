"""One colours row format: the pipeline and the province's scalar path store identical rows
for the same people (colour, reasons, badges, until, rule-set digest, since; as stored and
as text)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from batch_db import Province
from sqlalchemy import String, Table, cast, select
from test_reevaluate import HIGH, MEDIUM, NOW, _expected, _fill, _stored

from healthcode.batch.areas import AREA_FIELDS
from healthcode.batch.reevaluate import everyone, reevaluate
from healthcode.core.clock import FixedClock
from healthcode.core.facts import ItineraryVisit, PersonFacts
from healthcode.core.rules import baseline, evaluate, load_with_overlays, summarise
from healthcode.province.documents import summary_of
from healthcode.province.evaluation import holds_of, store_result
from healthcode.province.models import DecisionSubject
from healthcode.province.scans import refresh_flags
from healthcode.province.states import StateSerials

SERIALS = StateSerials(field_key=bytes(32), province="440000")
_OVERLAY = Path(__file__).resolve().parents[2] / "examples" / "overlay-guangdong.yaml"


def _rows(province: Province) -> dict[str, tuple[Any, ...]]:
    c = province.tables.colours.c
    with province.db.read() as session:
        rows = session.execute(
            select(
                c.pseudonym,
                c.colour,
                c.reasons,
                c.badges,
                c.until,
                c.ruleset_digest,
                c.evaluated_at,
                c.since,
                cast(c.reasons, String()),
                cast(c.badges, String()),
            )
        ).all()
    return {r[0]: tuple(r[1:]) for r in rows}


@pytest.mark.parametrize("n", [40, 97])
def test_pipeline_and_scalar_store_identical_rows(province: Province, n: int) -> None:
    _fill(province, n)
    rules = baseline()
    reevaluate(
        province.db,
        province.tables,
        everyone(province.tables),
        ruleset=rules,
        clock=FixedClock(NOW),
        risk_areas=[HIGH, MEDIUM],
        chunk_size=13,
    )
    batch = _rows(province)
    assert len(batch) == n
    with province.db.write() as session:
        session.execute(province.tables.colours.delete())
        for p in sorted(batch):
            # the stored fields, the risk-area ones derived for one person (documents.py)
            doc = summary_of(session, p, [HIGH, MEDIUM])
            assert doc is not None
            result = evaluate(rules, doc, clock=FixedClock(NOW))
            store_result(session, p, result, None, held=False, now=NOW, serials=SERIALS)
    scalar = _rows(province)
    assert scalar == batch
    assert {v[0] for v in batch.values()} >= {"green", "yellow"}


def test_rows_stay_equal_under_an_overlay(province: Province) -> None:
    rules = load_with_overlays(None, [_OVERLAY])
    _fill(province, 30)
    reevaluate(
        province.db,
        province.tables,
        everyone(province.tables),
        ruleset=rules,
        clock=FixedClock(NOW),
        risk_areas=[HIGH],
    )
    batch = _rows(province)
    with province.db.write() as session:
        session.execute(province.tables.colours.delete())
        for p in sorted(batch):
            doc = summary_of(session, p, [HIGH])
            assert doc is not None
            store_result(
                session,
                p,
                evaluate(rules, doc, clock=FixedClock(NOW)),
                None,
                held=False,
                now=NOW,
                serials=SERIALS,
            )
    assert _rows(province) == batch


def test_rows_stay_equal_with_decisions_acting(province: Province) -> None:
    """Approved decisions (yellow, red, two on one person, one not started, one ended) enter
    the colour the same way on both paths, as do their reasons and untils."""
    _fill(province, 40)
    decisions = DecisionSubject.__table__
    assert isinstance(decisions, Table)
    tables = replace(province.tables, decisions=decisions)
    day = timedelta(days=1)
    holds = [
        ("dc_a", "p0001", "red", NOW - day, NOW + 3 * day),
        ("dc_b", "p0002", "yellow", NOW - day, NOW + 5 * day),
        ("dc_a", "p0003", "red", NOW - day, NOW + 3 * day),
        ("dc_c", "p0003", "yellow", NOW - day, NOW + 2 * day),
        ("dc_d", "p0004", "red", None, NOW + 2 * day),  # proposed, not approved
        ("dc_e", "p0005", "red", NOW - 3 * day, NOW - day),  # ended
        ("dc_f", "p0006", "yellow", NOW, NOW + day),
    ]
    with province.db.write() as session:
        session.execute(
            decisions.insert(),
            [
                {"decision_id": d, "pseudonym": p, "colour": c, "starts_at": s, "ends_at": e}
                for d, p, c, s, e in holds
            ],
        )
    rules = baseline()
    out = reevaluate(
        province.db,
        tables,
        everyone(tables),
        ruleset=rules,
        clock=FixedClock(NOW),
        risk_areas=[HIGH, MEDIUM],
        chunk_size=7,
    )
    batch = _rows(province)
    assert batch["p0001"][0] == "red" and batch["p0001"][3] == NOW + 3 * day
    assert {"rule": "DECISION:dc_c", "effect": "yellow"} in batch["p0003"][1]
    assert all("DECISION" not in str(batch[p][1]) for p in ("p0004", "p0005"))
    decided = dict(out.changed.select("pseudonym", "decision").drop_nulls().iter_rows())
    assert decided.get("p0001") == "dc_a" or batch["p0001"][1][0]["rule"] != "DECISION:dc_a"
    with province.db.write() as session:
        session.execute(province.tables.colours.delete())
        for p in sorted(batch):
            doc = summary_of(session, p, [HIGH, MEDIUM])
            assert doc is not None
            result = evaluate(rules, doc, clock=FixedClock(NOW))
            store_result(
                session,
                p,
                result,
                None,
                held=False,
                now=NOW,
                serials=SERIALS,
                holds=holds_of(session, [p], NOW)[p],
            )
    assert _rows(province) == batch


def test_venue_scans_count_alike_on_both_paths(province: Province) -> None:
    """Scans alone, backed by the phone, and contradicted by it: the pipeline (the stored
    flags, ``province/scans.py``) and the scalar summary (``core/facts/scans.py``) count the
    same visits, so every person gets the same colour."""
    rows, visits = _fill(province, 60)
    at = NOW - timedelta(days=1)
    kinds = [
        [ItineraryVisit("440106", at, "venue_scan")],
        [ItineraryVisit("440106", at, "venue_scan"), ItineraryVisit("440100", at, "carrier_cell")],
        [
            ItineraryVisit("440106", at, "venue_scan"),
            ItineraryVisit("110101", at + timedelta(minutes=20), "carrier_cell"),
        ],
    ]
    extra = []
    for i, p in enumerate(sorted(visits)[:30]):
        visits[p] = [*visits[p], *kinds[i % 3]]
        extra += [(p, v) for v in kinds[i % 3]]
    with province.db.write() as session:
        session.execute(
            province.tables.visits.insert(),
            [
                {
                    "record_id": 10_000 + n,
                    "pseudonym": p,
                    "region_code": v.region_code,
                    "at": v.at,
                    "source": v.source,
                }
                for n, (p, v) in enumerate(extra)
            ],
        )
        refresh_flags(session, list(visits))
    areas = [HIGH, MEDIUM]
    reevaluate(
        province.db,
        province.tables,
        everyone(province.tables),
        ruleset=baseline(),
        clock=FixedClock(NOW),
        risk_areas=areas,
        chunk_size=17,
    )
    batch = _stored(province)
    scalar = {}
    for row in rows:
        p = row["pseudonym"]
        summary = summarise(PersonFacts(visits=tuple(visits[p])), areas)
        changed = {**row, **{f: _instant(summary[f]) for f in AREA_FIELDS}}
        scalar.update(_expected([changed], visits, areas, counted=True))
    assert batch == scalar
    # the case is meaningful: scans that would have counted were left out
    raw = _expected(rows, visits, areas)
    assert sum(raw[p][0] != batch[p][0] for p in batch) >= 10
    with province.db.read() as session:
        flags = {f for (f,) in session.execute(select(province.tables.visits.c.flag)) if f}
    assert flags == {"VENUE_SCAN_UNCORROBORATED", "VENUE_SCAN_CONTRADICTED"}


def _instant(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value.replace("Z", "+00:00"))
