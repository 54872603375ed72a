"""What changed between two rule sets: their parameters, and rule by rule what each rule says
(its colour, conditions, reasons, legal basis, follow-up), for people to read.

>>> from healthcode.core.rules import baseline
>>> same = baseline()
>>> diff(same, same)["rules"]
{'added': [], 'removed': [], 'changed': []}
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from healthcode.core.facts import format_instant
from healthcode.core.rules.ruleset import Rule, RuleSet

__all__ = ["RULE_FIELDS", "diff", "rule_view", "ruleset_view"]

#: A rule's fields as people read them, in the order the pages show them.
RULE_FIELDS = (
    "version",
    "effect",
    "reason_code",
    "reason_zh",
    "reason_en",
    "legal_basis",
    "follow_up",
    "condition",
    "until",
    "starts",
    "origin",
)
_HEAD_FIELDS = ("id", "version", "kind", "title", "legal_basis", "valid_from", "valid_until")


def rule_view(rule: Rule) -> dict[str, Any]:
    """A rule as JSON: its id and :data:`RULE_FIELDS`."""
    return {"id": rule.id, **{f: _plain(getattr(rule, f)) for f in RULE_FIELDS}}


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return value


def _head(rs: RuleSet) -> dict[str, Any]:
    return {
        "id": rs.id,
        "version": rs.version,
        "kind": rs.kind,
        "title": dict(rs.title),
        "legal_basis": rs.legal_basis,
        "valid_from": format_instant(rs.valid_from),
        "valid_until": None if rs.valid_until is None else format_instant(rs.valid_until),
    }


def _parameters(rs: RuleSet) -> dict[str, dict[str, Any]]:
    return {
        name: {"value": p.value, "unit": p.unit, "stricter": p.stricter, "source": p.source}
        for name, p in rs.parameters.items()
    }


def ruleset_view(rs: RuleSet) -> dict[str, Any]:
    """A rule set as people read it: its head, digest, overlays, parameters and rules."""
    return {
        **_head(rs),
        "digest": rs.digest,
        "overlays": list(rs.overlays),
        "parameters": _parameters(rs),
        "rules": [rule_view(r) for r in rs.rules],
    }


def _changes(old: Mapping[str, Any], new: Mapping[str, Any], fields: Any) -> list[dict[str, Any]]:
    return [
        {"field": f, "from": old.get(f), "to": new.get(f)}
        for f in fields
        if old.get(f) != new.get(f)
    ]


def diff(old: RuleSet, new: RuleSet) -> dict[str, Any]:
    """What ``new`` says differently from ``old``: head fields, parameters (added, removed,
    changed) and rules (added, removed, changed with each field's old and new value), each
    list in the order of the rule set that has it."""
    old_params, new_params = _parameters(old), _parameters(new)
    old_rules = {r.id: rule_view(r) for r in old.rules}
    new_rules = {r.id: rule_view(r) for r in new.rules}
    changed = []
    for rule_id, view in new_rules.items():
        if rule_id in old_rules:
            fields = _changes(old_rules[rule_id], view, RULE_FIELDS)
            if fields:
                changed.append({"id": rule_id, "fields": fields})
    return {
        "from": {"digest": old.digest, "id": old.id, "version": old.version},
        "to": {"digest": new.digest, "id": new.id, "version": new.version},
        "head": _changes(_head(old), _head(new), _HEAD_FIELDS),
        "parameters": {
            "added": [{"name": n, **p} for n, p in new_params.items() if n not in old_params],
            "removed": [{"name": n, **p} for n, p in old_params.items() if n not in new_params],
            "changed": [
                {"name": n, "from": old_params[n], "to": p}
                for n, p in new_params.items()
                if n in old_params and old_params[n] != p
            ],
        },
        "rules": {
            "added": [v for i, v in new_rules.items() if i not in old_rules],
            "removed": [v for i, v in old_rules.items() if i not in new_rules],
            "changed": changed,
        },
    }
