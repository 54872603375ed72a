"""What every route module shares: the caller, the services, the record kinds, request bodies.

Routes reach the services through the ``Services`` dependency (the ``Hub`` that ``create_app``
put on the application), and the calling organisation through ``Caller``.

The hub refuses before it reads. Every router's routes are ``AuthFirstRoute``: path and query
parameters pass the text checks of ``hub/fields.py``; a route that
takes a body (POST, PATCH) knows its caller, and the permission its path alone decides
(``permission("submit:{kind}")``), before a byte of the body is read, so an unauthenticated or
unauthorised caller gets its 401 or 403 whatever it sends. ``BodyLimit`` counts every body
while it streams (its Content-Length when given, else each chunk, multipart included) and stops
at ``HEALTHCODE_BODY_MAX_BYTES`` with ``BODY_TOO_LARGE`` (413) without reading the rest. A JSON
body is parsed by ``fields.load_json`` (nesting depth, texts and times checked) before FastAPI
validates it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Coroutine
from enum import StrEnum
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.openapi.models import HTTPBearer as HTTPBearerModel
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from fastapi.security.base import SecurityBase
from fastapi.security.utils import get_authorization_scheme_param
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from healthcode.core.error_codes import ErrorCode
from healthcode.core.errors import InvalidInput
from healthcode.hub import fhir_answers
from healthcode.hub.access import PERMISSIONS, require
from healthcode.hub.fields import check_value, load_json
from healthcode.hub.orgs import Principal
from healthcode.hub.services import Hub

__all__ = [
    "FHIR_PATH",
    "PERMISSION",
    "AuthFirstRoute",
    "BodyLimit",
    "Caller",
    "FhirJSONResponse",
    "IdemKey",
    "Kind",
    "Services",
    "content_type",
    "permission",
    "read_body",
    "request_digest",
]

#: The OpenAPI extension naming the permission a route checks before it reads the body.
PERMISSION = "x-healthcode-permission"

FHIR_PATH = "/v1/fhir"


class FhirJSONResponse(JSONResponse):
    media_type = fhir_answers.FHIR_JSON


class Kind(StrEnum):
    nat = "nat"
    antibody = "antibody"
    vaccination = "vaccination"
    infection = "infection"
    contact = "contact"
    itinerary = "itinerary"


async def _hub(request: Request) -> Hub:
    # async: solved on the event loop, without a thread-pool hop of its own
    hub: Hub = request.app.state.hub
    return hub


Services = Annotated[Hub, Depends(_hub)]


class _BearerPrincipal(SecurityBase):
    """The ``Caller`` dependency: the bearer token read from the ``Authorization`` header here,
    then the organisation holding it.

    It is what ``HTTPBearer(auto_error=False)`` plus a dependency on it was, in one dependency
    FastAPI solves per request instead of two: the same token (``Bearer <token>``, scheme in
    any case, the token stripped; anything else is no token: ``TOKEN_MISSING``), and the same
    OpenAPI security scheme (a ``SecurityBase`` named ``HTTPBearer``: ``http``/``bearer``).
    """

    def __init__(self) -> None:
        self.model = HTTPBearerModel()
        self.scheme_name = "HTTPBearer"

    async def __call__(self, request: Request) -> Principal:
        known: Principal | None = getattr(request.state, "principal", None)
        if known is not None:  # AuthFirstRoute checked it before the body
            return known
        scheme, credentials = get_authorization_scheme_param(request.headers.get("authorization"))
        token = credentials if credentials and scheme.lower() == "bearer" else None
        # On the event loop: a token checked within HEALTHCODE_TOKEN_CACHE_SECONDS costs no
        # thread hop and no database read; otherwise the read runs in the thread pool.
        hub: Hub = request.app.state.hub
        principal = hub.orgs.cached(token)
        if principal is not None:
            return principal
        return await run_in_threadpool(hub.orgs.authenticate, token)


_BEARER = _BearerPrincipal()
Caller = Annotated[Principal, Depends(_BEARER)]
IdemKey = Annotated[str | None, Header(alias="Idempotency-Key", min_length=1, max_length=200)]


def request_digest(*parts: bytes) -> str:
    """What an Idempotency-Key is bound to: the request's parts, each length-prefixed."""
    h = hashlib.sha256()
    for part in parts:
        h.update(len(part).to_bytes(8, "big") + part)
    return h.hexdigest()


def content_type(request: Request, default: str = "") -> str:
    """The media type of the body, without parameters."""
    return request.headers.get("content-type", default).split(";")[0].strip()


async def read_body(request: Request) -> bytes:
    """The whole body (``BodyLimit`` stops it at the limit with BODY_TOO_LARGE)."""
    return await request.body()


def permission(action: str, **extra: Any) -> dict[str, Any]:
    """The ``openapi_extra`` of a route whose caller needs ``action`` (``{kind}`` is the path
    parameter) whatever its body says, merged with ``extra``."""
    return {PERMISSION: action, **extra}


_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
_Handler = Callable[[Request], Coroutine[Any, Any, Response]]


class AuthFirstRoute(APIRoute):
    """A route that authenticates, and checks the permission its path decides, before the
    body is read; then parses a JSON body with the hub's limits (see the module docstring)."""

    def get_route_handler(self) -> _Handler:
        handler = super().get_route_handler()
        if not (self.methods or set()) & _BODY_METHODS:

            async def parameters_checked(request: Request) -> Response:
                _check_parameters(request)
                return await handler(request)

            return parameters_checked
        action = (self.openapi_extra or {}).get(PERMISSION)
        parses_json = self.body_field is not None

        async def authenticated_first(request: Request) -> Response:
            _check_parameters(request)
            principal = await _BEARER(request)
            request.state.principal = principal
            if action is not None:
                allowed = action.format(**request.path_params)
                if allowed in PERMISSIONS:  # else the path is wrong: FastAPI says how
                    require(principal, allowed)
            if parses_json:
                request = await _JsonRequest.read(request)
            return await handler(request)

        return authenticated_first


def _check_parameters(request: Request) -> None:
    """The path and query parameters pass the checks of every text (``fields.check_value``).

    Raises InvalidInput TEXT_INVALID, TIME_OUT_OF_RANGE (field ``path.<name>``,
    ``query.<name>``).
    """
    check_value(dict(request.path_params), max_depth=1, path="path")
    check_value(dict(request.query_params), max_depth=1, path="query")


class _JsonRequest(Request):
    """A request whose JSON body was read and checked by ``fields.load_json``. A body that is
    not JSON (or not sent as JSON) is left to FastAPI, which answers REQUEST_INVALID."""

    _raw: bytes
    _value: Any
    _parsed: bool

    @classmethod
    async def read(cls, request: Request) -> _JsonRequest:
        out = cls(request.scope, request.receive)
        out._raw = await request.body()
        out._parsed = False
        subtype = content_type(request, "application/json").lower().partition("/")[2]
        if out._raw and (subtype == "json" or subtype.endswith("+json")):
            hub: Hub = request.app.state.hub
            try:
                out._value = load_json(out._raw, max_depth=hub.settings.json_depth_max)
                out._parsed = True
            except (json.JSONDecodeError, UnicodeDecodeError):
                pass
        return out

    async def body(self) -> bytes:
        return self._raw

    async def json(self) -> Any:
        return self._value if self._parsed else json.loads(self._raw)


class BodyLimit:
    """ASGI middleware: a request body of at most ``max_bytes``, counted while it streams.

    A declared Content-Length over the limit is refused at the first read, before any byte
    is taken; a chunked body when its count passes the limit. Either way the route's read
    raises InvalidInput BODY_TOO_LARGE (413) and the rest is never read.
    """

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length", b"")
        received = int(declared) if declared.isdigit() else 0

        async def counted() -> Message:
            nonlocal received
            if received > self.max_bytes:
                raise self._too_large()
            message = await receive()
            if message["type"] == "http.request" and not declared.isdigit():
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise self._too_large()
            return message

        await self.app(scope, counted, send)

    def _too_large(self) -> InvalidInput:
        return InvalidInput(
            ErrorCode.BODY_TOO_LARGE,
            f"the body is larger than {self.max_bytes} bytes",
            limit=self.max_bytes,
        )
