"""Published-document routes: the latest signed rule set, value sets, risk areas or trust list
(``hub/publishing.py``)."""

from __future__ import annotations

from enum import StrEnum

from fastapi import APIRouter
from fastapi.responses import Response

from healthcode.hub.publishing import MEDIA_TYPE
from healthcode.hub.routes.answers import errors
from healthcode.hub.routes.common import AuthFirstRoute, Caller, Services

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
