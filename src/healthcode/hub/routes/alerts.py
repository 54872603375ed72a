"""Alert routes: a province raises an alert (a bulk colour decision); the national staff list
them with the hub's operator token (``hub/alerts.py``)."""

from __future__ import annotations

import hmac
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from healthcode.core.error_codes import ErrorCode
from healthcode.core.errors import AccessDenied
from healthcode.hub.routes.answers import JSON_BODY_ERRORS, errors
from healthcode.hub.routes.common import AuthFirstRoute, Caller, Services, permission

__all__ = ["router"]

router = APIRouter(tags=["alerts"], route_class=AuthFirstRoute)


_BEARER = HTTPBearer(auto_error=False)


async def national_staff(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_BEARER)],
) -> None:
    """The request carries the hub's operator token (a bearer token, as OpenAPI says).
    Raises AccessDenied OPERATOR_TOKEN_INVALID (always, when the hub has none)."""
    expected = request.app.state.hub.settings.operator_token
    given = "" if credentials is None else credentials.credentials
    if not expected or not hmac.compare_digest(given.encode(), expected.encode()):
        raise AccessDenied(ErrorCode.OPERATOR_TOKEN_INVALID, "the hub's operator token is required")


@router.post(
    "/v1/alerts", openapi_extra=permission("alert:raise"), responses=errors(*JSON_BODY_ERRORS)
)
def raise_alert(
    caller: Caller, hub: Services, body: Annotated[dict[str, Any], Body()]
) -> dict[str, Any]:
    """A province raises an alert (ref, kind, decision, subjects, staff, roles, colour,
    legal_basis, code, at); the same ref again answers the stored alert."""
    return hub.alerts.raise_alert(caller, body)


@router.get("/v1/alerts", dependencies=[Depends(national_staff)], responses=errors(401, 422))
def list_alerts(
    hub: Services,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    province: Annotated[str | None, Query(pattern=r"^\d{6}$")] = None,
) -> dict[str, Any]:
    """The alerts raised, newest first (the hub's operator token)."""
    return {"alerts": hub.alerts.list(limit=limit, province=province)}
