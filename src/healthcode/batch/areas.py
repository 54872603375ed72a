"""Risk-area matching on columns: the three visit fields of the facts document for many people.

:func:`area_visits` gives, from a frame of visits (``pseudonym``, ``region_code``, ``at``,
``source``) and the current risk-area designations, per person the fields
``high_area_last_visit``, ``medium_area_last_visit`` and ``coarse_risk_area_last_visit``
exactly as :func:`healthcode.core.rules.area_facts` computes them one person at a time
(``tests/batch`` holds the property test): a visit counts when a high- or medium-risk
designation ``covers`` it (its region is the designated one or lies inside it, GB/T 2260, and
its time is in ``[effective_from, lifted_at)``); a visit of a coarse source goes to the coarse
field, a precise one to the high field when a high designation covers it, else to the medium.

Containment is a join: each distinct region code of the visits is expanded once to its chain
of ancestors (``core.regions.ancestors``), and the chain is joined to the designations. A code
unknown to the region table matches only a designation of exactly that code.

:func:`visit_lookback` is how far back a visit can still change a colour under a rule set,
and :func:`region_and_below` the codes a designation covers (for the ``(region_code, at)``
index).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

import polars as pl

from healthcode.core import regions
from healthcode.core.errors import InvalidInput
from healthcode.core.facts import PRECISE_SOURCES, RiskAreaDesignation
from healthcode.core.rules import AREA_FIELDS, RuleSet

__all__ = ["AREA_FIELDS", "area_visits", "counted_regions", "region_and_below", "visit_lookback"]

_TIME = pl.Datetime("us", "UTC")
_UNITS = {"day": timedelta(days=1), "hour": timedelta(hours=1)}


def _chain(code: str) -> list[str]:
    try:
        return [r.code for r in regions.ancestors(code)]
    except InvalidInput:
        return [code]


def _designations(risk_areas: Iterable[RiskAreaDesignation]) -> pl.DataFrame:
    rows = [
        (a.region_code, a.level == "high", a.effective_from, a.lifted_at)
        for a in risk_areas
        if a.level in ("high", "medium")
    ]
    return pl.DataFrame(
        rows,
        schema={"area": pl.String, "high": pl.Boolean, "start": _TIME, "end": _TIME},
        orient="row",
    )


def area_visits(visits: pl.DataFrame, risk_areas: Iterable[RiskAreaDesignation]) -> pl.DataFrame:
    """Per person of ``visits`` (each once), the three :data:`AREA_FIELDS` (``Datetime("ms",
    "UTC")``, null when no visit counts); see the module docstring."""
    areas = _designations(risk_areas)
    v = visits.select("pseudonym", "region_code", "at", "source").with_row_index("visit")
    codes = v["region_code"].unique().to_list()
    chains = pl.DataFrame(
        {"region_code": codes, "area": [_chain(c) for c in codes]},
        schema={"region_code": pl.String, "area": pl.List(pl.String)},
    ).explode("area")
    at = pl.col("at").cast(_TIME)
    covered = (
        v.join(chains, on="region_code")
        .join(areas, on="area")
        .filter((at >= pl.col("start")) & (pl.col("end").is_null() | (at < pl.col("end"))))
        .group_by("visit")
        .agg(
            pl.col("pseudonym").first(),
            pl.col("at").first(),
            pl.col("source").first(),
            pl.col("high").any(),
        )
    )
    precise = pl.col("source").is_in(list(PRECISE_SOURCES))
    ms = pl.col("at").cast(_TIME).dt.cast_time_unit("ms")
    per_person = covered.group_by("pseudonym").agg(
        ms.filter(precise & pl.col("high")).max().alias(AREA_FIELDS[0]),
        ms.filter(precise & ~pl.col("high")).max().alias(AREA_FIELDS[1]),
        ms.filter(~precise).max().alias(AREA_FIELDS[2]),
    )
    people = v.select("pseudonym").unique()
    return people.join(per_person, on="pseudonym", how="left")


def region_and_below(code: str) -> list[str]:
    """``code`` and every region inside it (what a designation of ``code`` covers).

    Raises InvalidInput ``REGION_FORMAT`` / ``REGION_UNKNOWN`` as ``core.regions.lookup``.
    """
    out = [code]
    for child in regions.children(code):
        out.extend(region_and_below(child.code))
    return out


def counted_regions(
    risk_areas: Iterable[RiskAreaDesignation],
) -> tuple[list[str], datetime | None]:
    """The region codes a visit must have for a designation among ``risk_areas`` to count it
    (high and medium ones: their regions and every region inside), and the earliest start of
    those designations (``None`` when there are none): visits outside both never count."""
    counted = [a for a in risk_areas if a.level in ("high", "medium")]
    codes: set[str] = set()
    for a in counted:
        try:
            codes.update(region_and_below(a.region_code))
        except InvalidInput:
            codes.add(a.region_code)  # ``covers`` still matches the code itself
    start = min((a.effective_from for a in counted), default=None)
    return sorted(codes), start


def _offsets(expr: Any, fields: frozenset[str]) -> Iterable[tuple[str, Any, Any]]:
    """Every ``plusTime`` of ``expr`` applied to one of ``fields``: (field, amount, unit)."""
    if isinstance(expr, list):
        for e in expr:
            yield from _offsets(e, fields)
    elif isinstance(expr, dict):
        for op, args in expr.items():
            if op == "plusTime" and isinstance(args, list) and len(args) == 3:
                base = args[0]
                if isinstance(base, dict) and isinstance(base.get("var"), str):
                    name = base["var"].removeprefix("facts.")
                    if name in fields:
                        yield name, args[1], args[2]
            yield from _offsets(args, fields)


def visit_lookback(ruleset: RuleSet) -> timedelta | None:
    """How long after a visit in a risk area a rule of ``ruleset`` can still hold because of it:
    the longest ``plusTime`` any rule adds to one of :data:`AREA_FIELDS`. ``None`` (no bound:
    every visit ever) when a rule reads one of them without such an offset, or with one that is
    not a literal number of days or hours.
    """
    fields = frozenset(AREA_FIELDS)
    longest = timedelta(0)
    for rule in ruleset.rules:
        reads = {*rule.reads, *rule.until_reads, *rule.starts_reads} & fields
        if not reads:
            continue
        found = list(_offsets([rule.condition, rule.until, rule.starts], fields))
        if {name for name, _, _ in found} != reads:
            return None
        for _, amount, unit in found:
            if isinstance(amount, bool) or not isinstance(amount, int) or unit not in _UNITS:
                return None
            longest = max(longest, amount * _UNITS[unit])
    return longest
