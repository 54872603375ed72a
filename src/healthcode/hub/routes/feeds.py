"""Feed routes: a province reads its change feed with a cursor (``hub/feeds.py``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from healthcode.hub.routes.answers import errors
from healthcode.hub.routes.common import AuthFirstRoute, Caller, Services

__all__ = ["router"]

router = APIRouter(tags=["feeds"], route_class=AuthFirstRoute)


@router.get("/v1/feeds/{province}", responses=errors(401, 403, 409, 422))
def feed(
    province: Annotated[str, Path(pattern=r"^[0-9]{6}$")],
    caller: Caller,
    hub: Services,
    after: Annotated[int, Query(ge=0, le=2**62)] = 0,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 500,
) -> dict[str, Any]:
    """Entries with ``seq > after``, oldest first; store ``next`` once applied, resume there."""
    return hub.feeds.page(caller, province, after=after, limit=limit)
