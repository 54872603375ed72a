"""The national staff's dashboard (``hub/ops.py``), with the hub's operator token:
``GET /v1/ops/ingest``, ``/v1/ops/reports``, ``/v1/ops/feeds``; the page ``/ops``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse

from healthcode.hub import ops
from healthcode.hub.routes.alerts import national_staff
from healthcode.hub.routes.answers import errors
from healthcode.hub.routes.common import AuthFirstRoute, Services
from healthcode.web.pages import page

__all__ = ["pages", "router"]

router = APIRouter(
    tags=["operators"], dependencies=[Depends(national_staff)], route_class=AuthFirstRoute
)
pages = APIRouter(include_in_schema=False)

Hours = Annotated[int, Query(ge=1, le=24 * 14)]


@router.get("/v1/ops/ingest", responses=errors(401, 422))
async def ingest(hub: Services, hours: Hours = 24) -> dict[str, Any]:
    """Records received per department and hour (the hub's operator token)."""
    answer: dict[str, Any] = await run_in_threadpool(ops.ingest, hub.db, hub.clock, hours=hours)
    return answer


@router.get("/v1/ops/reports", responses=errors(401, 422))
async def reports(hub: Services, hours: Hours = 24) -> dict[str, Any]:
    """Colour states reported per province and hour, and how long they took to arrive."""
    answer: dict[str, Any] = await run_in_threadpool(ops.reports, hub.db, hub.clock, hours=hours)
    return answer


@router.get("/v1/ops/feeds", responses=errors(401))
def feeds(hub: Services) -> dict[str, Any]:
    """Each province's feed: last entry, last cursor read, entries waiting, the lag."""
    return ops.feeds(hub.db, hub.clock, hub.feeds)


@pages.get("/ops")
def ops_page() -> HTMLResponse:
    return page("hub-ops.html")
