"""The rule sets a province has used, readable by anyone (nothing about a colour is secret):
each version (the national rule set and the province's overlay) kept by its digest the first
time the province uses it, shown rule by rule, and the difference between two versions
(``core/rules/diff.py``); the risk areas the province holds.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from healthcode.core import regions
from healthcode.core.clock import Clock
from healthcode.core.error_codes import ErrorCode
from healthcode.core.errors import HealthcodeError, InvalidInput
from healthcode.core.facts import format_instant
from healthcode.core.rules import RuleSet, apply_overlay, parse_ruleset
from healthcode.core.rules.diff import diff, ruleset_view
from healthcode.province.models import RiskAreaRow
from healthcode.province.ops.models import RuleSetVersion
from healthcode.province.rules import RuleSource
from healthcode.store.db import Database

__all__ = ["RuleBook", "label_of"]

_VERSIONS_MAX = 200
_AREAS_MAX = 500
_KEPT = 16


def label_of(rs: RuleSet) -> str:
    """``id version`` and the overlays applied."""
    return " + ".join([f"{rs.id} {rs.version}", *rs.overlays])[:200]


def _t(at: datetime | None) -> str | None:
    return None if at is None else format_instant(at)


@dataclass(kw_only=True, eq=False)
class RuleBook:
    db: Database
    clock: Clock
    rules: RuleSource
    _loaded: dict[str, RuleSet] = field(default_factory=dict, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    def note(self) -> bool:
        """Keep the rule set in use if it is new here; whether it was."""
        current, national, overlay = self.rules.documents()
        with self.db.read() as s:
            if s.get(RuleSetVersion, current.digest) is not None:
                return False
        try:
            with self.db.write() as s:
                s.add(
                    RuleSetVersion(
                        digest=current.digest,
                        label=label_of(current),
                        national=dict(national.document),
                        overlay=overlay,
                        first_used_at=self.clock.now(),
                    )
                )
        except IntegrityError:  # another process kept it first
            return False
        return True

    def versions(self) -> list[dict[str, Any]]:
        """The versions used here, newest first."""
        with self.db.read() as s:
            rows = s.execute(
                select(RuleSetVersion.digest, RuleSetVersion.label, RuleSetVersion.first_used_at)
                .order_by(RuleSetVersion.first_used_at.desc(), RuleSetVersion.digest)
                .limit(_VERSIONS_MAX)
            )
            return [{"digest": d, "label": lb, "first_used_at": _t(at)} for d, lb, at in rows]

    def _load(self, digest: str) -> tuple[RuleSet, dict[str, Any] | None]:
        """Raises InvalidInput RULESET_VERSION_UNKNOWN."""
        with self.db.read() as s:
            row = s.get(RuleSetVersion, digest)
            if row is None:
                raise InvalidInput(
                    ErrorCode.RULESET_VERSION_UNKNOWN, "no rule set used here has this digest"
                )
            national, overlay = row.national, row.overlay
        with self._lock:
            kept = self._loaded.get(digest)
        if kept is None:
            kept = parse_ruleset(national)
            if overlay is not None:
                kept = apply_overlay(kept, overlay)
            with self._lock:
                if len(self._loaded) >= _KEPT:
                    self._loaded.clear()
                self._loaded[digest] = kept
        return kept, overlay

    def view(self, digest: str | None = None) -> dict[str, Any]:
        """A version (the one in use by default) rule by rule, with its overlay document and
        the list of versions."""
        self.note()
        if digest is None:
            current, _, overlay = self.rules.documents()
            rs = current
        else:
            rs, overlay = self._load(digest)
        return {
            "ruleset": ruleset_view(rs),
            "in_use": rs.digest == self.rules.current().digest,
            "overlay": overlay,
            "versions": self.versions(),
        }

    def difference(self, old: str, new: str) -> dict[str, Any]:
        """What version ``new`` says differently from ``old``. Raises InvalidInput
        RULESET_VERSION_UNKNOWN."""
        return diff(self._load(old)[0], self._load(new)[0])

    def risk_areas(self) -> dict[str, Any]:
        """The risk areas the province holds (as the hub sent them), newest first, each with
        its state now: upcoming, active, ended, lifted or cancelled."""
        now = self.clock.now()
        with self.db.read() as s:
            rows = s.execute(
                select(RiskAreaRow)
                .order_by(RiskAreaRow.effective_from.desc(), RiskAreaRow.id)
                .limit(_AREAS_MAX)
            ).scalars()
            return {"areas": [_area(r, now) for r in rows], "at": format_instant(now)}


def _area(r: RiskAreaRow, now: datetime) -> dict[str, Any]:
    if r.cancelled:
        state = "cancelled"
    elif r.lifted_at is not None and r.lifted_at <= now:
        state = "lifted"
    elif r.effective_from > now:
        state = "upcoming"
    elif r.until is not None and r.until <= now:
        state = "ended"
    else:
        state = "active"
    try:
        names = [a.name for a in reversed(regions.ancestors(r.region_code))]
    except HealthcodeError:
        names = [r.region_code]
    return {
        "id": r.id,
        "region_code": r.region_code,
        "region": " ".join(names),
        "level": r.level,
        "state": state,
        "from": _t(r.effective_from),
        "until": _t(r.until),
        "lifted_at": _t(r.lifted_at),
        "version": r.version,
    }
