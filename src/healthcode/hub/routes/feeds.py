"""Feed routes: a province reads its change feed with a cursor (``hub/feeds.py``).

The answer is the JSON the feeds service wrote (``Feeds.page_json``: on PostgreSQL the
server writes the entries), sent as it is; ``response_model`` stays for the OpenAPI document.
The route is async: a reader that asks to ``wait`` waits on the event loop, holding none of the
``HEALTHCODE_WORKER_THREADS`` threads; each read of the feed runs in one of them.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.responses import Response

from healthcode.hub.feeds import WAIT_MAX_SECONDS
from healthcode.hub.routes.answers import errors
from healthcode.hub.routes.common import AuthFirstRoute, Caller, Services

__all__ = ["router"]

router = APIRouter(tags=["feeds"], route_class=AuthFirstRoute)


@router.get(
    "/v1/feeds/{province}", response_model=dict[str, Any], responses=errors(401, 403, 409, 422)
)
async def feed(
    province: Annotated[str, Path(pattern=r"^[0-9]{6}$")],
    caller: Caller,
    hub: Services,
    after: Annotated[int, Query(ge=0, le=2**62)] = 0,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 500,
    wait: Annotated[float, Query(ge=0, le=WAIT_MAX_SECONDS)] = 0,
) -> Response:
    """Entries with ``seq > after``, oldest first; store ``next`` once applied, resume there.
    With ``wait`` (seconds, at most 30), an empty page is answered only after entries are
    committed or the wait is over (a long poll)."""
    body = await hub.feeds.wait_page(caller, province, after=after, limit=limit, wait=wait)
    return Response(body, media_type="application/json")
