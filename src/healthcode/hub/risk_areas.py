"""Risk areas: a risk authority designates, changes, lifts and cancels areas inside its own
region; every change goes to every province's feed, in the same transaction.

A designation announced for later (``effective_from`` still ahead) is cancelled by a lift at or
before its ``effective_from``: it is kept with ``cancelled_at`` set, sent to every province as a
``cancelled`` change, and no longer listed. A designation already in force cannot be lifted at
or before its ``effective_from`` (``LIFTED_BEFORE_EFFECTIVE``): it was in force, and that is not
undone retroactively."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from healthcode.core import facts
from healthcode.core.clock import Clock, parse_instant
from healthcode.core.error_codes import ErrorCode
from healthcode.core.errors import InvalidInput
from healthcode.hub import feeds
from healthcode.hub.access import require, require_within_region
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


def _document(raw: dict[str, Any]) -> str:
    doc = raw.get("document")
    if not isinstance(doc, str) or not doc.strip():
        raise InvalidInput(
            ErrorCode.FIELD_MISSING,
            "document: the decision a change rests on is required",
            field="document",
        )
    if len(doc) > _DOC_MAX:
        raise InvalidInput(
            ErrorCode.FIELD_TOO_LONG, f"document is longer than {_DOC_MAX}", field="document"
        )
    return doc.strip()


def _optional_time(raw: dict[str, Any], name: str) -> datetime | None:
    value = raw.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidInput(ErrorCode.TIME_FORMAT, f"{name} must be an ISO 8601 time", field=name)
    try:
        return parse_instant(value)
    except ValueError as exc:
        raise InvalidInput(ErrorCode.TIME_FORMAT, f"{name} is not ISO 8601", field=name) from exc


class RiskAreaService:
    def __init__(self, *, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    def designate(self, principal: Principal, raw: dict[str, Any]) -> dict[str, Any]:
        """Raises AccessDenied KIND_NOT_ALLOWED, REGION_NOT_OWN; InvalidInput (core.facts codes,
        FIELD_MISSING document, UNTIL_BEFORE_FROM)."""
        require(principal, "risk-area:designate")
        checked = facts.RiskAreaDesignation.from_dict(
            {k: raw.get(k) for k in ("region_code", "level", "effective_from")}, clock=self.clock
        )
        require_within_region(principal, checked.region_code)
        document = _document(raw)
        until = _optional_time(raw, "until")
        if until is not None and until <= checked.effective_from:
            raise InvalidInput(
                ErrorCode.UNTIL_BEFORE_FROM, "until is not after effective_from", field="until"
            )
        now = self.clock.now()
        with self.db.write() as s:
            area = RiskArea(
                region_code=checked.region_code,
                level=checked.level,
                valid_from=checked.effective_from,
                valid_to=until,
                document=document,
                org_id=principal.org_id,
                version=1,
                updated_at=now,
            )
            s.add(area)
            s.flush()
            self._publish(s, area, "designated", now)
            return area_dict(area)

    def change(self, principal: Principal, area_id: int, raw: dict[str, Any]) -> dict[str, Any]:
        """Change level or end of an area; Raises RISK_AREA_UNKNOWN, RISK_AREA_LIFTED, ..."""
        require(principal, "risk-area:designate")
        document = _document(raw)
        level = raw.get("level")
        if level is not None and level not in facts.RISK_LEVELS:
            raise InvalidInput(
                ErrorCode.VALUE_NOT_IN_SET, "level is high, medium or low", field="level"
            )
        until = _optional_time(raw, "until")
        now = self.clock.now()
        with self.db.write() as s:
            area = self._get_open(s, principal, area_id)
            if until is not None and until <= area.valid_from:
                raise InvalidInput(
                    ErrorCode.UNTIL_BEFORE_FROM, "until is not after effective_from", field="until"
                )
            if level is not None:
                area.level = level
            if "until" in raw:
                area.valid_to = until
            area.document = document
            area.version += 1
            area.updated_at = now
            self._publish(s, area, "changed", now)
            return area_dict(area)

    def lift(self, principal: Principal, area_id: int, raw: dict[str, Any]) -> dict[str, Any]:
        """Lift an area at ``at`` (default now); a lift at or before ``effective_from`` of an
        area not yet in force cancels it. Raises RISK_AREA_UNKNOWN, RISK_AREA_LIFTED,
        RISK_AREA_CANCELLED, LIFTED_BEFORE_EFFECTIVE (an area already in force)."""
        require(principal, "risk-area:designate")
        document = _document(raw)
        at = _optional_time(raw, "at")
        now = self.clock.now()
        with self.db.write() as s:
            area = self._get_open(s, principal, area_id)
            lifted = at or now
            if lifted <= area.valid_from and now < area.valid_from:
                area.cancelled_at = now
                area.document = document
                area.version += 1
                area.updated_at = now
                self._publish(s, area, "cancelled", now)
                return area_dict(area)
            if lifted <= area.valid_from:
                raise InvalidInput(
                    ErrorCode.LIFTED_BEFORE_EFFECTIVE,
                    "lifted_at is not after effective_from",
                    field="at",
                )
            area.lifted_at = lifted
            area.document = document
            area.version += 1
            area.updated_at = now
            self._publish(s, area, "lifted", now)
            return area_dict(area)

    def _get_open(self, s: Any, principal: Principal, area_id: int) -> RiskArea:
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
        assert isinstance(area, RiskArea)
        return area

    @staticmethod
    def _publish(s: Any, area: RiskArea, action: str, now: datetime) -> None:
        data = {"action": action, **area_dict(area)}
        feeds.append(
            s,
            [
                feeds.NewEntry(province=p, kind="risk_area", ref_id=area.id, payload=data)
                for p in feeds.ALL_PROVINCES
            ],
            now=now,
        )

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
