"""Risk-area routes: a risk authority designates, changes and lifts areas; anyone with a token
lists those in force (``hub/risk_areas.py``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Path

from healthcode.hub.routes.answers import JSON_BODY_ERRORS, errors
from healthcode.hub.routes.common import AuthFirstRoute, Caller, Services, permission

__all__ = ["router"]

router = APIRouter(tags=["risk areas"], route_class=AuthFirstRoute)

_DESIGNATE = permission("risk-area:designate")
_CHANGE_ERRORS = errors(*JSON_BODY_ERRORS, 404)

AreaId = Annotated[int, Path(ge=1, le=2**62)]
Change = Annotated[dict[str, Any], Body()]


@router.post("/v1/risk-areas", openapi_extra=_DESIGNATE, responses=errors(*JSON_BODY_ERRORS))
def designate(caller: Caller, hub: Services, body: Change) -> dict[str, Any]:
    """Designate an area (region_code, level, effective_from, until, document)."""
    return hub.risk_areas.designate(caller, body)


@router.patch("/v1/risk-areas/{area_id}", openapi_extra=_DESIGNATE, responses=_CHANGE_ERRORS)
def change_area(area_id: AreaId, caller: Caller, hub: Services, body: Change) -> dict[str, Any]:
    """Change an area's level or end (document required)."""
    return hub.risk_areas.change(caller, area_id, body)


@router.post("/v1/risk-areas/{area_id}/lift", openapi_extra=_DESIGNATE, responses=_CHANGE_ERRORS)
def lift_area(area_id: AreaId, caller: Caller, hub: Services, body: Change) -> dict[str, Any]:
    """Lift an area (document required; ``at`` defaults to now)."""
    return hub.risk_areas.lift(caller, area_id, body)


@router.get("/v1/risk-areas", responses=errors(401))
def current_areas(_caller: Caller, hub: Services) -> dict[str, Any]:
    """Areas in force now."""
    return {"areas": hub.risk_areas.current()}
