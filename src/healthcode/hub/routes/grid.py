"""Grid routes: a province hands a task over to the province of the person's residence
(``hub/grid.py``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body

from healthcode.hub.routes.answers import JSON_BODY_ERRORS, errors
from healthcode.hub.routes.common import AuthFirstRoute, Caller, Services, permission

__all__ = ["router"]

router = APIRouter(tags=["grid"], route_class=AuthFirstRoute)


@router.post(
    "/v1/grid/handovers",
    openapi_extra=permission("grid:handover"),
    responses=errors(*JSON_BODY_ERRORS),
)
def hand_over(
    caller: Caller, hub: Services, handovers: Annotated[list[Any], Body(embed=True)]
) -> dict[str, Any]:
    """Tasks of people the province holds who live in another province, each passed to that
    province's feed as a ``grid_task`` entry."""
    return {"accepted": hub.grid.hand_over(caller, handovers)}
