"""The official CertLogic test suite (tests/data/certlogic), every assertion."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from certlogic_suites import SUITE, Assertion, same_json, suite_assertions

from healthcode.core.certlogic import compile, evaluate

ASSERTIONS, SKIPPED = suite_assertions()


def test_reads_the_suites_of_tests_data(testdata: Path) -> None:
    assert SUITE.parent.parent == testdata


def test_every_runnable_assertion_is_collected() -> None:
    files = [json.loads(p.read_text("utf-8")) for p in SUITE.glob("*.json")]
    total = sum(len(c["assertions"]) for f in files for c in f["cases"])
    assert (total, len(ASSERTIONS), SKIPPED) == (232, 218, 14)
    assert len({a.id for a in ASSERTIONS}) == len(ASSERTIONS)


@pytest.mark.parametrize("assertion", ASSERTIONS, ids=[a.id for a in ASSERTIONS])
def test_assertion(assertion: Assertion) -> None:
    result = evaluate(assertion.expr, assertion.data)
    assert same_json(result, assertion.expected), (result, assertion.expected)
    assert same_json(compile(assertion.expr)(assertion.data), result)
