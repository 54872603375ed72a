"""Provincial overlays: stricter only; every refusal has its own code."""

from __future__ import annotations

import copy
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from healthcode.core.clock import FixedClock, parse_instant
from healthcode.core.errors import OverlayRefused, RuleSetError
from healthcode.core.facts import format_instant
from healthcode.core.rules import (
    apply_overlay,
    baseline,
    empty_summary,
    evaluate,
    load_document,
    load_with_overlays,
)

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "overlay-guangdong.yaml"
T0 = parse_instant("2022-11-18T20:00:00+08:00")


def overlay() -> dict[str, Any]:
    return copy.deepcopy(load_document(EXAMPLE))


def refusal(doc: dict[str, Any]) -> str:
    with pytest.raises(OverlayRefused) as info:
        apply_overlay(baseline(), doc)
    return info.value.code


def test_example_overlay_applies_and_is_stricter() -> None:
    rs = apply_overlay(baseline(), overlay())
    assert rs.overlays == ("GD-OVERLAY@1.0.0",)
    assert rs.parameters["medium_risk_outflow_days"].value == 10
    assert rs.rule("YELLOW_MEDIUM_RISK_OUTFLOW").until["plusTime"][1] == 10
    assert rs.rule("GD_YELLOW_COARSE_VISIT_NO_NAT").origin == "GD-OVERLAY"
    assert rs.digest != baseline().digest
    s = empty_summary()
    s["medium_area_last_visit"] = format_instant(T0)
    late = FixedClock(T0 + timedelta(days=8))
    assert evaluate(baseline(), s, clock=late).colour == "green"
    assert evaluate(rs, s, clock=late).colour == "yellow"
    s = empty_summary()
    s["coarse_risk_area_last_visit"] = format_instant(T0)
    e = evaluate(rs, s, clock=FixedClock(T0 + timedelta(days=1)))
    assert e.colour == "yellow" and e.ruleset == "CN-NHC-BASELINE@9.0.0+GD-OVERLAY@1.0.0"
    s["nat_last_negative"] = format_instant(T0 + timedelta(hours=5))
    assert evaluate(rs, s, clock=FixedClock(T0 + timedelta(days=1))).colour == "green"


def test_load_with_overlays_from_files() -> None:
    assert load_with_overlays(None, [EXAMPLE]).overlays == ("GD-OVERLAY@1.0.0",)


def national_rule(rule_id: str) -> dict[str, Any]:
    for raw in baseline().document["rules"]:
        if raw["id"] == rule_id:
            return copy.deepcopy(raw)
    raise AssertionError(rule_id)


@pytest.mark.parametrize(
    ("mutate", "code"),
    [
        (lambda d: d.update(remove=["RED_CLOSE_CONTACT"]), "OVERLAY_RULE_REMOVED"),
        (lambda d: d.update(disable=["YELLOW_TEST_OVERDUE"]), "OVERLAY_RULE_REMOVED"),
        (lambda d: d["rules"][0].update(enabled=False), "OVERLAY_RULE_REMOVED"),
        (lambda d: d.update(replace={"RED_CLOSE_CONTACT": {}}), "OVERLAY_RULE_REDEFINED"),
        (
            lambda d: d["rules"].append(national_rule("YELLOW_TEST_OVERDUE")),
            "OVERLAY_RULE_REDEFINED",
        ),
        (
            lambda d: d["rules"].append({**national_rule("RED_CLOSE_CONTACT"), "effect": "yellow"}),
            "OVERLAY_COLOUR_LOWERED",
        ),
        (
            lambda d: d["rules"].append(
                {**national_rule("RED_HIGH_RISK_OUTFLOW"), "effect": "check"}
            ),
            "OVERLAY_COLOUR_LOWERED",
        ),
        (lambda d: d["rules"][0].update(effect="green"), "OVERLAY_GREEN_RULE"),
        (
            lambda d: d["rules"][0]["reason"].update(code="CLOSE_CONTACT"),
            "OVERLAY_REASON_CODE_TAKEN",
        ),
        (
            lambda d: d["parameters"].update(close_contact_central_days={"value": 5}),
            "OVERLAY_PARAMETER_LOWERED",
        ),
        (
            lambda d: d["parameters"].update(close_contact_home_days={"value": 0}),
            "OVERLAY_PARAMETER_LOWERED",
        ),
        (
            lambda d: d["parameters"].update(
                close_contact_home_days={"value": 3, "stricter": "lower"}
            ),
            "OVERLAY_PARAMETER_REDEFINED",
        ),
        (
            lambda d: d["parameters"].update(close_contact_home_days={"value": 72, "unit": "hour"}),
            "OVERLAY_PARAMETER_REDEFINED",
        ),
        (lambda d: d["base"].update(version="8.0.0"), "OVERLAY_BASE_MISMATCH"),
        (lambda d: d["base"].update(digest="sha256:" + "1" * 64), "OVERLAY_BASE_MISMATCH"),
        (lambda d: d["base"].update(id="CN-OTHER"), "OVERLAY_BASE_MISMATCH"),
        (lambda d: d.update(province="990000"), "OVERLAY_PROVINCE_UNKNOWN"),
        (
            lambda d: d.update(province="440000", valid_until="2022-06-01T00:00:00+08:00"),
            "OVERLAY_VALIDITY",
        ),
    ],
)
def test_overlay_refusals(mutate: Any, code: str) -> None:
    d = overlay()
    mutate(d)
    assert refusal(d) == code


def test_equal_parameter_is_allowed() -> None:
    d = overlay()
    d["parameters"]["close_contact_central_days"] = {"value": 7}
    assert apply_overlay(baseline(), d).parameters["close_contact_central_days"].value == 7


def test_an_overlay_is_not_a_national_rule_set_and_vice_versa() -> None:
    with pytest.raises(RuleSetError, match="RULESET_KIND"):
        apply_overlay(baseline(), _national_doc())
    d = overlay()
    d["province"] = "440100"  # a prefecture, not a province: refused by the schema pattern
    with pytest.raises(RuleSetError, match="RULESET_SCHEMA"):
        apply_overlay(baseline(), d)


def _national_doc() -> dict[str, Any]:
    d = copy.deepcopy(dict(baseline().document))
    d.pop("digest", None)
    return d
