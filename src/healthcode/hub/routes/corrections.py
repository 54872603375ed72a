"""Correction routes: correct or withdraw one's own record; a province withdraws a record of
a person it holds (``hub/corrections.py``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Path
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


@router.post(
    "/v1/records/{record}/holder-withdrawal",
    response_model=dict[str, Any],
    openapi_extra=permission("record:withdraw-held"),
    responses=errors(*JSON_BODY_ERRORS, 404),
)
def withdraw_held(
    record: Annotated[int, Path(ge=1, le=2**63 - 1)],
    caller: Caller,
    hub: Services,
    body: Annotated[dict[str, Any], Body()],
) -> Response:
    """A province withdraws the record ``record`` (the hub's id, as its feed gave it) of a
    person it holds, with a ``reason`` and the ``appeal`` it answers; stored as a new version
    and sent to every holder's feed."""
    return JSONResponse(hub.corrections.withdraw_held(caller, record, body))
