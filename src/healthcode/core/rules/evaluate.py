"""Evaluation of one person: a pure function of (rule set, facts document, clock).

The result holds:

- ``colour``: the most severe matching colour rule (green when none matches);
- ``reasons``: every matching colour rule, with its reason code and texts, its own ``until``,
  its follow-up and the facts that support it (the summary fields its condition reads);
- ``checks``: matching ``check`` rules, pending checks a checkpoint must resolve;
- ``badges``: not colours: the NAT window of the latest negative sample (24 h / 48 h / 72 h /
  7 d as the rule set says), vaccine doses and the latest IgG antibody result;
- ``until``: the earliest instant after ``now`` at which the result can change by itself
  (no new facts): the least of (a) the ``until`` of every matching rule, (b) the ``starts`` of
  every rule not matching (the time it would begin to hold), (c) the end of the current NAT
  badge window. ``None`` when nothing changes by itself. The result is the same at every
  instant in ``[now, until)``.

An ``until`` or ``starts`` expression is evaluated only when every summary field it reads is
present; otherwise it gives no time. Only times strictly after ``now`` count.

>>> from datetime import datetime, timezone
>>> from healthcode.core.clock import FixedClock
>>> from healthcode.core.rules.ruleset import baseline
>>> from healthcode.core.rules.summary import empty_summary
>>> s = empty_summary(); s["close_last_exposure"] = "2022-11-18T12:00:00.000Z"
>>> r = evaluate(baseline(), s, clock=FixedClock(datetime(2022, 11, 20, 1, tzinfo=timezone.utc)))
>>> r.colour, [x.code for x in r.reasons], r.until.isoformat()
('red', ['CLOSE_CONTACT'], '2022-11-28T12:00:00+00:00')
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from healthcode.core import certlogic
from healthcode.core.clock import Clock, parse_instant
from healthcode.core.error_codes import ErrorCode
from healthcode.core.errors import CertLogicError, RuleSetError
from healthcode.core.facts import PersonFacts, RiskAreaDesignation, format_instant
from healthcode.core.rules.ruleset import SEVERITY, Rule, RuleSet
from healthcode.core.rules.summary import summarise

__all__ = [
    "Badges",
    "CompiledRuleSet",
    "Evaluation",
    "Reason",
    "compile_ruleset",
    "evaluate",
    "evaluate_person",
    "nat_window",
]


@dataclass(frozen=True, slots=True)
class Reason:
    """Why a rule holds: which rule, its reason, until when, and the facts behind it."""

    rule_id: str
    rule_version: int
    origin: str
    effect: str
    code: str
    zh: str
    en: str
    until: datetime | None
    legal_basis: str
    follow_up: Mapping[str, Any]
    supporting: Mapping[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule_id,
            "rule_version": self.rule_version,
            "origin": self.origin,
            "effect": self.effect,
            "code": self.code,
            "zh": self.zh,
            "en": self.en,
            "until": None if self.until is None else format_instant(self.until),
            "legal_basis": self.legal_basis,
            "follow_up": dict(self.follow_up),
            "supporting": dict(self.supporting),
        }


@dataclass(frozen=True, slots=True)
class Badges:
    """Marks that are not colours."""

    nat_window_hours: int | None
    nat_sampled_at: datetime | None
    vaccine_doses: int
    antibody_igg: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "nat_window_hours": self.nat_window_hours,
            "nat_sampled_at": None
            if self.nat_sampled_at is None
            else format_instant(self.nat_sampled_at),
            "vaccine_doses": self.vaccine_doses,
            "antibody_igg": self.antibody_igg,
        }


@dataclass(frozen=True, slots=True)
class Evaluation:
    """The outcome for one person at one instant."""

    colour: str
    reasons: tuple[Reason, ...]
    checks: tuple[Reason, ...]
    badges: Badges
    until: datetime | None
    at: datetime
    ruleset: str  # "id@version"
    digest: str

    def key(self) -> tuple[Any, ...]:
        """What a code shows: colour, reasons, checks, badge window (for comparisons)."""
        return (
            self.colour,
            tuple(r.rule_id for r in self.reasons),
            tuple(r.rule_id for r in self.checks),
            self.badges.nat_window_hours,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "colour": self.colour,
            "reasons": [r.to_dict() for r in self.reasons],
            "checks": [r.to_dict() for r in self.checks],
            "badges": self.badges.to_dict(),
            "until": None if self.until is None else format_instant(self.until),
            "at": format_instant(self.at),
            "ruleset": self.ruleset,
            "digest": self.digest,
        }


def _as_time(value: Any, rule: Rule, what: str) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            pass
        else:  # CertLogic reads a date-time without an offset as UTC
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    raise RuleSetError(
        ErrorCode.RULE_TIME_EXPRESSION,
        f"the {what} of rule {rule.id} gave {value!r}, not a date-time",
        rule=rule.id,
    )


@dataclass(frozen=True, slots=True)
class _CompiledRule:
    rule: Rule
    condition: Callable[[Any], Any]
    until: Callable[[Any], Any] | None
    starts: Callable[[Any], Any] | None


@dataclass(frozen=True, slots=True)
class CompiledRuleSet:
    """A rule set with every expression compiled once (see :func:`compile_ruleset`)."""

    ruleset: RuleSet
    rules: tuple[_CompiledRule, ...]


@functools.lru_cache(maxsize=32)  # a process holds a handful: the national one and overlays
def compile_ruleset(ruleset: RuleSet) -> CompiledRuleSet:
    """Compile every condition, until and starts expression of ``ruleset`` (kept per object).

    Raises RuleSetError ``RULE_CERTLOGIC`` when an expression does not compile.
    """
    out = []
    for rule in ruleset.rules:
        try:
            out.append(
                _CompiledRule(
                    rule,
                    certlogic.compile(rule.condition),
                    None if rule.until is None else certlogic.compile(rule.until),
                    None if rule.starts is None else certlogic.compile(rule.starts),
                )
            )
        except CertLogicError as exc:
            raise RuleSetError(
                ErrorCode.RULE_CERTLOGIC, f"rule {rule.id}: {exc.message}", rule=rule.id
            ) from exc
    return CompiledRuleSet(ruleset, tuple(out))


def nat_window(
    windows: Iterable[int], sampled_at: datetime | None, now: datetime
) -> tuple[int | None, datetime | None]:
    """The smallest window (hours) holding ``now - sampled_at``, and the instant it ends.

    A sample in the future of ``now`` counts as just taken. ``(None, None)`` when no window
    holds it.
    """
    if sampled_at is None:
        return None, None
    for hours in sorted(windows):
        end = sampled_at + timedelta(hours=hours)
        if now < end:
            return hours, end
    return None, None


def _failed(exc: CertLogicError, rule: Rule, what: str) -> RuleSetError:
    return RuleSetError(
        ErrorCode.RULE_EVALUATION_FAILED,
        f"the {what} of rule {rule.id} failed: {exc.message}",
        rule=rule.id,
    )


def _run(fn: Callable[[Any], Any], data: Any, rule: Rule, what: str) -> Any:
    try:
        return fn(data)
    except CertLogicError as exc:
        raise _failed(exc, rule, what) from exc


def _time_of(
    fn: Callable[[Any], Any] | None,
    reads: tuple[str, ...],
    summary: Mapping[str, Any],
    data: Any,
    rule: Rule,
    what: str,
) -> datetime | None:
    if fn is None:
        return None
    for name in reads:
        if summary.get(name) is None:
            return None
    return _as_time(_run(fn, data, rule, what), rule, what)


def evaluate(ruleset: RuleSet, summary: Mapping[str, Any], *, clock: Clock) -> Evaluation:
    """Evaluate a facts document (see :mod:`healthcode.core.rules.summary`) at ``clock.now()``.

    Raises RuleSetError ``RULESET_NOT_VALID`` when ``now`` is outside the rule set's validity,
    ``RULE_EVALUATION_FAILED`` when an expression fails on these facts, and
    ``RULE_TIME_EXPRESSION`` when an until/starts expression gives no date-time.
    """
    now = ruleset.instant_of(clock)
    # ``now`` goes in as the aware datetime itself (UTC, milliseconds): CertLogic's plusTime
    # reads an aware datetime from the data as the instant its string would name.
    data = {"now": now, "facts": summary}
    reasons: list[Reason] = []
    checks: list[Reason] = []
    changes: list[datetime | None] = []
    for c in compile_ruleset(ruleset).rules:
        rule = c.rule
        if _run(c.condition, data, rule, "condition"):
            reason = _reason(
                rule, summary, _time_of(c.until, rule.until_reads, summary, data, rule, "until")
            )
            (checks if rule.effect == "check" else reasons).append(reason)
            changes.append(reason.until)
        else:
            changes.append(_time_of(c.starts, rule.starts_reads, summary, data, rule, "starts"))
    badges, window_end = _badges(ruleset, summary, now)
    later = [t for t in (*changes, window_end) if t is not None and t > now]
    reasons.sort(key=lambda r: (-SEVERITY[r.effect], r.rule_id))
    return Evaluation(
        colour=max((r.effect for r in reasons), key=SEVERITY.__getitem__, default="green"),
        reasons=tuple(reasons),
        checks=tuple(checks),
        badges=badges,
        until=min(later) if later else None,
        at=now,
        ruleset="+".join([f"{ruleset.id}@{ruleset.version}", *ruleset.overlays]),
        digest=ruleset.digest,
    )


def _reason(rule: Rule, summary: Mapping[str, Any], until: datetime | None) -> Reason:
    """Why ``rule`` holds for these facts, with the facts it read."""
    return Reason(
        rule_id=rule.id,
        rule_version=rule.version,
        origin=rule.origin,
        effect=rule.effect,
        code=rule.reason_code,
        zh=rule.reason_zh,
        en=rule.reason_en,
        until=until,
        legal_basis=rule.legal_basis,
        follow_up=rule.follow_up,
        supporting={name: summary.get(name) for name in rule.reads},
    )


def _badges(
    ruleset: RuleSet, summary: Mapping[str, Any], now: datetime
) -> tuple[Badges, datetime | None]:
    """The badges of these facts, and when the NAT window badge ends."""
    sampled = summary.get("nat_last_negative")
    sampled_at = None if sampled is None else parse_instant(sampled).astimezone(UTC)
    window, window_end = nat_window(ruleset.nat_windows_hours, sampled_at, now)
    badges = Badges(
        nat_window_hours=window,
        nat_sampled_at=sampled_at if window is not None else None,
        vaccine_doses=int(summary.get("vaccine_doses") or 0),
        antibody_igg=summary.get("antibody_igg"),
    )
    return badges, window_end


def evaluate_person(
    ruleset: RuleSet,
    facts: PersonFacts,
    risk_areas: Iterable[RiskAreaDesignation],
    *,
    clock: Clock,
) -> Evaluation:
    """Summarise a person's typed facts and evaluate them; raises as :func:`evaluate`."""
    return evaluate(ruleset, summarise(facts, risk_areas), clock=clock)
