"""`healthcode rules ...`: check rule sets and explain a colour."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from healthcode.cli.options import AsJson, clock_of, command_group
from healthcode.core.clock import CHINA_TZ, parse_instant
from healthcode.core.error_codes import ErrorCode
from healthcode.core.errors import InvalidInput
from healthcode.core.facts import PersonFacts, risk_areas_from_list
from healthcode.core.rules import (
    Evaluation,
    RuleSet,
    apply_overlay,
    baseline,
    compute_digest,
    evaluate_person,
    load_document,
    load_ruleset,
    parse_ruleset,
)
from healthcode.core.rules.evaluate import Reason

__all__ = ["app", "render"]

app = command_group("Colour rule sets: check a file, explain a person's colour.")

_COLOURS = {"green": ("绿码", "GREEN"), "yellow": ("黄码", "YELLOW"), "red": ("红码", "RED")}
_LABELS = {
    "zh": {
        "colour": "颜色",
        "reasons": "原因",
        "checks": "待核验",
        "badges": "标识",
        "until": "有效至",
        "none": "无",
        "follow": "处置",
        "basis": "依据",
        "facts": "依据事实",
        "nat": "核酸阴性",
        "doses": "疫苗剂次",
        "igg": "IgG 抗体",
        "never": "无自动变化（有新事实时重新赋码）",
        "ruleset": "规则集",
        "at": "评估时间",
        "hours": "小时内",
    },
    "en": {
        "colour": "Colour",
        "reasons": "Reasons",
        "checks": "Pending checks",
        "badges": "Badges",
        "until": "Until",
        "none": "none",
        "follow": "follow-up",
        "basis": "legal basis",
        "facts": "facts",
        "nat": "negative NAT within",
        "doses": "vaccine doses",
        "igg": "IgG antibody",
        "never": "no change by itself (re-evaluated on new facts)",
        "ruleset": "Rule set",
        "at": "Evaluated at",
        "hours": "h",
    },
}


def _local(value: datetime | str | None) -> str:
    if value is None:
        return "-"
    when = parse_instant(value) if isinstance(value, str) else value
    return when.astimezone(CHINA_TZ).strftime("%Y-%m-%d %H:%M:%S CST")


def _load(rules: Path | None, overlays: list[Path]) -> RuleSet:
    ruleset = baseline() if rules is None else load_ruleset(rules)
    for path in overlays:
        ruleset = apply_overlay(ruleset, load_document(path))
    return ruleset


@app.command("check")
def check(
    file: Annotated[
        Path, typer.Argument(metavar="FILE", help="a rule set or overlay (YAML or JSON)")
    ],
    rules: Annotated[
        Path | None,
        typer.Option("--rules", metavar="FILE", help="national rule set an overlay applies to"),
    ] = None,
) -> None:
    """Check a rule set (schema, CertLogic, digest, parameters) and print a summary.

    An overlay is checked by applying it to the national rule set (the baseline unless
    --rules names another). Exits 1 with the error code when the file is refused.
    """
    document = load_document(file)
    if document.get("kind") == "overlay":
        national = baseline() if rules is None else load_ruleset(rules)
        ruleset = apply_overlay(national, document)
        added = [r for r in ruleset.rules if r.origin == document.get("id")]
    else:
        ruleset = parse_ruleset(document)
        added = list(ruleset.rules)
    typer.echo(f"OK {document['kind']} {document['id']} {document['version']}")
    typer.echo(f"digest: {compute_digest(document)}")
    until = ruleset.valid_until.isoformat() if ruleset.valid_until else "open"
    typer.echo(f"valid: {ruleset.valid_from.isoformat()} .. {until}")
    counts: dict[str, int] = {}
    for r in added:
        counts[r.effect] = counts.get(r.effect, 0) + 1
    typer.echo("rules: " + ", ".join(f"{n} {effect}" for effect, n in sorted(counts.items())))
    for r in added:
        typer.echo(f"  {r.id} v{r.version} {r.effect:<6} {r.reason_code}")
    typer.echo(
        "parameters: "
        + ", ".join(f"{p.name}={p.value}{p.unit[0]}" for p in ruleset.parameters.values())
    )


def _reason_lines(r: Reason, lang: str) -> list[str]:
    labels = _LABELS[lang]
    text = r.zh if lang == "zh" else r.en
    lines = [f"  - [{r.effect}] {r.code}: {text}"]
    if r.until is not None:
        lines.append(f"      {labels['until']}: {_local(r.until)}")
    follow = r.follow_up.get(lang)
    if follow:
        lines.append(f"      {labels['follow']}: {follow}")
    lines.append(f"      {labels['basis']}: {r.legal_basis}")
    facts = ", ".join(
        f"{k}={_local(v) if isinstance(v, str) and v.endswith('Z') else v}"
        for k, v in r.supporting.items()
    )
    if facts:
        lines.append(f"      {labels['facts']}: {facts}")
    return lines


def render(result: Evaluation, lang: str) -> str:
    """The human-readable explanation of an evaluation, in Chinese or English."""
    labels = _LABELS[lang]
    zh, en = _COLOURS[result.colour]
    lines = [
        f"{labels['colour']}: {zh if lang == 'zh' else en}",
        f"{labels['ruleset']}: {result.ruleset}  ({result.digest[:19]}…)",
        f"{labels['at']}: {_local(result.at)}",
        f"{labels['reasons']}:" + ("" if result.reasons else f" {labels['none']}"),
    ]
    for r in result.reasons:
        lines.extend(_reason_lines(r, lang))
    lines.append(f"{labels['checks']}:" + ("" if result.checks else f" {labels['none']}"))
    for r in result.checks:
        lines.extend(_reason_lines(r, lang))
    b = result.badges
    nat = (
        f"{labels['nat']} {b.nat_window_hours}{labels['hours']} ({_local(b.nat_sampled_at)})"
        if b.nat_window_hours
        else f"{labels['nat']}: {labels['none']}"
    )
    igg = b.antibody_igg or labels["none"]
    lines.append(
        f"{labels['badges']}: {nat}; {labels['doses']}: {b.vaccine_doses}; {labels['igg']}: {igg}"
    )
    lines.append(
        f"{labels['until']}: " + (_local(result.until) if result.until else labels["never"])
    )
    return "\n".join(lines)


def _facts(path: Path) -> dict[str, Any]:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InvalidInput(ErrorCode.FACTS_UNREADABLE, f"cannot read {path}: {exc}") from exc
    if not isinstance(raw, dict):
        raise InvalidInput(ErrorCode.FACTS_UNREADABLE, f"{path} does not hold an object")
    return raw


@app.command("explain")
def explain(
    facts: Annotated[Path, typer.Option("--facts", metavar="FILE", help="a person's facts (JSON)")],
    at: Annotated[
        str | None,
        typer.Option("--at", metavar="TIME", help="evaluation time, ISO 8601 (default: now)"),
    ] = None,
    rules: Annotated[
        Path | None,
        typer.Option("--rules", metavar="FILE", help="national rule set (default: the baseline)"),
    ] = None,
    overlay: Annotated[
        list[Path] | None,
        typer.Option("--overlay", metavar="FILE", help="provincial overlay(s) to apply"),
    ] = None,
    lang: Annotated[str, typer.Option("--lang", metavar="LANG", help="zh or en")] = "en",
    as_json: AsJson = False,
) -> None:
    """Explain a person's colour: colour, reasons, pending checks, badges and until.

    Exits 1 with the error code when the facts or the rules are refused, 2 when a file cannot
    be read or an option is wrong.
    """
    if lang not in _LABELS:
        raise InvalidInput(
            ErrorCode.LANG_UNKNOWN, f"--lang is zh or en, not {lang!r}", option="--lang"
        )
    clock = clock_of(at, option="--at")
    raw = _facts(facts)
    person = PersonFacts.from_dict(raw, clock=clock)
    areas = risk_areas_from_list(raw.get("risk_areas") or [], clock=clock)
    result = evaluate_person(_load(rules, overlay or []), person, areas, clock=clock)
    if as_json:
        typer.echo(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))
    else:
        typer.echo(render(result, lang))
