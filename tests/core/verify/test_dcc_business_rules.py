"""EU business rules through CertLogic: each rule test in tests/data/dcc-rules."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from datadir import TESTDATA
from healthcode.core.verify.dcc import check_rules

RULES = TESTDATA / "dcc-rules"
CASES = sorted(p.relative_to(RULES).as_posix() for p in RULES.glob("*/*/tests/*.json"))


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@pytest.mark.parametrize("case", CASES)
def test_rule_case(testdata: Path, case: str) -> None:
    path = testdata / "dcc-rules" / case
    rule: dict[str, Any] = json.loads((path.parent.parent / "rule.json").read_text())
    test = json.loads(path.read_text())
    external = test["external"]
    # judge the rule itself: its own validity window and certificate type are not under test
    rule = {**rule, "ValidFrom": "1970-01-01T00:00:00Z", "ValidTo": "9999-01-01T00:00:00Z"}
    rule["CertificateType"] = "General"
    failed = check_rules(
        [rule],
        test["payload"],
        external,
        now=instant(external.get("validationClock") or "2021-06-01T00:00:00Z"),
    )
    assert (not failed) == test["expected"], (test["name"], failed)
    if failed:
        assert failed[0].identifier == rule["Identifier"] and failed[0].description


def test_certificate_type_and_window_select_rules() -> None:
    rule = {
        "Identifier": "VR-XX-0001",
        "CertificateType": "Vaccination",
        "Country": "XX",
        "Engine": "CERTLOGIC",
        "ValidFrom": "2021-01-01T00:00:00Z",
        "ValidTo": "2022-01-01T00:00:00Z",
        "Description": [{"lang": "en", "desc": "never passes"}],
        "Logic": False,
    }
    now = instant("2021-06-01T00:00:00Z")
    assert check_rules([rule], {"t": [{}]}, {}, now=now) == []  # a test: not applicable
    assert check_rules([rule], {"v": [{}]}, {}, now=instant("2023-01-01T00:00:00Z")) == []
    failed = check_rules([rule], {"v": [{}]}, {}, now=now)
    assert [(f.identifier, f.result, f.description) for f in failed] == [
        ("VR-XX-0001", "FAIL", "never passes")
    ]
    assert check_rules([{**rule, "Engine": "OTHER"}], {"v": [{}]}, {}, now=now)[0].result == "OPEN"
