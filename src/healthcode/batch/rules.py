"""Whole-population evaluation: the same CertLogic rules, compiled to Polars expressions.

One compiled form, two evaluators: :func:`healthcode.core.rules.evaluate` runs each rule's
CertLogic on one person's facts document; :func:`evaluate_frame` compiles the *same*
expressions into Polars expressions over a frame with one row per person and one column per
summary field (:data:`healthcode.core.rules.SUMMARY_FIELDS`; times as ``Datetime("ms", "UTC")``)
and gives, for every row, exactly the scalar answer: colour, reasons, pending checks, badges
and until (``tests/batch`` holds the property test).

The batch compiler supports the part of CertLogic that colour rules over a flat document
need, and refuses the rest at compile time with :class:`RuleSetError` ``BATCH_UNSUPPORTED``:
``var`` (``now`` and ``facts.<field>``), boolean/integer/string literals, literal arrays as the
right operand of ``in``, ``if``, ``and``, ``!``, ``===``, ``in``, ``+``, ``<``,
``>``, ``<=``, ``>=``, ``before``, ``after``, ``not-before``, ``not-after`` and ``plusTime``
with the units ``day`` and ``hour``. ``and`` is only accepted where its truthiness is used
(a condition, a guard, under ``!``), which is how colour rules use it.

>>> from datetime import datetime, timezone
>>> from healthcode.core.clock import FixedClock
>>> from healthcode.core.rules import baseline, empty_summary
>>> s = empty_summary(); s["close_last_exposure"] = "2022-11-18T12:00:00.000Z"
>>> out = evaluate_frame(baseline(), summaries_frame([s, empty_summary()]),
...                      clock=FixedClock(datetime(2022, 11, 20, 1, tzinfo=timezone.utc)))
>>> out["colour"].to_list(), out["reasons"].to_list()
(['red', 'green'], [['RED_CLOSE_CONTACT'], []])
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import polars as pl

from healthcode.core.clock import Clock, parse_instant
from healthcode.core.error_codes import ErrorCode
from healthcode.core.errors import RuleSetError
from healthcode.core.rules import SEVERITY, SUMMARY_FIELDS, RuleSet
from healthcode.core.rules.evaluate import Evaluation

__all__ = [
    "SCHEMA",
    "evaluate_frame",
    "frame_row_key",
    "summaries_frame",
]

#: The Polars type of each summary field.
SCHEMA: Mapping[str, pl.DataType] = {
    name: (
        pl.Datetime("ms", "UTC") if kind == "time" else pl.Int64() if kind == "int" else pl.String()
    )
    for name, (kind, _) in SUMMARY_FIELDS.items()
}

_TIME_UNITS = {"day": "d", "hour": "h"}
_DATE_CMP = {"before": "lt", "after": "gt", "not-before": "ge", "not-after": "le"}
_INT_CMP = {"<": "lt", ">": "gt", ">=": "ge", "<=": "le"}


def summaries_frame(summaries: Iterable[Mapping[str, Any]]) -> pl.DataFrame:
    """A frame of facts documents (one row per person), typed as :data:`SCHEMA`.

    Raises RuleSetError ``BATCH_INPUT`` when a time field is not a CertLogic date-time.
    """
    columns: dict[str, list[Any]] = {name: [] for name in SCHEMA}
    for s in summaries:
        for name in SCHEMA:
            value = s.get(name)
            if SUMMARY_FIELDS[name][0] == "time" and value is not None:
                try:
                    value = parse_instant(value).astimezone(UTC)
                except (ValueError, AttributeError) as exc:
                    raise RuleSetError(
                        ErrorCode.BATCH_INPUT, f"{name}: {value!r}", field=name
                    ) from exc
            columns[name].append(value)
    return pl.DataFrame(columns, schema=dict(SCHEMA))


@dataclass(frozen=True, slots=True)
class _Typed:
    expr: pl.Expr
    kind: str  # "bool" | "int" | "str" | "timestr" (a time field) | "date" | "list" | "nowstr"
    values: tuple[Any, ...] = ()  # for literal lists


def _unsupported(what: str, path: str) -> RuleSetError:
    return RuleSetError(
        ErrorCode.BATCH_UNSUPPORTED,
        f"{path}: the batch evaluator does not support {what}",
        path=path,
    )


class _Compiler:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def truthy(self, expr: Any, path: str) -> pl.Expr:
        """A non-null boolean expression: whether ``expr`` is truthy for each row."""
        if isinstance(expr, dict) and len(expr) == 1:
            op, args = next(iter(expr.items()))
            if op == "and":
                self._arity(args, path, at_least=2)
                out = self.truthy(args[0], f"{path}/and/0")
                for i, a in enumerate(args[1:], 1):
                    out = out & self.truthy(a, f"{path}/and/{i}")
                return out
            if op == "!":
                return ~self.truthy(args[0], f"{path}/!/0")
            if op == "!!":
                return self.truthy(args[0], f"{path}/!!/0")
            if op == "if":
                self._arity(args, path, exactly=3)
                return (
                    pl.when(self.truthy(args[0], f"{path}/if/0"))
                    .then(self.truthy(args[1], f"{path}/if/1"))
                    .otherwise(self.truthy(args[2], f"{path}/if/2"))
                )
        t = self.value(expr, path)
        if t.kind == "bool":
            return t.expr.fill_null(False)
        if t.kind == "int":
            return (t.expr != 0).fill_null(False)
        if t.kind == "str":
            return (t.expr.str.len_chars() > 0).fill_null(False)
        if t.kind == "timestr":
            return t.expr.is_not_null()
        if t.kind == "list" and t.values:
            return pl.lit(True)
        raise _unsupported(f"the truthiness of a {t.kind}", path)

    @staticmethod
    def _arity(args: Any, path: str, *, exactly: int = 0, at_least: int = 0) -> None:
        if not isinstance(args, list) or (exactly and len(args) != exactly) or len(args) < at_least:
            raise _unsupported("this number of operands", path)

    def value(self, expr: Any, path: str) -> _Typed:
        """The typed Polars expression of ``expr``; see the module docstring for the subset."""
        if isinstance(expr, bool):
            return _Typed(pl.lit(expr), "bool")
        if isinstance(expr, int):
            return _Typed(pl.lit(expr, dtype=pl.Int64), "int")
        if isinstance(expr, str):
            return _Typed(pl.lit(expr, dtype=pl.String), "str")
        if isinstance(expr, list):
            if all(isinstance(v, str | int) and not isinstance(v, bool) for v in expr):
                return _Typed(pl.lit(None), "list", tuple(expr))
            raise _unsupported("an array of non-literals", path)
        if not isinstance(expr, dict) or len(expr) != 1:
            raise _unsupported(repr(expr), path)
        op, args = next(iter(expr.items()))
        sub = f"{path}/{op}"
        if op in ("!", "!!"):
            return _Typed(self.truthy(expr, path), "bool")
        if op in _DATE_CMP or op in _INT_CMP:
            return self._compare(op, args, sub)
        operation = self._OPERATIONS.get(op)
        if operation is None:
            raise _unsupported(f"the operation {op!r}", sub)
        return operation(self, args, sub)

    def _var(self, args: Any, sub: str) -> _Typed:
        if args == "now":
            return _Typed(pl.lit(self.now), "nowstr")
        if isinstance(args, str) and args.startswith("facts."):
            name = args.removeprefix("facts.")
            if name not in SUMMARY_FIELDS:
                raise _unsupported(f"the unknown field {name!r}", sub)
            kind = SUMMARY_FIELDS[name][0]
            return _Typed(pl.col(name), "timestr" if kind == "time" else kind)
        raise _unsupported(f"the var path {args!r}", sub)

    def _and(self, args: Any, sub: str) -> _Typed:
        raise _unsupported("the value of 'and' (only its truthiness)", sub)

    def _if(self, args: Any, sub: str) -> _Typed:
        self._arity(args, sub, exactly=3)
        guard = self.truthy(args[0], f"{sub}/0")
        a, b = self.value(args[1], f"{sub}/1"), self.value(args[2], f"{sub}/2")
        if a.kind != b.kind or a.kind == "list":
            raise _unsupported("'if' branches of different types", sub)
        return _Typed(pl.when(guard).then(a.expr).otherwise(b.expr), a.kind)

    def _plus_time(self, args: Any, sub: str) -> _Typed:
        self._arity(args, sub, exactly=3)
        base = self.value(args[0], f"{sub}/0")
        amount, unit = args[1], args[2]
        if base.kind not in ("nowstr", "timestr"):
            raise _unsupported(f"plusTime on a {base.kind}", sub)
        if unit not in _TIME_UNITS or isinstance(amount, bool) or not isinstance(amount, int):
            raise _unsupported(f"plusTime by {amount!r} {unit!r}", sub)
        if base.kind == "nowstr":
            delta = timedelta(days=amount) if unit == "day" else timedelta(hours=amount)
            return _Typed(pl.lit(self.now + delta, dtype=pl.Datetime("ms", "UTC")), "date")
        return _Typed(base.expr.dt.offset_by(f"{amount}{_TIME_UNITS[unit]}"), "date")

    def _compare(self, op: str, args: Any, sub: str) -> _Typed:
        if not isinstance(args, list) or len(args) not in (2, 3):
            raise _unsupported("this number of operands", sub)
        want = "date" if op in _DATE_CMP else "int"
        ops = [self.value(a, f"{sub}/{i}") for i, a in enumerate(args)]
        if any(o.kind != want for o in ops):
            raise _unsupported(f"{op} on {[o.kind for o in ops]}", sub)
        method = _DATE_CMP.get(op) or _INT_CMP[op]
        out = getattr(ops[0].expr, method)(ops[1].expr)
        if len(ops) == 3:
            out = out & getattr(ops[1].expr, method)(ops[2].expr)
        return _Typed(out, "bool")

    def _operands(self, args: Any, sub: str) -> tuple[_Typed, _Typed]:
        self._arity(args, sub, exactly=2)
        return self.value(args[0], f"{sub}/0"), self.value(args[1], f"{sub}/1")

    def _equals(self, args: Any, sub: str) -> _Typed:
        a, b = self._operands(args, sub)
        if a.kind not in ("str", "int", "bool") or b.kind not in ("str", "int", "bool"):
            raise _unsupported(f"=== on {a.kind} and {b.kind}", sub)
        if a.kind != b.kind:
            return _Typed(pl.lit(False), "bool")
        return _Typed(a.expr.eq_missing(b.expr), "bool")

    def _in(self, args: Any, sub: str) -> _Typed:
        item, array = self._operands(args, sub)
        if array.kind != "list" or item.kind not in ("str", "int"):
            raise _unsupported("'in' other than a field in a literal array", sub)
        same = [v for v in array.values if isinstance(v, str) == (item.kind == "str")]
        if not same:
            return _Typed(pl.lit(False), "bool")
        return _Typed(item.expr.is_in(same).fill_null(False), "bool")

    def _plus(self, args: Any, sub: str) -> _Typed:
        a, b = self._operands(args, sub)
        if a.kind != "int" or b.kind != "int":
            raise _unsupported("'+' on anything but integers", sub)
        return _Typed(a.expr + b.expr, "int")

    _OPERATIONS: Final[dict[str, Callable[[_Compiler, Any, str], _Typed]]] = {
        "var": _var,
        "and": _and,
        "if": _if,
        "plusTime": _plus_time,
        "===": _equals,
        "in": _in,
        "+": _plus,
    }


def _time_when_present(c: _Compiler, expr: Any, reads: tuple[str, ...], path: str) -> pl.Expr:
    t = c.value(expr, path)
    if t.kind != "date":
        raise _unsupported(f"an until/starts of type {t.kind}", path)
    present = pl.lit(True)
    for name in reads:
        present = present & pl.col(name).is_not_null()
    return pl.when(present).then(t.expr).otherwise(None)


def evaluate_frame(
    ruleset: RuleSet, frame: pl.DataFrame, *, clock: Clock, lists: bool = True
) -> pl.DataFrame:
    """Evaluate every row of ``frame`` (typed as :data:`SCHEMA`) at ``clock.now()``.

    Returns a frame with ``colour``, ``reason_mask`` and ``check_mask`` (bit *i* set when the
    *i*-th rule of ``ruleset.rules`` holds), ``until`` and the badges ``nat_window_hours``,
    ``vaccine_doses``, ``antibody_igg``; with ``lists`` also ``reasons`` and ``checks`` (rule
    ids in the order of :func:`healthcode.core.rules.evaluate`).

    Raises RuleSetError ``RULESET_NOT_VALID`` (as the scalar evaluator), ``BATCH_UNSUPPORTED``
    for an expression outside the supported subset, and ``BATCH_INPUT`` when a column is
    missing or of the wrong type.
    """
    now = ruleset.instant_of(clock)
    for name, dtype in SCHEMA.items():
        if name not in frame.columns or frame.schema[name] != dtype:
            raise RuleSetError(ErrorCode.BATCH_INPUT, f"column {name} must be {dtype}", field=name)
    if len(ruleset.rules) > 63:
        raise _unsupported("more than 63 rules (the masks are 64-bit)", "rules")
    now_lit = pl.lit(now, dtype=pl.Datetime("ms", "UTC"))
    matched, changes = _rules(ruleset, _Compiler(now), now_lit)
    window, window_end = _nat_window(ruleset, now_lit)
    out = frame.select(
        _colour(ruleset, matched).alias("colour"),
        _mask(ruleset, matched, {"green", "yellow", "red"}).alias("reason_mask"),
        _mask(ruleset, matched, {"check"}).alias("check_mask"),
        pl.min_horizontal([*changes, window_end]).alias("until"),
        window.alias("nat_window_hours"),
        pl.col("vaccine_doses").fill_null(0).alias("vaccine_doses"),
        pl.col("antibody_igg"),
    )
    if lists:
        out = out.with_columns(
            _ids(out["reason_mask"], _reason_order(ruleset)).alias("reasons"),
            _ids(
                out["check_mask"],
                [(i, r.id) for i, r in enumerate(ruleset.rules) if r.effect == "check"],
            ).alias("checks"),
        )
    return out


def _rules(ruleset: RuleSet, c: _Compiler, now_lit: pl.Expr) -> tuple[list[pl.Expr], list[pl.Expr]]:
    """Whether each rule holds, and the times at which one would change its answer."""
    matched: list[pl.Expr] = []
    changes: list[pl.Expr] = []
    for rule in ruleset.rules:
        m = c.truthy(rule.condition, f"{rule.id}/condition")
        matched.append(m)
        if rule.until is not None:
            u = _time_when_present(c, rule.until, rule.until_reads, f"{rule.id}/until")
            changes.append(pl.when(m & (u > now_lit)).then(u))
        if rule.starts is not None:
            s = _time_when_present(c, rule.starts, rule.starts_reads, f"{rule.id}/starts")
            changes.append(pl.when(~m & (s > now_lit)).then(s))
    return matched, changes


def _colour(ruleset: RuleSet, matched: list[pl.Expr]) -> pl.Expr:
    """The most severe colour of the rules that hold; green when none does."""
    colour = pl.lit("green")
    levels = {r.effect for r in ruleset.rules if r.effect in SEVERITY} - {"green"}
    for level in sorted(levels, key=SEVERITY.__getitem__):
        any_level = pl.lit(False)
        for m, rule in zip(matched, ruleset.rules, strict=True):
            if rule.effect == level:
                any_level = any_level | m
        colour = pl.when(any_level).then(pl.lit(level)).otherwise(colour)
    return colour


def _mask(ruleset: RuleSet, matched: list[pl.Expr], effects: set[str]) -> pl.Expr:
    """Bit *i* set when the *i*-th rule holds and has one of these effects."""
    out = pl.lit(0, dtype=pl.Int64)
    for i, (m, rule) in enumerate(zip(matched, ruleset.rules, strict=True)):
        if rule.effect in effects:
            out = out + pl.when(m).then(pl.lit(1 << i, dtype=pl.Int64)).otherwise(0)
    return out


def _nat_window(ruleset: RuleSet, now_lit: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """The NAT badge: the smallest window holding the latest negative sample, and its end."""
    sample = pl.col("nat_last_negative")
    window = pl.lit(None, dtype=pl.Int64)
    window_end = pl.lit(None, dtype=pl.Datetime("ms", "UTC"))
    for hours in sorted(ruleset.nat_windows_hours, reverse=True):
        end = sample.dt.offset_by(f"{hours}h")
        inside = (now_lit < end).fill_null(False)
        window = pl.when(inside).then(pl.lit(hours, dtype=pl.Int64)).otherwise(window)
        window_end = pl.when(inside).then(end).otherwise(window_end)
    return window, window_end


def _reason_order(ruleset: RuleSet) -> list[tuple[int, str]]:
    colour_rules = [(i, r) for i, r in enumerate(ruleset.rules) if r.effect in SEVERITY]
    colour_rules.sort(key=lambda p: (-SEVERITY[p[1].effect], p[1].id))
    return [(i, r.id) for i, r in colour_rules]


def _ids(masks: pl.Series, order: list[tuple[int, str]]) -> pl.Series:
    """Rule ids per row from a bit mask, in ``order``; rows share lists by distinct mask."""
    names: dict[int, list[str]] = {}
    for m in masks.unique().to_list():
        names[m] = [rid for i, rid in order if m >> i & 1]
    return masks.replace_strict(list(names), list(names.values()), return_dtype=pl.List(pl.String))


def frame_row_key(row: Mapping[str, Any]) -> tuple[Any, ...]:
    """What :meth:`Evaluation.key` gives, plus until, for a row of :func:`evaluate_frame`."""
    return (
        row["colour"],
        tuple(row["reasons"]),
        tuple(row["checks"]),
        row["nat_window_hours"],
        row["until"],
    )


def scalar_key(result: Evaluation) -> tuple[Any, ...]:
    """The same key for a scalar evaluation (for comparing the two evaluators)."""
    return (*result.key(), result.until)
