"""The grid worker's page, served by the province (docs/pages.md): ``/grid`` (static HTML over
the grid's routes, ``grid_routes``) and its service worker ``/grid-sw.js``, which keeps the
page's assets for a phone without a network (scope ``/grid`` only).
"""

from __future__ import annotations

import functools

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

from healthcode.web.assets import STATIC
from healthcode.web.pages import SECURITY_HEADERS, page

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


@functools.cache
def _worker() -> bytes:
    return (STATIC / "grid-sw.js").read_bytes()


@router.get("/grid")
def grid_page() -> HTMLResponse:
    return page("grid.html")


@router.get("/grid-sw.js")
def grid_service_worker() -> Response:
    """The service worker, checked for a new version on every visit (``no-cache``)."""
    headers = {**SECURITY_HEADERS, "Cache-Control": "no-cache"}
    return Response(_worker(), media_type="text/javascript; charset=utf-8", headers=headers)
