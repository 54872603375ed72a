"""The colour rule-set file: format, JSON Schema, digest, parameters, loading.

A rule set is a YAML or JSON document (schema: ``core/data/ruleset.schema.json``)::

    format: healthcode-ruleset/1
    kind: national            # or: overlay (see healthcode.core.rules.overlay)
    id: CN-NHC-BASELINE
    version: 9.0.0
    valid_from: "2022-06-28T00:00:00+08:00"
    valid_until: null
    parameters: {close_contact_central_days: {value: 7, unit: day, stricter: higher, source: ...}}
    badges: {nat_windows_hours: [24, 48, 72, 168]}
    rules:
      - id: RED_CLOSE_CONTACT
        version: 1
        effect: red           # green | yellow | red | check (a pending check, not a colour)
        condition: <CertLogic over {"now": ..., "facts": <summary>}>
        until: <CertLogic giving the time the rule stops holding by itself>   (optional)
        starts: <CertLogic giving the time a rule not holding starts by itself> (optional)
        reason: {code, zh, en}
        legal_basis: ...
        follow_up: {zh, en, isolation, nat_days}

**Parameters.** CertLogic's ``plusTime`` takes its amount as an integer *literal*, so the file
writes ``{"param": "name"}`` (or ``{"param": ["a", "b"]}`` for a sum) in place of an amount,
and ``{name}`` inside texts; both are replaced with the parameter values when the rule set is
loaded. The file stays parameterised; the compiled form is plain CertLogic.

**Digest.** ``sha256:`` + the hex SHA-256 of the canonical JSON of the document without its
``digest`` key: keys sorted, no insignificant whitespace (separators ``,`` and ``:``), non-ASCII
characters kept as UTF-8, parameters *not* substituted. A YAML file and its JSON rendering
share one digest. A document that carries a digest must match it.

>>> rs = load_ruleset(baseline_path())
>>> rs.id, rs.parameters["close_contact_central_days"].value
('CN-NHC-BASELINE', 7)
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal, cast

import jsonschema
import yaml

from healthcode.core import certlogic
from healthcode.core.clock import Clock, parse_instant
from healthcode.core.error_codes import ErrorCode
from healthcode.core.errors import RuleSetError
from healthcode.core.facts import format_instant

__all__ = [
    "BASELINE_FILE",
    "SCHEMA_FILE",
    "SEVERITY",
    "Effect",
    "Parameter",
    "Rule",
    "RuleSet",
    "baseline_path",
    "canonical_json",
    "compute_digest",
    "load_document",
    "load_ruleset",
    "parse_ruleset",
    "substitute",
    "vars_of",
]

SCHEMA_FILE = "ruleset.schema.json"
BASELINE_FILE = "ruleset-national-baseline.yaml"
FORMAT = "healthcode-ruleset/1"

Effect = Literal["green", "yellow", "red", "check"]
#: Colours by severity; the most severe matching rule decides.
SEVERITY: Mapping[str, int] = {"green": 0, "yellow": 1, "red": 2}
_TEXT_PARAM = re.compile(r"\{([a-z][a-z0-9_]*)\}")


@dataclass(frozen=True, slots=True)
class Parameter:
    """A number the rules use (a duration): its value, unit, which way is stricter, source."""

    name: str
    value: int
    unit: str = "day"
    stricter: Literal["higher", "lower"] = "higher"
    source: str = ""


@dataclass(frozen=True, slots=True)
class Rule:
    """One rule, its expressions already parameter-substituted (plain CertLogic)."""

    id: str
    version: int
    effect: Effect
    condition: Any
    until: Any
    starts: Any
    reason_code: str
    reason_zh: str
    reason_en: str
    legal_basis: str
    follow_up: Mapping[str, Any]
    origin: str  # the rule set id that published it (national or overlay)
    reads: tuple[str, ...] = ()  # summary fields the condition reads (supporting facts)
    until_reads: tuple[str, ...] = ()
    starts_reads: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, eq=False)
class RuleSet:
    """A loaded rule set (a national one, possibly with a provincial overlay applied).

    Rule sets compare (and hash) by identity, so that the compiled form of each can be kept
    per object; two rule sets say the same thing when their ``digest`` is the same.
    """

    id: str
    version: str
    kind: Literal["national", "overlay"]
    title: Mapping[str, str]
    valid_from: datetime
    valid_until: datetime | None
    legal_basis: str
    parameters: Mapping[str, Parameter]
    nat_windows_hours: tuple[int, ...]
    rules: tuple[Rule, ...]
    digest: str
    document: Mapping[str, Any] = field(repr=False)
    overlays: tuple[str, ...] = ()  # "id@version" of overlays applied, in order

    def instant_of(self, clock: Clock) -> datetime:
        """``clock.now()`` as the rules see it: UTC, cut to milliseconds (CertLogic's resolution).

        Both evaluators (one person, a population) take their ``now`` from here.
        Raises RuleSetError ``RULESET_NOT_VALID`` when it is outside the rule set's validity.
        """
        now = clock.now().astimezone(UTC)
        now = now.replace(microsecond=now.microsecond // 1000 * 1000)
        if now < self.valid_from or (self.valid_until is not None and now >= self.valid_until):
            at = format_instant(now)
            raise RuleSetError(
                ErrorCode.RULESET_NOT_VALID, f"{self.id} {self.version} is not valid at {at}", at=at
            )
        return now

    def rule(self, rule_id: str) -> Rule:
        """The rule with this id. Raises RuleSetError ``RULE_UNKNOWN``."""
        for r in self.rules:
            if r.id == rule_id:
                return r
        raise RuleSetError(ErrorCode.RULE_UNKNOWN, f"no rule {rule_id} in {self.id}", rule=rule_id)


def canonical_json(document: Mapping[str, Any]) -> bytes:
    """The canonical JSON bytes of ``document`` (sorted keys, compact, UTF-8)."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(
        "utf-8"
    )


def compute_digest(document: Mapping[str, Any]) -> str:
    """``sha256:<hex>`` over the canonical JSON of ``document`` without its ``digest`` key."""
    body = {k: v for k, v in document.items() if k != "digest"}
    return "sha256:" + hashlib.sha256(canonical_json(body)).hexdigest()


@cache
def _schema() -> dict[str, Any]:
    text = resources.files("healthcode.core").joinpath("data", SCHEMA_FILE).read_text("utf-8")
    return cast(dict[str, Any], json.loads(text))


def baseline_path() -> Path:
    """The path of the national baseline rule set shipped with the package."""
    return Path(str(resources.files("healthcode.core").joinpath("data", BASELINE_FILE)))


def load_document(path: str | Path) -> dict[str, Any]:
    """Read a YAML or JSON rule-set file into a document (no checks beyond parsing).

    Raises RuleSetError ``RULESET_UNREADABLE`` when the file cannot be read or parsed, or is
    not a mapping.
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
        doc = json.loads(text) if str(path).endswith(".json") else yaml.safe_load(text)
    except (OSError, ValueError, yaml.YAMLError) as exc:
        raise RuleSetError(ErrorCode.RULESET_UNREADABLE, f"cannot read {path}: {exc}") from exc
    if not isinstance(doc, dict):
        raise RuleSetError(ErrorCode.RULESET_UNREADABLE, f"{path} does not hold a mapping")
    return doc


def check_schema(document: Mapping[str, Any]) -> None:
    """Validate ``document`` against the rule-set JSON Schema.

    Raises RuleSetError ``RULESET_SCHEMA`` naming the first offending path.
    """
    validator = jsonschema.Draft202012Validator(_schema())
    errors = sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path))
    if errors:
        first = errors[0]
        where = "/".join(str(p) for p in first.absolute_path) or "(document)"
        raise RuleSetError(
            ErrorCode.RULESET_SCHEMA, f"{where}: {first.message}", path=where, errors=len(errors)
        )


def substitute(expr: Any, values: Mapping[str, int], *, where: str = "") -> Any:
    """Replace every ``{"param": name}`` (or a list of names, summed) with its integer value.

    Raises RuleSetError ``PARAMETER_UNKNOWN`` for a name with no value.
    """
    if isinstance(expr, dict):
        if set(expr) == {"param"}:
            names = expr["param"] if isinstance(expr["param"], list) else [expr["param"]]
            total = 0
            for name in names:
                if not isinstance(name, str) or name not in values:
                    raise RuleSetError(
                        ErrorCode.PARAMETER_UNKNOWN,
                        f"{where}: unknown parameter {name!r}",
                        path=where,
                    )
                total += values[name]
            return total
        return {k: substitute(v, values, where=where) for k, v in expr.items()}
    if isinstance(expr, list):
        return [substitute(v, values, where=where) for v in expr]
    return expr


def _text(text: str, values: Mapping[str, int], where: str) -> str:
    def repl(m: re.Match[str]) -> str:
        if m.group(1) not in values:
            raise RuleSetError(
                ErrorCode.PARAMETER_UNKNOWN,
                f"{where}: unknown parameter {m.group(1)!r}",
                path=where,
            )
        return str(values[m.group(1)])

    return _TEXT_PARAM.sub(repl, text)


def vars_of(expr: Any) -> tuple[str, ...]:
    """The summary fields an expression reads (``{"var": "facts.X"}`` -> ``X``), in order."""
    found: list[str] = []

    def walk(e: Any) -> None:
        if isinstance(e, dict):
            for k, v in e.items():
                if k == "var" and isinstance(v, str) and v.startswith("facts."):
                    name = v.removeprefix("facts.")
                    if name not in found:
                        found.append(name)
                else:
                    walk(v)
        elif isinstance(e, list):
            for v in e:
                walk(v)

    walk(expr)
    return tuple(found)


def _check_certlogic(expr: Any, where: str) -> None:
    issues = certlogic.validate(expr)
    if issues:
        first = issues[0]
        raise RuleSetError(
            ErrorCode.RULE_CERTLOGIC,
            f"{where}{first.pointer}: {first.code} {first.message}",
            path=where + first.pointer,
            certlogic_code=first.code,
        )


def build_rule(raw: Mapping[str, Any], values: Mapping[str, int], origin: str, index: int) -> Rule:
    """One rule from its document form, parameters substituted and CertLogic validated.

    Raises RuleSetError ``PARAMETER_UNKNOWN`` and ``RULE_CERTLOGIC``.
    """
    where = f"rules/{index}"
    exprs: dict[str, Any] = {}
    for key in ("condition", "until", "starts"):
        if raw.get(key) is None:
            exprs[key] = None
            continue
        exprs[key] = substitute(copy.deepcopy(raw[key]), values, where=f"{where}/{key}")
        _check_certlogic(exprs[key], f"{where}/{key}")
    follow = {
        k: (_text(v, values, f"{where}/follow_up/{k}") if isinstance(v, str) else v)
        for k, v in raw["follow_up"].items()
    }
    reason = raw["reason"]
    return Rule(
        id=raw["id"],
        version=raw["version"],
        effect=raw["effect"],
        condition=exprs["condition"],
        until=exprs["until"],
        starts=exprs["starts"],
        reason_code=reason["code"],
        reason_zh=_text(reason["zh"], values, f"{where}/reason/zh"),
        reason_en=_text(reason["en"], values, f"{where}/reason/en"),
        legal_basis=raw["legal_basis"],
        follow_up=follow,
        origin=origin,
        reads=vars_of(exprs["condition"]),
        until_reads=vars_of(exprs["until"]),
        starts_reads=vars_of(exprs["starts"]),
    )


def _instant(text: str | None) -> datetime | None:
    return None if text is None else parse_instant(text)


def _check_digest(document: Mapping[str, Any]) -> str:
    digest = compute_digest(document)
    stated = document.get("digest")
    if stated is not None and stated != digest:
        raise RuleSetError(
            ErrorCode.RULESET_DIGEST_MISMATCH,
            f"the document says {stated} but its content hashes to {digest}",
            stated=stated,
            computed=digest,
        )
    return digest


def _check_unique(rules: list[Mapping[str, Any]]) -> None:
    seen: set[str] = set()
    codes: set[str] = set()
    for r in rules:
        if r["id"] in seen:
            raise RuleSetError(
                ErrorCode.RULE_DUPLICATE, f"rule id {r['id']} appears twice", rule=r["id"]
            )
        if r["reason"]["code"] in codes:
            raise RuleSetError(
                ErrorCode.REASON_DUPLICATE,
                f"reason code {r['reason']['code']} appears twice",
                rule=r["id"],
            )
        seen.add(r["id"])
        codes.add(r["reason"]["code"])


def parse_ruleset(document: Mapping[str, Any]) -> RuleSet:
    """Check and load a *national* rule-set document.

    Raises RuleSetError: ``RULESET_SCHEMA``, ``RULESET_KIND`` (an overlay: apply it with
    :func:`healthcode.core.rules.overlay.apply_overlay`), ``RULESET_DIGEST_MISMATCH``,
    ``RULESET_VALIDITY`` (valid_until not after valid_from), ``RULE_DUPLICATE``,
    ``REASON_DUPLICATE``, ``PARAMETER_UNKNOWN``, ``RULE_CERTLOGIC``.
    """
    check_schema(document)
    if document["kind"] != "national":
        raise RuleSetError(
            ErrorCode.RULESET_KIND,
            f"{document['id']} is an overlay; load its national rule set and "
            "apply the overlay to it",
        )
    digest = _check_digest(document)
    valid_from = parse_instant(document["valid_from"])
    valid_until = _instant(document.get("valid_until"))
    if valid_until is not None and valid_until <= valid_from:
        raise RuleSetError(ErrorCode.RULESET_VALIDITY, "valid_until is not after valid_from")
    params = {
        name: Parameter(
            name=name,
            value=p["value"],
            unit=p.get("unit", "day"),
            stricter=p.get("stricter", "higher"),
            source=p.get("source", ""),
        )
        for name, p in document.get("parameters", {}).items()
    }
    values = {name: p.value for name, p in params.items()}
    _check_unique(document["rules"])
    rules = tuple(build_rule(r, values, document["id"], i) for i, r in enumerate(document["rules"]))
    return RuleSet(
        id=document["id"],
        version=document["version"],
        kind="national",
        title=document["title"],
        valid_from=valid_from,
        valid_until=valid_until,
        legal_basis=document["legal_basis"],
        parameters=params,
        nat_windows_hours=tuple(sorted(document["badges"]["nat_windows_hours"])),
        rules=rules,
        digest=digest,
        document=copy.deepcopy(dict(document)),
    )


def load_ruleset(path: str | Path) -> RuleSet:
    """Read and load a national rule-set file (YAML or JSON).

    Raises RuleSetError ``RULESET_UNREADABLE`` and every code of :func:`parse_ruleset`.
    """
    return parse_ruleset(load_document(path))


@cache
def baseline() -> RuleSet:
    """The national baseline rule set shipped with the package (loaded once)."""
    return load_ruleset(baseline_path())
