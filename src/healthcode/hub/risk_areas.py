"""Risk areas: a risk authority designates, changes, lifts and cancels areas inside its own
region; every change goes to every province's feed, in the same transaction.

A designation announced for later (``effective_from`` still ahead) is cancelled by a lift at or
before its ``effective_from``: it is kept with ``cancelled_at`` set, sent to every province as a
``cancelled`` change, and no longer listed. A designation already in force cannot be lifted at
or before its ``effective_from`` (``LIFTED_BEFORE_EFFECTIVE``): it was in force, and that is not
undone retroactively."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from healthcode.core import facts
from healthcode.core.clock import Clock
from healthcode.core.error_codes import ErrorCode
from healthcode.core.errors import InvalidInput
from healthcode.hub.access import require, require_within_region
from healthcode.hub.feeds import ALL_PROVINCES, Feeds, NewEntry
from healthcode.hub.fields import required_text, time_field
from healthcode.hub.orgs import Principal
from healthcode.store.db import Database
from healthcode.store.models import RiskArea

__all__ = ["RiskAreaService", "area_dict"]

_DOC_MAX = 500


def area_dict(a: RiskArea) -> dict[str, Any]:
    return {
        "id": a.id,
        "region_code": a.region_code,
        "level": a.level,
        "effective_from": a.valid_from.isoformat(),
        "until": a.valid_to.isoformat() if a.valid_to else None,
        "lifted_at": a.lifted_at.isoformat() if a.lifted_at else None,
        "cancelled_at": a.cancelled_at.isoformat() if a.cancelled_at else None,
        "document": a.document,
        "version": a.version,
        "updated_at": a.updated_at.isoformat(),
    }


def _check_until(until: datetime | None, effective_from: datetime) -> None:
    if until is not None and until <= effective_from:
        raise InvalidInput(
            ErrorCode.UNTIL_BEFORE_FROM, "until is not after effective_from", field="until"
        )


def _document(raw: dict[str, Any]) -> str:
    return required_text(raw, "document", _DOC_MAX, what="the decision a change rests on")


@dataclass(kw_only=True, eq=False)
class RiskAreaService:
    db: Database
    clock: Clock
    feeds: Feeds

    def designate(self, principal: Principal, raw: dict[str, Any]) -> dict[str, Any]:
        """Raises AccessDenied KIND_NOT_ALLOWED, REGION_NOT_OWN; InvalidInput (core.facts codes,
        FIELD_MISSING document, UNTIL_BEFORE_FROM)."""
        require(principal, "risk-area:designate")
        checked = facts.RiskAreaDesignation.from_dict(
            {k: raw.get(k) for k in ("region_code", "level", "effective_from")}, clock=self.clock
        )
        require_within_region(principal, checked.region_code)
        document = _document(raw)
        until = time_field(raw, "until")
        _check_until(until, checked.effective_from)
        now = self.clock.now()
        with self.db.write() as s:
            area = RiskArea(
                region_code=checked.region_code,
                level=checked.level,
                valid_from=checked.effective_from,
                valid_to=until,
                document=document,
                org_id=principal.org_id,
                version=0,  # _publish makes it version 1
                updated_at=now,
            )
            s.add(area)
            return self._publish(s, area, "designated", document, now)

    def change(self, principal: Principal, area_id: int, raw: dict[str, Any]) -> dict[str, Any]:
        """Change level or end of an area; Raises RISK_AREA_UNKNOWN, RISK_AREA_LIFTED, ..."""
        require(principal, "risk-area:designate")
        document = _document(raw)
        level = raw.get("level")
        if level is not None and level not in facts.RISK_LEVELS:
            raise InvalidInput(
                ErrorCode.VALUE_NOT_IN_SET, "level is high, medium or low", field="level"
            )
        until = time_field(raw, "until")
        now = self.clock.now()
        with self.db.write() as s:
            area = self._get_open(s, principal, area_id)
            _check_until(until, area.valid_from)
            if level is not None:
                area.level = level
            if "until" in raw:
                area.valid_to = until
            return self._publish(s, area, "changed", document, now)

    def lift(self, principal: Principal, area_id: int, raw: dict[str, Any]) -> dict[str, Any]:
        """Lift an area at ``at`` (default now); a lift at or before ``effective_from`` of an
        area not yet in force cancels it. Raises RISK_AREA_UNKNOWN, RISK_AREA_LIFTED,
        RISK_AREA_CANCELLED, LIFTED_BEFORE_EFFECTIVE (an area already in force)."""
        require(principal, "risk-area:designate")
        document = _document(raw)
        at = time_field(raw, "at")
        now = self.clock.now()
        with self.db.write() as s:
            area = self._get_open(s, principal, area_id)
            lifted = at or now
            if lifted <= area.valid_from and now < area.valid_from:
                area.cancelled_at = now
                return self._publish(s, area, "cancelled", document, now)
            if lifted <= area.valid_from:
                raise InvalidInput(
                    ErrorCode.LIFTED_BEFORE_EFFECTIVE,
                    "lifted_at is not after effective_from",
                    field="at",
                )
            area.lifted_at = lifted
            return self._publish(s, area, "lifted", document, now)

    def _get_open(self, s: Session, principal: Principal, area_id: int) -> RiskArea:
        area = s.get(RiskArea, area_id, with_for_update=True)
        if area is None:
            raise InvalidInput(ErrorCode.RISK_AREA_UNKNOWN, f"no risk area {area_id}")
        require_within_region(principal, area.region_code)
        if area.lifted_at is not None:
            raise InvalidInput(ErrorCode.RISK_AREA_LIFTED, "the area was lifted; designate it anew")
        if area.cancelled_at is not None:
            raise InvalidInput(
                ErrorCode.RISK_AREA_CANCELLED, "the designation was cancelled; designate it anew"
            )
        return area

    def _publish(
        self, s: Session, area: RiskArea, action: str, document: str, now: datetime
    ) -> dict[str, Any]:
        """A new version of ``area``, resting on ``document``, sent to every province's feed
        as ``action``; the area as answered."""
        area.document = document
        area.version += 1
        area.updated_at = now
        s.flush()
        data = {"action": action, **area_dict(area)}
        entries = [NewEntry(p, "risk_area", area.id, data) for p in ALL_PROVINCES]
        self.feeds.append(s, entries, now=now)
        return area_dict(area)

    def current(self) -> list[dict[str, Any]]:
        """Areas not lifted, not cancelled and not past their end (also those announced for
        later)."""
        now = self.clock.now()
        with self.db.read() as s:
            rows = (
                s.execute(
                    select(RiskArea)
                    .where(RiskArea.lifted_at.is_(None), RiskArea.cancelled_at.is_(None))
                    .order_by(RiskArea.id)
                )
                .scalars()
                .all()
            )
            return [area_dict(a) for a in rows if a.valid_to is None or a.valid_to > now]
