"""Registration and status routes: provinces register people, end their registrations and
report code status; any checkpoint asks for a code's or a person's status (``hub/status.py``).

The two status reads answer a ``JSONResponse`` themselves (the same bytes FastAPI would make of
the dict): for a sync route FastAPI would otherwise check the returned dict against
``response_model`` in a second thread-pool hop. ``response_model`` stays for OpenAPI.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query
from fastapi.responses import JSONResponse, Response

from healthcode.hub.routes.common import Caller, Services

__all__ = ["router"]

router = APIRouter(tags=["status"])

#: People or status reports, at most 10,000 a request.
Items = Annotated[list[dict[str, Any]], Body(embed=True, max_length=10_000)]


@router.post("/v1/registrations")
def register(caller: Caller, hub: Services, people: Items) -> dict[str, Any]:
    """A province registers the people whose codes it issues, each with a ``reason``
    (residence, the default; stay; work). Other provinces holding them keep them."""
    return {"pseudonyms": hub.status.register(caller, people)}


@router.post("/v1/registrations/end")
def end_registrations(caller: Caller, hub: Services, people: Items) -> dict[str, Any]:
    """A province ends its own registrations of these people (a stay is over)."""
    return hub.status.end(caller, people)


@router.post("/v1/status")
def report_status(caller: Caller, hub: Services, reports: Items) -> dict[str, Any]:
    """A province reports the status of codes it issued."""
    return {"stored": hub.status.report(caller, reports)}


@router.get("/v1/status/{serial}", response_model=dict[str, Any])
def status_by_serial(
    serial: Annotated[str, Path(min_length=1, max_length=64)], caller: Caller, hub: Services
) -> Response:
    """Cross-province online check of a code by its serial."""
    return JSONResponse(hub.status.query(caller, serial=serial))


@router.get("/v1/status", response_model=dict[str, Any])
def status_by_pseudonym(
    pseudonym: Annotated[str, Query(min_length=1, max_length=64)], caller: Caller, hub: Services
) -> Response:
    """A person's status: each holding province's latest code (``codes``) and, at the top, the
    strictest colour not expired."""
    return JSONResponse(hub.status.query(caller, pseudonym=pseudonym))
