"""The official CertLogic validation test suite (tests/data/certlogic): every case."""

from __future__ import annotations

import json
from typing import Any

import pytest
from certlogic_suites import VALIDATION_SUITE, same_json

from healthcode.core.certlogic import check, compile, validate
from healthcode.core.errors import CertLogicError


def _cases() -> list[Any]:
    out = []
    for path in sorted(VALIDATION_SUITE.glob("*.json")):
        suite = json.loads(path.read_text("utf-8"))
        for i, case in enumerate(suite["cases"]):
            if "skip" in (suite.get("directive"), case.get("directive")):
                continue
            label = case.get("name") or json.dumps(case["certLogicExpression"])[:50]
            out.append(pytest.param(case, id=f"{path.stem}#{i + 1}: {label}"))
    return out


CASES = _cases()


def test_every_case_is_collected() -> None:
    assert len(CASES) == 23


@pytest.mark.parametrize("case", CASES)
def test_case(case: dict[str, Any]) -> None:
    expr = case["certLogicExpression"]
    issues = validate(expr)
    got = [(i.expr, i.message) for i in issues]
    want = [(i["expr"], i["message"]) for i in case["issues"]]
    assert len(got) == len(want)
    for (got_expr, got_message), (want_expr, want_message) in zip(got, want, strict=True):
        assert same_json(got_expr, want_expr)
        assert got_message == want_message
    if issues:
        with pytest.raises(CertLogicError) as info:
            check(expr)
        assert info.value.code == issues[0].code
        with pytest.raises(CertLogicError):
            compile(expr)
    else:
        check(expr)
        compile(expr)
