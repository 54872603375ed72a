"""Registration and status routes: provinces register people, end their registrations and
report code status; any checkpoint asks for a code's or a person's status (``hub/status.py``).

The two status reads are async: they run on the event loop (``hub/status_query.py``: async
psycopg on PostgreSQL, no thread hop) and answer a ``JSONResponse`` themselves (the same bytes
FastAPI would make of the dict, without checking it against ``response_model``, which stays
for OpenAPI).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query
from fastapi.responses import JSONResponse, Response

from healthcode.core.error_codes import ErrorCode
from healthcode.core.errors import InvalidInput
from healthcode.hub.routes.answers import JSON_BODY_ERRORS, errors
from healthcode.hub.routes.common import AuthFirstRoute, Caller, Services, permission

__all__ = ["router"]

router = APIRouter(tags=["status"], route_class=AuthFirstRoute)

#: People or status reports, at most ``HEALTHCODE_ITEMS_MAX`` a request.
Items = Annotated[list[dict[str, Any]], Body(embed=True)]


def _within(items: list[dict[str, Any]], hub: Services) -> list[dict[str, Any]]:
    """Raises InvalidInput BATCH_TOO_LARGE beyond ``HEALTHCODE_ITEMS_MAX`` items."""
    limit = hub.settings.items_max
    if len(items) > limit:
        raise InvalidInput(
            ErrorCode.BATCH_TOO_LARGE, f"{len(items)} items; at most {limit} a request", limit=limit
        )
    return items


@router.post(
    "/v1/registrations",
    openapi_extra=permission("registration:report"),
    responses=errors(*JSON_BODY_ERRORS),
)
def register(caller: Caller, hub: Services, people: Items) -> dict[str, Any]:
    """A province registers the people whose codes it issues, each with a ``reason``
    (residence, the default; stay; work). Other provinces holding them keep them."""
    return {"pseudonyms": hub.status.register(caller, _within(people, hub))}


@router.post(
    "/v1/registrations/end",
    openapi_extra=permission("registration:report"),
    responses=errors(*JSON_BODY_ERRORS, 404),
)
def end_registrations(caller: Caller, hub: Services, people: Items) -> dict[str, Any]:
    """A province ends its own registrations of these people (a stay is over)."""
    return hub.status.end(caller, _within(people, hub))


@router.post(
    "/v1/status", openapi_extra=permission("status:report"), responses=errors(*JSON_BODY_ERRORS)
)
def report_status(caller: Caller, hub: Services, reports: Items) -> dict[str, Any]:
    """A province reports the status of codes it issued."""
    return {"stored": hub.status.report(caller, _within(reports, hub))}


@router.get(
    "/v1/status/{serial}", response_model=dict[str, Any], responses=errors(401, 403, 404, 422)
)
async def status_by_serial(
    serial: Annotated[str, Path(min_length=1, max_length=64)], caller: Caller, hub: Services
) -> Response:
    """Cross-province online check of a code by its serial."""
    return JSONResponse(await hub.status.queries.query_async(caller, serial=serial))


@router.get("/v1/status", response_model=dict[str, Any], responses=errors(401, 403, 404, 422))
async def status_by_pseudonym(
    pseudonym: Annotated[str, Query(min_length=1, max_length=64)], caller: Caller, hub: Services
) -> Response:
    """A person's status: each holding province's latest code (``codes``) and, at the top, the
    strictest colour not expired."""
    return JSONResponse(await hub.status.queries.query_async(caller, pseudonym=pseudonym))
