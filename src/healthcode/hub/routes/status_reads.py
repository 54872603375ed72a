"""The two status reads served without the framework: plain ASGI in front of FastAPI.

A checkpoint's status query is the request the hub answers most. ``StatusReads`` answers the
ordinary ones itself, before FastAPI's routing and dependency resolution: ``GET
/v1/status/{serial}`` and ``GET /v1/status?pseudonym=`` with a bearer token this process has
checked recently (``OrgService.cached``), parameters of the lengths the routes declare and
the text checks every parameter passes (``fields.check_value``). It asks the same service
(``StatusQuery.query_async``, on the event loop) and answers the same bytes: the answer's
``JSONResponse``, or the error's answer (``web/errors.error_answer``).

Everything else goes on to the FastAPI routes of ``hub/routes/status.py``, the reference
implementation, which also give the OpenAPI document: a token not cached (read in a thread,
then cached), no token, a parameter too long, empty, repeated or refused by the text checks,
another query parameter, another method. ``tests/hub/test_status_reads.py`` keeps the two
answering alike, byte for byte.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

from fastapi.responses import JSONResponse
from fastapi.security.utils import get_authorization_scheme_param
from starlette.datastructures import Headers, QueryParams
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from healthcode.core.errors import HealthcodeError
from healthcode.hub.fields import check_value
from healthcode.hub.orgs import Principal
from healthcode.hub.services import Hub
from healthcode.store.errors import DRIVER_ERRORS, translated
from healthcode.web.errors import error_answer

__all__ = ["StatusReads", "caller_of"]

_PREFIX = "/v1/status/"
#: The routes' ``max_length`` of a serial and a pseudonym.
_MAX_LENGTH = 64


def _asked(scope: Scope) -> dict[str, str] | None:
    """``{"serial": ...}`` or ``{"pseudonym": ...}`` of an ordinary status read; None for any
    other request (left to the routes)."""
    if scope["type"] != "http" or scope["method"] != "GET":
        return None
    path: str = scope["path"]
    query: bytes = scope["query_string"]
    if path.startswith(_PREFIX) and not query:
        serial = path[len(_PREFIX) :]
        if not 0 < len(serial) <= _MAX_LENGTH or "/" in serial:
            return None
        asked, where = {"serial": serial}, "path"
    elif path == "/v1/status" and query.startswith(b"pseudonym="):
        params = QueryParams(query)
        pseudonym = params.get("pseudonym", "")
        if len(params) != 1 or not 0 < len(pseudonym) <= _MAX_LENGTH:
            return None
        asked, where = {"pseudonym": pseudonym}, "query"
    else:
        return None
    try:
        check_value(asked, max_depth=1, path=where)
    except HealthcodeError:
        return None  # the route refuses it, with the same check
    return asked


def _principal(scope: Scope, hub: Hub) -> Principal | None:
    """The caller when its token was checked within the cache's time; else None."""
    header = Headers(scope=scope).get("authorization")
    scheme, credentials = get_authorization_scheme_param(header)
    if not credentials or scheme.lower() != "bearer":
        return None
    return hub.orgs.cached(credentials)


def caller_of(hub: Hub) -> Callable[[Scope], Hashable]:
    """Who a request comes from, for a client's share of the in-flight limit
    (``web/admission.py``): the organisation of a bearer token this process has checked; else
    the peer address. A token not checked yet (the route checks it) counts as its peer's, so
    a client sending a new made-up token with every request does not get a share for each."""

    def caller(scope: Scope) -> Hashable:
        header = Headers(scope=scope).get("authorization")
        scheme, credentials = get_authorization_scheme_param(header)
        if credentials and scheme.lower() == "bearer":
            principal = hub.orgs.cached(credentials)
            if principal is not None:
                return ("org", principal.org_id)
        peer = scope.get("client")
        return ("peer", peer[0] if peer else None)

    return caller


class StatusReads:
    """ASGI middleware answering ordinary status reads of ``hub`` (see the module docstring);
    every other request goes to ``app``."""

    def __init__(self, app: ASGIApp, *, hub: Hub) -> None:
        self.app = app
        self.hub = hub

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        asked = _asked(scope)
        principal = _principal(scope, self.hub) if asked is not None else None
        if asked is None or principal is None:
            await self.app(scope, receive, send)
            return
        response = await self._answer(scope, principal, asked)
        await response(scope, receive, send)

    async def _answer(self, scope: Scope, principal: Principal, asked: dict[str, Any]) -> Response:
        try:
            answer = await self.hub.status.queries.query_async(principal, **asked)
        except HealthcodeError as exc:
            return error_answer(Request(scope), exc)
        except DRIVER_ERRORS as exc:
            return error_answer(Request(scope), translated(exc))
        return JSONResponse(answer)
