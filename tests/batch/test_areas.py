"""Risk-area matching on columns gives the scalar summary's three visit fields."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from healthcode.batch.areas import AREA_FIELDS, area_visits, region_and_below, visit_lookback
from healthcode.core.facts import ItineraryVisit, RiskAreaDesignation
from healthcode.core.facts.vocabulary import ITINERARY_SOURCES
from healthcode.core.rules import area_facts, baseline, load_with_overlays

BASE = datetime(2022, 11, 20, 1, 0, tzinfo=UTC)
# provinces, a prefecture, its districts, a county-level city straight under its province, and
# a region inside no other of these
CODES = [
    "440000",
    "440100",
    "440106",
    "440103",
    "440300",
    "110000",
    "110101",
    "429004",
    "420000",
    "620000",
]
instants = st.integers(min_value=-20 * 24 * 60, max_value=5 * 24 * 60).map(
    lambda m: BASE + timedelta(minutes=m)
) | st.sampled_from(
    [
        BASE - timedelta(days=3),
        BASE - timedelta(days=3, microseconds=1),
        BASE - timedelta(days=3) + timedelta(microseconds=1),
    ]
)


@st.composite
def designations(draw: Any) -> RiskAreaDesignation:
    start = draw(instants)
    lifted = draw(
        st.none()
        | st.integers(min_value=1, max_value=10 * 24 * 60 * 60_000_000).map(
            lambda us: start + timedelta(microseconds=us)
        )
    )
    level = draw(st.sampled_from(["high", "medium", "low"]))
    return RiskAreaDesignation(draw(st.sampled_from(CODES)), level, start, lifted)


visits = st.builds(
    ItineraryVisit, st.sampled_from(CODES), instants, st.sampled_from(ITINERARY_SOURCES)
)
people = st.dictionaries(
    st.sampled_from(["p1", "p2", "p3", "p4"]), st.lists(visits, min_size=1, max_size=6), max_size=4
)


def _frame(by_person: dict[str, list[ItineraryVisit]]) -> pl.DataFrame:
    rows = [(p, v.region_code, v.at, v.source) for p, vs in by_person.items() for v in vs]
    return pl.DataFrame(
        rows,
        orient="row",
        schema={
            "pseudonym": pl.String,
            "region_code": pl.String,
            "at": pl.Datetime("us", "UTC"),
            "source": pl.String,
        },
    )


@settings(max_examples=300, deadline=None)
@given(by_person=people, areas=st.lists(designations(), max_size=5))
def test_columns_equal_scalar(
    by_person: dict[str, list[ItineraryVisit]], areas: list[RiskAreaDesignation]
) -> None:
    out = area_visits(_frame(by_person), areas)
    assert sorted(out["pseudonym"].to_list()) == sorted(by_person)
    assert all(out.schema[f] == pl.Datetime("ms", "UTC") for f in AREA_FIELDS)
    for row in out.iter_rows(named=True):
        want = area_facts(by_person[row["pseudonym"]], areas)
        got = {
            f: None
            if row[f] is None
            else row[f].isoformat(timespec="milliseconds").replace("+00:00", "Z")
            for f in AREA_FIELDS
        }
        assert got == want


def test_no_visits() -> None:
    out = area_visits(_frame({}), [RiskAreaDesignation("440000", "high", BASE)])
    assert out.height == 0 and set(AREA_FIELDS) <= set(out.columns)


def test_region_and_below() -> None:
    below = region_and_below("440100")
    assert below[0] == "440100" and "440106" in below and "440300" not in below
    assert region_and_below("440106") == ["440106"]


def test_visit_lookback() -> None:
    assert visit_lookback(baseline()) == timedelta(days=7)
    # Guangdong's overlay keeps medium-risk visitors 10 days
    overlay = Path(__file__).resolve().parents[2] / "examples" / "overlay-guangdong.yaml"
    assert visit_lookback(load_with_overlays(None, [overlay])) == timedelta(days=10)
    unbounded = {"var": "facts.high_area_last_visit"}  # no plusTime: every visit ever counts
    rules = baseline()
    rule = replace(rules.rules[0], condition=unbounded, reads=("high_area_last_visit",))
    assert visit_lookback(replace(rules, rules=(rule, *rules.rules[1:]))) is None
