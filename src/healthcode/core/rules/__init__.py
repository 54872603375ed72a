"""Colour rules: the rule-set format, the national baseline, provincial overlays, evaluation.

>>> from datetime import datetime, timezone
>>> from healthcode.core.clock import FixedClock
>>> from healthcode.core.rules import baseline, empty_summary, evaluate
>>> evaluate(baseline(), empty_summary(),
...          clock=FixedClock(datetime(2022, 11, 20, tzinfo=timezone.utc))).colour
'green'
"""

from healthcode.core.rules.evaluate import (
    Badges,
    Evaluation,
    Reason,
    compile_ruleset,
    evaluate,
    evaluate_person,
    nat_window,
)
from healthcode.core.rules.overlay import apply_overlay, load_with_overlays
from healthcode.core.rules.ruleset import (
    SEVERITY,
    Parameter,
    Rule,
    RuleSet,
    baseline,
    baseline_path,
    canonical_json,
    compute_digest,
    load_document,
    load_ruleset,
    parse_ruleset,
)
from healthcode.core.rules.summary import (
    AREA_FIELDS,
    PERSON_FIELDS,
    SUMMARY_FIELDS,
    area_facts,
    empty_summary,
    summarise,
)

__all__ = [
    "AREA_FIELDS",
    "PERSON_FIELDS",
    "SEVERITY",
    "SUMMARY_FIELDS",
    "Badges",
    "Evaluation",
    "Parameter",
    "Reason",
    "Rule",
    "RuleSet",
    "apply_overlay",
    "area_facts",
    "baseline",
    "baseline_path",
    "canonical_json",
    "compile_ruleset",
    "compute_digest",
    "empty_summary",
    "evaluate",
    "evaluate_person",
    "load_document",
    "load_ruleset",
    "load_with_overlays",
    "nat_window",
    "parse_ruleset",
    "summarise",
]
