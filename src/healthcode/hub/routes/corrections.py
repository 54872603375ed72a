"""Correction routes: correct or withdraw one's own record (``hub/corrections.py``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body
from fastapi.responses import JSONResponse, Response

from healthcode.hub.routes.answers import JSON_BODY_ERRORS, errors
from healthcode.hub.routes.common import AuthFirstRoute, Caller, Kind, Services, permission

__all__ = ["router"]

router = APIRouter(tags=["ingest"], route_class=AuthFirstRoute)


@router.post(
    "/v1/records/{kind}/corrections",
    response_model=dict[str, Any],
    openapi_extra=permission("submit:{kind}"),
    responses=errors(*JSON_BODY_ERRORS, 404),
)
def correct(
    kind: Kind, caller: Caller, hub: Services, body: Annotated[dict[str, Any], Body()]
) -> Response:
    """Correct (``action: "correct"``, ``record``) or withdraw (``action: "withdraw"``) one's
    own record by ``record_id``, with a ``reason``; stored as a new version."""
    return JSONResponse(hub.corrections.submit(caller, kind.value, body))
