"""Single submissions served without the framework: plain ASGI in front of FastAPI.

``POST /v1/records/{kind}`` of one record is the write the hub answers most. ``SubmitOne``
answers the ordinary ones itself, before FastAPI's routing, dependency resolution and body
validation: a record kind, no query, ``Content-Type: application/json`` with a
``Content-Length`` within ``HEALTHCODE_BODY_MAX_BYTES``, a bearer token this process has
checked recently (``OrgService.cached``) whose organisation may submit the kind, at most one
``Idempotency-Key`` of 1 to 200 characters, and a body that ``fields.load_json`` reads as a
JSON object. It asks the same service (``IngestService.submit_one``: the checks and the group
commit of ``submit``, waiting on the event loop instead of in a thread of the pool) with the
same request digest and answers the same bytes: the answer's ``JSONResponse``, or the
error's answer (``web/errors.error_answer``).

Everything else goes on to the FastAPI route of ``hub/routes/ingest.py``, the reference, which
also gives the OpenAPI document (a body already read is handed on as it came).
``tests/hub/test_submit_one.py`` keeps the two answering alike, byte for byte.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi.responses import JSONResponse
from fastapi.security.utils import get_authorization_scheme_param
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from healthcode.core.errors import HealthcodeError
from healthcode.hub.access import PERMISSIONS, require
from healthcode.hub.batches import Located
from healthcode.hub.fields import load_json
from healthcode.hub.orgs import Principal
from healthcode.hub.routes.common import Kind, request_digest
from healthcode.hub.services import Hub
from healthcode.store.errors import DRIVER_ERRORS, translated
from healthcode.web.errors import error_answer

__all__ = ["SubmitOne"]

_PREFIX = "/v1/records/"
_KINDS = frozenset(k.value for k in Kind)
#: The route's bounds of an Idempotency-Key.
_KEY_LENGTH = (1, 200)


def _asked(scope: Scope, hub: Hub) -> tuple[str, Principal, str | None] | None:
    """The kind, the caller and the Idempotency-Key of an ordinary single submission; None
    for any other request (left to the route)."""
    if scope["type"] != "http" or scope["method"] != "POST" or scope["query_string"]:
        return None
    path: str = scope["path"]
    kind = path[len(_PREFIX) :] if path.startswith(_PREFIX) else ""
    if kind not in _KINDS:
        return None
    headers = Headers(scope=scope)
    length = headers.getlist("content-length")
    if headers.getlist("content-type") != ["application/json"] or len(length) != 1:
        return None
    if not length[0].isdigit() or int(length[0]) > hub.settings.body_max_bytes:
        return None
    keys = headers.getlist("idempotency-key")
    if len(keys) > 1 or (keys and not _KEY_LENGTH[0] <= len(keys[0]) <= _KEY_LENGTH[1]):
        return None
    scheme, credentials = get_authorization_scheme_param(headers.get("authorization"))
    if not credentials or scheme.lower() != "bearer":
        return None
    principal = hub.orgs.cached(credentials)
    action = f"submit:{kind}"
    if principal is None or action not in PERMISSIONS:
        return None
    try:
        require(principal, action)
    except HealthcodeError:
        return None  # the route refuses it, with the same check
    return kind, principal, keys[0] if keys else None


async def _body(receive: Receive) -> bytes | None:
    """The whole body; None if the client went away."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


class SubmitOne:
    """ASGI middleware answering ordinary single submissions to ``hub`` (see the module
    docstring); every other request goes to ``app``."""

    def __init__(self, app: ASGIApp, *, hub: Hub) -> None:
        self.app = app
        self.hub = hub

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        asked = _asked(scope, self.hub)
        if asked is None:
            await self.app(scope, receive, send)
            return
        raw = await _body(receive)
        if raw is None:
            return
        record = self._record(raw)
        if record is None:  # the route answers it, from the same body
            await self.app(scope, _replay(raw, receive), send)
            return
        response = await self._answer(scope, *asked, record)
        await response(scope, receive, send)

    def _record(self, raw: bytes) -> dict[str, Any] | None:
        try:
            value = load_json(raw, max_depth=self.hub.settings.json_depth_max)
        except (HealthcodeError, json.JSONDecodeError, UnicodeDecodeError):
            return None
        return value if isinstance(value, dict) else None

    async def _answer(
        self,
        scope: Scope,
        kind: str,
        principal: Principal,
        key: str | None,
        record: dict[str, Any],
    ) -> Response:
        digest = request_digest(b"one", kind.encode(), repr(sorted(record.items())).encode())
        try:
            answer = await self.hub.ingest.submit_one(
                principal,
                kind,
                Located({"index": 0}, record),
                idempotency_key=key,
                request_digest=digest,
            )
        except HealthcodeError as exc:
            return error_answer(Request(scope), exc)
        except DRIVER_ERRORS as exc:
            return error_answer(Request(scope), translated(exc))
        return JSONResponse(answer)


def _replay(raw: bytes, receive: Receive) -> Receive:
    """``receive`` with the body already read given again first."""
    given = False

    async def replayed() -> Message:
        nonlocal given
        if given:
            return await receive()
        given = True
        return {"type": "http.request", "body": raw, "more_body": False}

    return replayed
