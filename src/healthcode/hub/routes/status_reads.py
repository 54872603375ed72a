"""The two status reads served without the framework: plain ASGI in front of FastAPI.

A checkpoint's status query is the request the hub answers most. ``StatusReads`` answers the
ordinary ones itself, in front of the FastAPI app (``hub/app.py``: only the in-flight limit is
outside it), so they never enter FastAPI, Starlette's middleware or routing: ``GET
/v1/status/{serial}`` and ``GET /v1/status?pseudonym=`` with a bearer token, parameters of
the lengths the routes declare and the text checks every parameter passes
(``fields.check_value``). A token this process checked recently costs a lookup
(``OrgService.cached``); another is read once in a thread however many requests bring it at
once (``_checked``: after start-up or the cache's time, all of a checkpoint's connections
come with it together), and refused as the route refuses it. It asks the same service
(``StatusQuery.query_async``, on the event loop) and answers the same bytes: the answer's
JSON as ``JSONResponse`` writes it (sent with prebuilt headers), or the error's answer
(``web/errors.error_answer``); an unexpected exception is answered 500 in the error form
(``web/errors.internal_error_answer``, as the routes answer one) and raised on to the server.
The caller's principal is looked up once a request (``principal_of``): the in-flight limit's
``caller_of`` finds it first and leaves it in the request's scope.

Everything else goes on to the FastAPI routes of ``hub/routes/status.py``, the reference
implementation, which also give the OpenAPI document: no bearer token, a parameter too long,
empty, repeated or refused by the text checks, another query parameter, another method.
``tests/hub/test_status_reads.py`` keeps the two answering alike, byte for byte.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Hashable
from typing import Any, NamedTuple

from fastapi.security.utils import get_authorization_scheme_param
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from healthcode.core.errors import HealthcodeError
from healthcode.hub.fields import check_value
from healthcode.hub.orgs import Principal
from healthcode.hub.services import Hub
from healthcode.store.errors import DRIVER_ERRORS, translated
from healthcode.web.errors import error_answer, internal_error_answer

__all__ = ["StatusReads", "caller_of", "principal_of"]

_PREFIX = "/v1/status/"
#: The routes' ``max_length`` of a serial and a pseudonym.
_MAX_LENGTH = 64
#: Where ``principal_of`` leaves the caller it found in a request's scope.
_PRINCIPAL = "healthcode.principal"
_JSON_TYPE = (b"content-type", b"application/json")


class _Answer(NamedTuple):
    """An answer to send: status, raw headers and body."""

    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes

    @classmethod
    def of(cls, response: Response) -> _Answer:
        return cls(response.status_code, response.raw_headers, bytes(response.body))

    async def send(self, send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status, "headers": self.headers})
        await send({"type": "http.response.body", "body": self.body})


def _json_answer(content: dict[str, Any]) -> _Answer:
    """A 200 with ``content`` as ``JSONResponse(content)`` writes it, headers and all."""
    body = json.dumps(
        content, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":")
    ).encode("utf-8")
    return _Answer(200, [(b"content-length", str(len(body)).encode()), _JSON_TYPE], body)


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


def _bearer(scope: Scope) -> str | None:
    """The credentials of the request's ``Authorization: Bearer`` header (its first one)."""
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, credentials = get_authorization_scheme_param(value.decode("latin-1"))
            return credentials if credentials and scheme.lower() == "bearer" else None
    return None


def principal_of(scope: Scope, hub: Hub) -> Principal | None:
    """The caller when its token was checked within the cache's time; else None. Looked up
    once a request: the answer is kept in ``scope`` for the next layer that asks."""
    if _PRINCIPAL not in scope:
        token = _bearer(scope)
        scope[_PRINCIPAL] = hub.orgs.cached(token) if token else None
    principal: Principal | None = scope[_PRINCIPAL]
    return principal


def caller_of(hub: Hub) -> Callable[[Scope], Hashable]:
    """Who a request comes from, for a client's share of the in-flight limit
    (``web/admission.py``): the organisation of a bearer token this process has checked; else
    the peer address. A token not checked yet (the route checks it) counts as its peer's, so
    a client sending a new made-up token with every request does not get a share for each."""

    def caller(scope: Scope) -> Hashable:
        principal = principal_of(scope, hub)
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
        self._reading: dict[str, asyncio.Future[Principal]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        asked = _asked(scope)
        token = _bearer(scope) if asked is not None else None
        if asked is None or token is None:
            await self.app(scope, receive, send)
            return
        try:
            answer = await self._answer(scope, token, asked)
        except Exception:
            await _Answer.of(internal_error_answer(Request(scope))).send(send)
            raise  # the server logs it, as it does a route's
        await answer.send(send)

    async def _answer(self, scope: Scope, token: str, asked: dict[str, Any]) -> _Answer:
        try:
            principal = principal_of(scope, self.hub) or await self._checked(token)
            answer = await self.hub.status.queries.query_async(principal, **asked)
        except HealthcodeError as exc:
            return _Answer.of(error_answer(Request(scope), exc))
        except DRIVER_ERRORS as exc:
            return _Answer.of(error_answer(Request(scope), translated(exc)))
        return _json_answer(answer)

    async def _checked(self, token: str) -> Principal:
        """The caller of a token not cached: read once, in a thread (``OrgService.authenticate``,
        which caches it), however many requests bring it at once: the others wait for that
        read (the first requests after start-up, or after the cache's time, come together)."""
        reading = self._reading.get(token)
        if reading is None:
            reading = asyncio.ensure_future(run_in_threadpool(self.hub.orgs.authenticate, token))
            self._reading[token] = reading
            reading.add_done_callback(lambda _: self._reading.pop(token, None))
        return await asyncio.shield(reading)
