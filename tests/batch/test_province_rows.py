"""One colours row format: the pipeline and the province's scalar path store identical rows
for the same people (colour, reasons, badges, until, rule-set digest, since; as stored and
as text)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from batch_db import Province
from sqlalchemy import String, cast, select
from test_reevaluate import HIGH, MEDIUM, NOW, _fill

from healthcode.batch.reevaluate import everyone, reevaluate
from healthcode.core.clock import FixedClock
from healthcode.core.rules import baseline, evaluate, load_with_overlays
from healthcode.province.evaluation import store_result, summary_of
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
            doc = summary_of(session, p)  # the summary the pipeline refreshed
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
            doc = summary_of(session, p)
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
