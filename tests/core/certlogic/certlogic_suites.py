"""Reading the CertLogic conformance suites of tests/data (shared by the suite tests).

Test modules import this by its own name (pytest puts this folder on ``sys.path``; ``tests`` is
not a package).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from datadir import TESTDATA

SUITE = TESTDATA / "certlogic" / "testSuite"
VALIDATION_SUITE = TESTDATA / "certlogic" / "validation-testSuite"
DCC_RULES = TESTDATA / "dcc-rules"


@dataclass(frozen=True)
class Assertion:
    id: str
    expr: Any
    data: Any
    expected: Any


def _marked(directive: str, *levels: dict[str, Any]) -> bool:
    return any(level.get("directive") == directive for level in levels)


def suite_assertions(folder: Path = SUITE) -> tuple[list[Assertion], int]:
    """Every runnable assertion of every suite file, and the number skipped by a directive.

    ``directive`` may sit on a file, a case or an assertion: "skip" drops what it marks;
    "only", anywhere, restricts the run to what it marks (as mocha does upstream).
    """
    files = [(p, json.loads(p.read_text("utf-8"))) for p in sorted(folder.glob("*.json"))]
    triples = [(p, f, c, a) for p, f in files for c in f["cases"] for a in c["assertions"]]
    any_only = any(_marked("only", f, c, a) for _, f, c, a in triples)
    runnable: list[Assertion] = []
    skipped = 0
    counts: dict[str, int] = {}
    for path, file, case, assertion in triples:
        if _marked("skip", file, case, assertion) or (
            any_only and not _marked("only", file, case, assertion)
        ):
            skipped += 1
            continue
        key = f"{path.stem}/{case['name']}"
        counts[key] = counts.get(key, 0) + 1
        label = assertion.get("message") or json.dumps(assertion["data"])[:40]
        runnable.append(
            Assertion(
                id=f"{key}#{counts[key]}: {label}",
                expr=assertion.get("certLogicExpression", case.get("certLogicExpression")),
                data=assertion["data"],
                expected=assertion["expected"],
            )
        )
    return runnable, skipped


def same_json(a: Any, b: Any) -> bool:
    """Equality of JSON values that also tells ``1`` from ``true`` (JS would)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same_json(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same_json(a[k], b[k]) for k in a)
    return (type(a) is type(b) and a == b) or (
        isinstance(a, int | float) and isinstance(b, int | float) and a == b
    )


def dcc_rule_tests() -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    """(id, rule, test) for every dcc-rules/<COUNTRY>/<RULE>/tests/*.json."""
    out = []
    for rule_path in sorted(DCC_RULES.glob("*/*/rule.json")):
        rule = json.loads(rule_path.read_text("utf-8"))
        for test_path in sorted((rule_path.parent / "tests").glob("*.json")):
            test = json.loads(test_path.read_text("utf-8"))
            out.append((f"{rule['Identifier']}/{test_path.stem}", rule, test))
    return out


def rule_data(test: dict[str, Any]) -> dict[str, Any]:
    """The data context of a business rule: ``{"payload": ..., "external": {...}}``."""
    return {"payload": test["payload"], "external": test["external"]}
