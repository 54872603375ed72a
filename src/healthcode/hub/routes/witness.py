"""The witness routes (C2SP tlog-witness; ``hub/witness.py``): public, no token, as the
specification says (a checkpoint is accepted for its log's signature alone).

- ``POST /v1/witness/add-checkpoint``: ``old <size>``, a consistency proof, an empty line, the
  signed checkpoint; answers the hub's cosignature lines (200), or 400, 403, 404, 409 (the
  size last cosigned, ``text/x.tlog.size``), 422 as the specification says;
- ``GET /v1/witness/{origin hash}/checkpoint``: the last checkpoint cosigned for the log whose
  origin's SHA-256 is the lower-case hex ``origin hash`` (monitors read it), 404 if none.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import PlainTextResponse, Response

from healthcode.core.audit.witness import SIZE_CONTENT_TYPE
from healthcode.core.error_codes import ErrorCode
from healthcode.core.errors import AuditError
from healthcode.hub.routes.answers import errors
from healthcode.hub.services import Hub

__all__ = ["router"]

router = APIRouter(tags=["witness"])

_TEXT = "text/plain; charset=utf-8"
_SUBMISSION: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {"text/plain": {"schema": {"type": "string"}}},
    }
}
_ANSWERS: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "the cosignature lines",
        "content": {_TEXT: {"schema": {"type": "string"}}},
    },
    **errors(400, 403, 404, 413, 422),
    409: {
        "description": "the old size is not the last cosigned: the answer is that size",
        "content": {SIZE_CONTENT_TYPE: {"schema": {"type": "string"}}},
    },
}


@router.post(
    "/v1/witness/add-checkpoint",
    response_class=PlainTextResponse,
    responses=_ANSWERS,
    openapi_extra=_SUBMISSION,
)
async def add_checkpoint(request: Request) -> Response:
    """Cosign a colour log's checkpoint consistent with the last one cosigned."""
    hub: Hub = request.app.state.hub
    body = await request.body()
    try:
        lines = await run_in_threadpool(hub.witness.add_checkpoint, body)
    except AuditError as exc:
        if exc.code is not ErrorCode.WITNESS_OLD_SIZE:
            raise
        size = int(exc.details["size"])
        # exactly this type (the specification's), without a charset parameter
        return Response(
            f"{size}\n".encode(), status_code=409, headers={"Content-Type": SIZE_CONTENT_TYPE}
        )
    return Response(lines, media_type=_TEXT)


@router.get(
    "/v1/witness/{origin_hash}/checkpoint",
    response_class=PlainTextResponse,
    responses={
        200: {"description": "the checkpoint", "content": {_TEXT: {"schema": {"type": "string"}}}},
        **errors(404),
    },
)
def latest(origin_hash: str, request: Request) -> Response:
    """The last checkpoint the hub cosigned for a log, with its signatures."""
    hub: Hub = request.app.state.hub
    return Response(
        hub.witness.latest(origin_hash), media_type=_TEXT, headers={"Cache-Control": "no-cache"}
    )
