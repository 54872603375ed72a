"""Real EU DCC business rules with their tests: every rule x test pair must give its verdict."""

from __future__ import annotations

from typing import Any

import pytest
from certlogic_suites import DCC_RULES, dcc_rule_tests, rule_data

from healthcode.core.certlogic import compile, validate

PAIRS = dcc_rule_tests()
RULES = {rule["Identifier"]: rule for _, rule, _ in PAIRS}


def test_every_rule_with_tests_is_collected() -> None:
    assert len(list(DCC_RULES.glob("*/*/rule.json"))) == len(RULES) == 41
    assert len(PAIRS) == 270


@pytest.mark.parametrize("rule_id", sorted(RULES))
def test_rule_logic_is_valid(rule_id: str) -> None:
    assert validate(RULES[rule_id]["Logic"]) == []


@pytest.mark.parametrize(("pair_id", "rule", "test"), PAIRS, ids=[p[0] for p in PAIRS])
def test_rule_verdict(pair_id: str, rule: dict[str, Any], test: dict[str, Any]) -> None:
    result = compile(rule["Logic"])(rule_data(test))
    assert result is test["expected"], f"{pair_id}: {test.get('name')}: got {result!r}"
