"""Provincial overlays: a province may only make the national rules stricter.

An overlay is a rule-set document with ``kind: overlay``, a ``province`` (``440000``) and a
``base`` naming the national rule set it applies to (id, version and digest). It may

- add rules of its own (yellow, red or pending checks) with reason codes of its own, and
- raise national parameters in their stricter direction (a longer isolation), or add
  parameters for its own rules.

It may not drop, disable, replace or redefine a national rule, lower a colour, add a green
rule, or make a parameter less strict. Each refusal is an :class:`OverlayRefused` with its own
code:

==============================  ==================================================================
``OVERLAY_RULE_REMOVED``        the overlay asks to remove or disable rules
``OVERLAY_RULE_REDEFINED``      it reuses the id of a national rule (or asks to replace one)
``OVERLAY_COLOUR_LOWERED``      it reuses a national rule id with a less severe effect
``OVERLAY_GREEN_RULE``          it adds a green rule (which could only claim to clear a colour)
``OVERLAY_REASON_CODE_TAKEN``   it reuses a national reason code
``OVERLAY_PARAMETER_LOWERED``   it sets a national parameter in its less strict direction
``OVERLAY_PARAMETER_REDEFINED`` it changes a national parameter's unit or direction
``OVERLAY_BASE_MISMATCH``       its base is not this national rule set (id, version or digest)
``OVERLAY_PROVINCE_UNKNOWN``    its province is not a provincial-level region
``OVERLAY_VALIDITY``            its validity does not overlap the national one
==============================  ==================================================================

>>> from healthcode.core.rules.ruleset import baseline
>>> doc = {"kind": "overlay", "remove": ["RED_CLOSE_CONTACT"]}
>>> try:
...     apply_overlay(baseline(), doc)
... except OverlayRefused as e:
...     print(e.code)
OVERLAY_RULE_REMOVED
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from healthcode.core import regions
from healthcode.core.clock import parse_instant
from healthcode.core.error_codes import ErrorCode
from healthcode.core.errors import InvalidInput, OverlayRefused, RuleSetError
from healthcode.core.rules.ruleset import (
    SEVERITY,
    Parameter,
    RuleSet,
    baseline,
    build_rule,
    check_schema,
    compute_digest,
    load_document,
    load_ruleset,
)

__all__ = ["apply_overlay", "load_with_overlays"]

_REMOVING = ("remove", "disable", "drop", "exclude")
_REPLACING = ("replace", "override", "redefine")


def _refuse(code: ErrorCode, message: str, **details: Any) -> OverlayRefused:
    return OverlayRefused(code, message, **details)


def _check_keys(doc: Mapping[str, Any]) -> None:
    for key in (*_REMOVING, *_REPLACING):
        if key in doc:
            removing = key in _REMOVING
            raise _refuse(
                ErrorCode.OVERLAY_RULE_REMOVED if removing else ErrorCode.OVERLAY_RULE_REDEFINED,
                f"an overlay may not {key} national rules"
                + (f" ({key}: {doc[key]!r})" if removing else ""),
                key=key,
            )
    for i, rule in enumerate(doc.get("rules") or []):
        if isinstance(rule, Mapping) and any(k in rule for k in (*_REMOVING, "enabled")):
            raise _refuse(
                ErrorCode.OVERLAY_RULE_REMOVED,
                f"rules/{i}: an overlay rule may not disable anything",
                rule=rule.get("id"),
            )


def _check_base(national: RuleSet, doc: Mapping[str, Any]) -> None:
    base = doc["base"]
    for key, mine in (
        ("id", national.id),
        ("version", national.version),
        ("digest", national.digest),
    ):
        if base[key] != mine:
            raise _refuse(
                ErrorCode.OVERLAY_BASE_MISMATCH,
                f"overlay {doc['id']} applies to {key} {base[key]}, not {mine}",
                key=key,
                expected=mine,
                found=base[key],
            )


def _check_province(doc: Mapping[str, Any]) -> None:
    try:
        region = regions.lookup(doc["province"])
    except InvalidInput as exc:
        raise _refuse(
            ErrorCode.OVERLAY_PROVINCE_UNKNOWN, exc.message, province=doc["province"]
        ) from exc
    if region.level != "province":
        raise _refuse(
            ErrorCode.OVERLAY_PROVINCE_UNKNOWN, f"{region.code} is not a provincial-level region"
        )


def _merge_parameters(national: RuleSet, doc: Mapping[str, Any]) -> dict[str, Parameter]:
    merged = dict(national.parameters)
    for name, raw in (doc.get("parameters") or {}).items():
        theirs = national.parameters.get(name)
        if theirs is None:
            merged[name] = Parameter(
                name,
                raw["value"],
                raw.get("unit", "day"),
                raw.get("stricter", "higher"),
                raw.get("source", ""),
            )
            continue
        for attr in ("unit", "stricter"):
            if attr in raw and raw[attr] != getattr(theirs, attr):
                raise _refuse(
                    ErrorCode.OVERLAY_PARAMETER_REDEFINED,
                    f"parameter {name}: an overlay may not change its {attr}",
                    parameter=name,
                )
        value = raw["value"]
        lower = value < theirs.value if theirs.stricter == "higher" else value > theirs.value
        if lower:
            raise _refuse(
                ErrorCode.OVERLAY_PARAMETER_LOWERED,
                f"parameter {name}: {value} is less strict than the national {theirs.value}",
                parameter=name,
                national=theirs.value,
                overlay=value,
            )
        merged[name] = replace(theirs, value=value, source=raw.get("source", theirs.source))
    return merged


def _check_rules(national: RuleSet, doc: Mapping[str, Any]) -> None:
    by_id = {r.id: r for r in national.rules}
    codes = {r.reason_code for r in national.rules}
    seen: set[str] = set()
    for raw in doc["rules"]:
        rid, effect = raw["id"], raw["effect"]
        theirs = by_id.get(rid)
        if theirs is not None:
            if (
                effect != theirs.effect
                and theirs.effect in SEVERITY
                and (effect not in SEVERITY or SEVERITY[effect] < SEVERITY[theirs.effect])
            ):
                raise _refuse(
                    ErrorCode.OVERLAY_COLOUR_LOWERED,
                    f"rule {rid} is {theirs.effect} nationally; the overlay makes it {effect}",
                    rule=rid,
                )
            raise _refuse(
                ErrorCode.OVERLAY_RULE_REDEFINED,
                f"rule {rid} is a national rule; an overlay adds rules under ids of its own",
                rule=rid,
            )
        if effect == "green":
            raise _refuse(
                ErrorCode.OVERLAY_GREEN_RULE,
                f"rule {rid}: an overlay may not add a green rule",
                rule=rid,
            )
        if raw["reason"]["code"] in codes:
            raise _refuse(
                ErrorCode.OVERLAY_REASON_CODE_TAKEN,
                f"rule {rid}: reason code {raw['reason']['code']} is a national one",
                rule=rid,
            )
        if rid in seen:
            raise RuleSetError(ErrorCode.RULE_DUPLICATE, f"rule id {rid} appears twice", rule=rid)
        seen.add(rid)


def apply_overlay(national: RuleSet, document: Mapping[str, Any]) -> RuleSet:
    """The rule set ``national`` made stricter by the overlay ``document``.

    The national rules are rebuilt with the (stricter) merged parameters, the overlay's rules
    follow them; validity is the intersection; the digest is the SHA-256 of the national
    digest and the overlay digests, in order.

    Raises OverlayRefused with the codes in the module's table, and RuleSetError
    ``RULESET_SCHEMA``, ``RULESET_KIND``, ``RULESET_DIGEST_MISMATCH``, ``RULE_DUPLICATE``,
    ``PARAMETER_UNKNOWN``, ``RULE_CERTLOGIC``.
    """
    _check_keys(document)
    check_schema(document)
    if document["kind"] != "overlay":
        raise RuleSetError(ErrorCode.RULESET_KIND, f"{document['id']} is not an overlay")
    digest = compute_digest(document)
    if document.get("digest") not in (None, digest):
        raise RuleSetError(
            ErrorCode.RULESET_DIGEST_MISMATCH,
            f"the overlay says {document['digest']} but hashes to {digest}",
            computed=digest,
        )
    _check_base(national, document)
    _check_province(document)
    params = _merge_parameters(national, document)
    _check_rules(national, document)

    valid_from = max(national.valid_from, parse_instant(document["valid_from"]))
    untils = [u for u in (national.valid_until,) if u is not None]
    if document.get("valid_until"):
        untils.append(parse_instant(document["valid_until"]))
    valid_until = min(untils) if untils else None
    if valid_until is not None and valid_until <= valid_from:
        raise _refuse(
            ErrorCode.OVERLAY_VALIDITY, "the overlay's validity does not overlap the base's"
        )

    values = {name: p.value for name, p in params.items()}
    rules = [
        build_rule(raw, values, national.id, i) for i, raw in enumerate(national.document["rules"])
    ]
    # keep rules already added by earlier overlays
    known = {r["id"] for r in national.document["rules"]}
    rules.extend(r for r in national.rules if r.id not in known)
    rules.extend(
        build_rule(raw, values, document["id"], i) for i, raw in enumerate(document["rules"])
    )
    label = f"{document['id']}@{document['version']}"
    combined = hashlib.sha256("\n".join([national.digest, digest]).encode("ascii")).hexdigest()
    return replace(
        national,
        kind="overlay",
        valid_from=valid_from,
        valid_until=valid_until,
        parameters=params,
        rules=tuple(rules),
        digest="sha256:" + combined,
        overlays=(*national.overlays, label),
        document=copy.deepcopy(dict(national.document)),
    )


def load_with_overlays(
    rules: str | Path | None = None, overlays: Iterable[str | Path] = ()
) -> RuleSet:
    """Load a national rule set (the baseline when ``rules`` is None) and apply overlays.

    Raises what :func:`load_ruleset` and :func:`apply_overlay` raise.
    """
    ruleset = baseline() if rules is None else load_ruleset(rules)
    for path in overlays:
        ruleset = apply_overlay(ruleset, load_document(path))
    return ruleset
