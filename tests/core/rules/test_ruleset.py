"""The rule-set file: schema, digest, parameter substitution, CertLogic checks."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from healthcode.core.errors import RuleSetError
from healthcode.core.rules.ruleset import (
    baseline,
    canonical_json,
    compute_digest,
    load_document,
    load_ruleset,
    parse_ruleset,
    substitute,
    vars_of,
)
from healthcode.core.rules.summary import SUMMARY_FIELDS


def doc() -> dict[str, Any]:
    """The baseline document without its digest (so that tests may change it)."""
    d = copy.deepcopy(dict(baseline().document))
    d.pop("digest")
    return d


def code_of(document: dict[str, Any]) -> str:
    with pytest.raises(RuleSetError) as info:
        parse_ruleset(document)
    return info.value.code


def test_baseline_loads_with_every_rule_of_the_issue() -> None:
    rs = baseline()
    assert {r.id for r in rs.rules} == {
        "RED_INFECTION",
        "RED_SUSPECTED",
        "RED_NAT_POSITIVE",
        "RED_CLOSE_CONTACT",
        "RED_HIGH_RISK_OUTFLOW",
        "RED_MANUAL",
        "YELLOW_SECONDARY_CONTACT",
        "YELLOW_MEDIUM_RISK_OUTFLOW",
        "YELLOW_POST_RELEASE_MONITORING",
        "YELLOW_TEST_OVERDUE",
        "YELLOW_MANUAL",
        "CHECK_COARSE_RISK_AREA",
    }
    assert rs.nat_windows_hours == (24, 48, 72, 168)
    assert all(p.source for p in rs.parameters.values())
    for rule in rs.rules:  # every field a rule reads is a summary field
        assert set(rule.reads + rule.until_reads + rule.starts_reads) <= set(SUMMARY_FIELDS)


def test_parameters_are_substituted_into_expressions_and_texts() -> None:
    rule = baseline().rule("RED_CLOSE_CONTACT")
    assert rule.until == {"plusTime": [{"var": "facts.close_last_exposure"}, 10, "day"]}
    assert "param" not in json.dumps(rule.condition)
    assert rule.reason_en.startswith("close contact, 7 days central isolation plus 3 days")
    assert "NAT on days 1, 2, 3, 5, 7" in rule.follow_up["en"]


def test_changing_a_parameter_changes_the_compiled_rule() -> None:
    d = doc()
    d["parameters"]["close_contact_central_days"]["value"] = 5
    rs = parse_ruleset(d)
    assert rs.rule("RED_CLOSE_CONTACT").until["plusTime"][1] == 8
    assert rs.digest != baseline().digest


def test_digest_is_over_canonical_json_without_digest() -> None:
    d = doc()
    d.pop("digest", None)
    expected = compute_digest(d)
    assert expected.startswith("sha256:") and len(expected) == 71
    d["digest"] = expected
    assert compute_digest(d) == expected
    assert parse_ruleset(d).digest == expected
    assert canonical_json({"b": 1, "a": "码"}) == '{"a":"码","b":1}'.encode()
    d["digest"] = "sha256:" + "0" * 64
    assert code_of(d) == "RULESET_DIGEST_MISMATCH"


def test_yaml_and_json_renderings_share_a_digest(tmp_path: Path) -> None:
    path = tmp_path / "rules.json"
    path.write_text(json.dumps(doc(), ensure_ascii=False), encoding="utf-8")
    assert load_ruleset(path).digest == baseline().digest


@pytest.mark.parametrize(
    ("mutate", "code"),
    [
        (lambda d: d.pop("rules"), "RULESET_SCHEMA"),
        (lambda d: d.update(format="other/1"), "RULESET_SCHEMA"),
        (lambda d: d["rules"][0].update(effect="blue"), "RULESET_SCHEMA"),
        (lambda d: d["rules"][0].pop("legal_basis"), "RULESET_SCHEMA"),
        (lambda d: d["rules"][0]["reason"].pop("zh"), "RULESET_SCHEMA"),
        (lambda d: d["parameters"]["close_contact_home_days"].update(value=-1), "RULESET_SCHEMA"),
        (lambda d: d.update(kind="overlay"), "RULESET_SCHEMA"),
        (lambda d: d.update(valid_until="2022-01-01T00:00:00+08:00"), "RULESET_VALIDITY"),
        (lambda d: d["rules"].append(copy.deepcopy(d["rules"][0])), "RULE_DUPLICATE"),
        (lambda d: d["rules"][1]["reason"].update(code="INFECTED"), "REASON_DUPLICATE"),
        (
            lambda d: d["rules"][2]["until"]["plusTime"].__setitem__(1, {"param": "nope"}),
            "PARAMETER_UNKNOWN",
        ),
        (lambda d: d["rules"][2]["reason"].update(en="for {nope} days"), "PARAMETER_UNKNOWN"),
        (lambda d: d["rules"][0].update(condition={"or": [True, False]}), "RULE_CERTLOGIC"),
        (lambda d: d["rules"][2]["until"]["plusTime"].__setitem__(2, "week"), "RULE_CERTLOGIC"),
    ],
)
def test_refusals(mutate: Any, code: str) -> None:
    d = doc()
    d.pop("digest", None)
    mutate(d)
    assert code_of(d) == code


def test_schema_error_names_the_path() -> None:
    d = doc()
    d["rules"][3]["effect"] = "purple"
    with pytest.raises(RuleSetError) as info:
        parse_ruleset(d)
    assert info.value.details["path"] == "rules/3/effect"


def test_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(RuleSetError, match="RULESET_UNREADABLE"):
        load_document(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("- just\n- a list\n", encoding="utf-8")
    with pytest.raises(RuleSetError, match="RULESET_UNREADABLE"):
        load_document(bad)
    broken = tmp_path / "broken.json"
    broken.write_text("{", encoding="utf-8")
    with pytest.raises(RuleSetError, match="RULESET_UNREADABLE"):
        load_document(broken)


def test_substitute_and_vars_of() -> None:
    expr = {"plusTime": [{"var": "facts.x"}, {"param": ["a", "b"]}, "day"]}
    assert substitute(expr, {"a": 2, "b": 3}) == {"plusTime": [{"var": "facts.x"}, 5, "day"]}
    assert vars_of({"and": [{"var": "facts.x"}, {"var": "now"}, {"var": "facts.y"}]}) == ("x", "y")


def test_baseline_file_carries_its_digest() -> None:
    stated = baseline().document["digest"]
    assert stated == compute_digest(baseline().document) == baseline().digest
