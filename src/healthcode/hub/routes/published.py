"""Published-document routes: the latest signed rule set, value sets, risk areas or trust list
(``hub/publishing.py``), and the Token Status Lists (``hub/status_lists.py``)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Path
from fastapi.responses import Response

from healthcode.hub.publishing import MEDIA_TYPE
from healthcode.hub.routes.answers import errors
from healthcode.hub.routes.common import AuthFirstRoute, Caller, Services
from healthcode.hub.status_lists import MEDIA_TYPE as STATUS_LIST_MEDIA_TYPE

__all__ = ["DocKind", "router"]

router = APIRouter(tags=["published"], route_class=AuthFirstRoute)


class DocKind(StrEnum):
    rule_set = "rule-set"
    value_set = "value-set"
    risk_areas = "risk-areas"
    trust_list = "trust-list"


_COSE_ANSWER = {
    "responses": {
        "200": {
            "description": "the signed envelope (COSE_Sign1, core/trust/envelope.py)",
            "content": {"application/cose": {"schema": {"type": "string", "format": "binary"}}},
        }
    }
}


@router.get(
    "/v1/published/{kind}", openapi_extra=_COSE_ANSWER, responses=errors(401, 403, 404, 422)
)
def published(kind: DocKind, caller: Caller, hub: Services) -> Response:
    """The latest signed document of a kind (rule set, value sets, risk areas, trust list)."""
    doc = hub.publishing.read(caller, kind.value)
    return Response(
        content=doc.envelope,
        media_type=MEDIA_TYPE,
        headers={"ETag": f'"{kind.value}-{doc.seq}"', "X-Sequence": str(doc.seq)},
    )


_STATUS_LIST_ANSWER = {
    "responses": {
        "200": {
            "description": "the Status List Token (CWT, draft-ietf-oauth-status-list)",
            "content": {STATUS_LIST_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}}},
        }
    }
}


@router.get("/v1/status-lists", responses=errors(401, 403))
def status_lists(caller: Caller, hub: Services) -> dict[str, Any]:
    """The status lists that hold any reported index: URI, province, chunk and path each."""
    return hub.status_lists.index(caller)


@router.get(
    "/v1/status-lists/{province}/{chunk}",
    openapi_extra=_STATUS_LIST_ANSWER,
    responses=errors(401, 403, 404, 422),
)
def status_list(
    province: Annotated[str, Path(min_length=6, max_length=6)],
    chunk: Annotated[int, Path(ge=0)],
    caller: Caller,
    hub: Services,
) -> Response:
    """A province's Token Status List ``chunk``, signed by the hub's publisher."""
    token = hub.status_lists.token(caller, province, chunk)
    return Response(content=token, media_type=STATUS_LIST_MEDIA_TYPE)
