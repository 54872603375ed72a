"""The batch evaluator gives exactly the scalar answer, for every person of random populations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from healthcode.batch.rules import (
    SCHEMA,
    evaluate_frame,
    frame_row_key,
    scalar_key,
    summaries_frame,
)
from healthcode.core.clock import FixedClock
from healthcode.core.errors import RuleSetError
from healthcode.core.facts import format_instant
from healthcode.core.rules import (
    SUMMARY_FIELDS,
    RuleSet,
    baseline,
    empty_summary,
    evaluate,
    load_with_overlays,
    parse_ruleset,
)

NOW = datetime(2022, 11, 20, 1, 0, tzinfo=UTC)
OVERLAY = Path(__file__).resolve().parents[2] / "examples" / "overlay-guangdong.yaml"
DAY, MINUTE, MS = timedelta(days=1), timedelta(minutes=1), timedelta(milliseconds=1)

# offsets from "now" that sit on and around the ends of every duration of the rule sets
_EDGES = [d * DAY for d in (0, 1, 2, 3, 7, 10, 11)] + [h * timedelta(hours=1) for h in (24, 48, 72)]
_NEAR = [
    sign * (e + j)
    for e in _EDGES
    for j in (-MINUTE, -MS, timedelta(0), MS, MINUTE)
    for sign in (-1, 1)
]
offsets = st.one_of(
    st.sampled_from(_NEAR),
    st.integers(min_value=-15 * 24 * 60, max_value=2 * 24 * 60).map(lambda m: m * MINUTE),
)


@st.composite
def summaries(draw: Any) -> dict[str, Any]:
    s = empty_summary()
    for name, (kind, _) in SUMMARY_FIELDS.items():
        if draw(st.booleans()):
            continue  # leave it absent
        if kind == "time":
            s[name] = format_instant(NOW + draw(offsets))
        elif kind == "int":
            s[name] = draw(st.integers(min_value=0, max_value=4))
        elif name == "infection_status":
            s[name] = draw(st.sampled_from(["confirmed", "asymptomatic", "suspected", ""]))
        elif name == "antibody_igg":
            s[name] = draw(st.sampled_from(["positive", "negative"]))
        else:
            s[name] = draw(st.sampled_from(["传染病防治法", "basis"]))
    return s


def assert_same(ruleset: RuleSet, population: list[dict[str, Any]], now: datetime) -> None:
    clock = FixedClock(now)
    out = evaluate_frame(ruleset, summaries_frame(population), clock=clock)
    assert out.height == len(population)
    for s, row in zip(population, out.iter_rows(named=True), strict=True):
        scalar = evaluate(ruleset, s, clock=clock)
        assert frame_row_key(row) == scalar_key(scalar), s
        assert row["vaccine_doses"] == scalar.badges.vaccine_doses
        assert row["antibody_igg"] == scalar.badges.antibody_igg


@settings(max_examples=150, deadline=None)
@given(st.lists(summaries(), min_size=1, max_size=25), st.sampled_from([*_NEAR[:40], timedelta(0)]))
def test_batch_equals_scalar_on_the_baseline(
    population: list[dict[str, Any]], shift: timedelta
) -> None:
    assert_same(baseline(), population, NOW + shift)


@settings(max_examples=60, deadline=None)
@given(st.lists(summaries(), min_size=1, max_size=25))
def test_batch_equals_scalar_with_an_overlay(population: list[dict[str, Any]]) -> None:
    assert_same(load_with_overlays(None, [OVERLAY]), population, NOW)


@settings(max_examples=100, deadline=None)
@given(summaries(), st.sampled_from(_NEAR))
def test_until_is_when_the_result_changes(s: dict[str, Any], shift: timedelta) -> None:
    """The scalar result holds on [now, until) and differs at until (a property of the rules)."""
    now = NOW + shift
    first = evaluate(baseline(), s, clock=FixedClock(now))
    if first.until is None:
        later = evaluate(baseline(), s, clock=FixedClock(now + 30 * DAY))
        assert later.key() == first.key()
        return
    assert first.until > now
    for t in (now, now + (first.until - now) / 2, first.until - MS):
        assert evaluate(baseline(), s, clock=FixedClock(t)).key() == first.key()
    assert evaluate(baseline(), s, clock=FixedClock(first.until)).key() != first.key()


def test_masks_and_lists_agree() -> None:
    s = empty_summary()
    s["close_last_exposure"] = format_instant(NOW - DAY)
    s["coarse_risk_area_last_visit"] = format_instant(NOW - DAY)
    out = evaluate_frame(baseline(), summaries_frame([s]), clock=FixedClock(NOW))
    ids = [r.id for r in baseline().rules]
    row = out.row(0, named=True)
    assert row["reason_mask"] == 1 << ids.index("RED_CLOSE_CONTACT")
    assert row["check_mask"] == 1 << ids.index("CHECK_COARSE_RISK_AREA")
    assert row["checks"] == ["CHECK_COARSE_RISK_AREA"]
    fast = evaluate_frame(baseline(), summaries_frame([s]), clock=FixedClock(NOW), lists=False)
    assert "reasons" not in fast.columns


def _with_rule(condition: Any, until: Any = None) -> RuleSet:
    doc = dict(baseline().document)
    doc.pop("digest", None)
    rule = {
        **doc["rules"][0],
        "id": "X_TEST",
        "condition": condition,
        "reason": {"code": "X_TEST", "zh": "x", "en": "x"},
    }
    if until is not None:
        rule["until"] = until
    return parse_ruleset({**doc, "rules": [*doc["rules"], rule]})


@pytest.mark.parametrize(
    "condition",
    [
        {"reduce": [[1], {"var": "accumulator"}, 0]},
        {"extractFromUVCI": [{"var": "facts.infection_status"}, 1]},
        {"var": "facts.nope"},
        {"var": "payload.x"},
        {"===": [{"var": "facts.close_last_exposure"}, "x"]},
        {
            "before": [
                {"plusTime": [{"var": "now"}, 1, "month"]},
                {"plusTime": [{"var": "facts.close_last_exposure"}, 0, "day"]},
            ]
        },
        {"===": [{"and": [{"var": "facts.vaccine_doses"}, 1]}, 1]},
        {"plusTime": [{"var": "now"}, 0, "day"]},
    ],
)
def test_unsupported_expressions_are_refused_at_compile_time(condition: Any) -> None:
    with pytest.raises(RuleSetError) as info:
        evaluate_frame(
            _with_rule(condition), summaries_frame([empty_summary()]), clock=FixedClock(NOW)
        )
    assert info.value.code == "BATCH_UNSUPPORTED"


def test_supported_extras_agree_with_scalar() -> None:
    cond = {
        "if": [
            {">=": [{"+": [{"var": "facts.vaccine_doses"}, 1]}, 3]},
            {"!": [{"!": [{"var": "facts.antibody_igg"}]}]},
            {"in": [{"var": "facts.antibody_igg"}, ["negative", 5]]},
        ]
    }
    rs = _with_rule(cond)
    population = []
    for doses in (0, 2, 3):
        for igg in (None, "positive", "negative"):
            s = empty_summary()
            s["vaccine_doses"], s["antibody_igg"] = doses, igg
            population.append(s)
    assert_same(rs, population, NOW)


def test_bad_input_and_validity() -> None:
    frame = summaries_frame([empty_summary()])
    with pytest.raises(RuleSetError, match="BATCH_INPUT"):
        evaluate_frame(baseline(), frame.drop("vaccine_doses"), clock=FixedClock(NOW))
    with pytest.raises(RuleSetError, match="BATCH_INPUT"):
        evaluate_frame(
            baseline(),
            frame.with_columns(pl.col("close_last_exposure").cast(pl.String)),
            clock=FixedClock(NOW),
        )
    with pytest.raises(RuleSetError, match="RULESET_NOT_VALID"):
        evaluate_frame(baseline(), frame, clock=FixedClock(datetime(2021, 1, 1, tzinfo=UTC)))
    with pytest.raises(RuleSetError, match="BATCH_INPUT"):
        summaries_frame([{**empty_summary(), "nat_last_sample": "yesterday"}])
    assert set(SCHEMA) == set(SUMMARY_FIELDS)
