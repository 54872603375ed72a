"""The colour log's routes (docs/audit.md): public, under the names of C2SP tlog-tiles, and a
person's own leaves with their proofs.

- ``GET /log/checkpoint``: the published checkpoint (cosigned by the witness), ``text/plain;
  charset=utf-8``, cached a second at most;
- ``GET /log/tile/{path}``: a tile (``tile/<L>/<N>[.p/<W>]``) or entry bundle
  (``tile/entries/<N>[.p/<W>]``), ``application/octet-stream``, cached for a year (immutable:
  a partial tile of a given width never changes); ``TILE_MISSING`` is 404, not cached;
- ``GET /log/consistency?from=&to=``: a consistency proof, one base64 hash a line (the file
  ``healthcode audit verify --consistency`` reads), ``to`` the published size by default;
- ``GET /v1/me/log`` (the person's ``hcp1`` token): their subject and each of their leaves with
  its inclusion proof against the published checkpoint.
"""

from __future__ import annotations

import base64
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import PlainTextResponse, Response

from healthcode.province.colour_log import ProvinceLog
from healthcode.province.deps import Person, checked_query

__all__ = ["router"]

router = APIRouter(tags=["colour log"], dependencies=[Depends(checked_query)])

_SHORT = "public, max-age=1"
_IMMUTABLE = "public, max-age=31536000, immutable"


async def _log(request: Request) -> ProvinceLog:
    colour_log: ProvinceLog = request.app.state.province.colour_log
    return colour_log


Log = Annotated[ProvinceLog, Depends(_log)]


@router.get("/log/checkpoint", response_class=PlainTextResponse)
def checkpoint(log: Log) -> Response:
    """The newest published checkpoint (a C2SP signed note)."""
    return Response(
        log.served_checkpoint(),
        media_type="text/plain; charset=utf-8",
        headers={"Cache-Control": _SHORT},
    )


@router.get("/log/tile/{path:path}")
def tile(path: str, log: Log) -> Response:
    """A tile or an entry bundle of the log's tree."""
    return Response(
        log.tile(f"tile/{path}"),
        media_type="application/octet-stream",
        headers={"Cache-Control": _IMMUTABLE},
    )


@router.get("/log/consistency", response_class=PlainTextResponse)
def consistency(
    log: Log,
    size1: Annotated[int, Query(alias="from", ge=1, le=2**63 - 1)],
    size2: Annotated[int | None, Query(alias="to", ge=1, le=2**63 - 1)] = None,
) -> Response:
    """A consistency proof between two sizes of the log (one base64 hash a line)."""
    _, proof = log.consistency(size1, size2)
    text = "".join(base64.b64encode(h).decode() + "\n" for h in proof)
    return Response(text, media_type="text/plain; charset=utf-8")


@router.get("/v1/me/log")
def my_log(person: Person, log: Log) -> dict[str, Any]:
    """The person's subject in the log and their leaves, each with its inclusion proof."""
    return log.person(person)
