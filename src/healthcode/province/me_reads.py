"""A person's code and colour served without the framework: plain ASGI in front of FastAPI.

``GET /v1/me/code`` is the request a province answers most: every screen showing a code asks
for a fresh one. For a person whose colour state is kept (``kept.py``) the answer is a
signature and a few dictionary entries (~50 µs), which FastAPI's dependency resolution,
query parsing, worker-thread hops and response validation multiplied many times over.
``MeReads`` answers these requests itself, before FastAPI's routing:

- ``GET /v1/me/code`` with no query or exactly ``medium=screen|paper|light``, and ``GET
  /v1/me`` with no query;
- the caller as the routes know it (``deps.person_of``, the same function as their
  dependency: a person token checked here, a sign-in session read in a worker thread);
- the answer from the kept state on the event loop (``CodeService.issue_kept`` /
  ``explain_kept``: no read, no write), else from ``issue`` / ``explain`` in a worker thread,
  as the route runs them;
- the same bytes: the JSON as FastAPI writes a route's ``dict[str, Any]`` (Pydantic's
  ``dump_json``), an error as the app's error handlers answer it (``web/errors.error_answer``,
  ``WWW-Authenticate`` on a 401, ``Retry-After`` on a busy database).

Everything else goes on to the FastAPI routes of ``routes.py``, the reference implementation,
which also give the OpenAPI document: another method or path, any other query (a misspelt or
repeated ``medium``, an encoded one, an extra parameter). ``tests/province/test_me_reads.py``
keeps the two answering alike, byte for byte.
"""

from __future__ import annotations

from typing import Any

from fastapi.concurrency import run_in_threadpool
from pydantic import TypeAdapter
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from healthcode.core.errors import HealthcodeError
from healthcode.province.codes import Medium
from healthcode.province.deps import bearer_of, person_of
from healthcode.province.service import ProvinceService
from healthcode.province.signin import SignInService
from healthcode.store.errors import DRIVER_ERRORS, translated
from healthcode.web.errors import error_answer

__all__ = ["MeReads"]

#: The query strings of ``GET /v1/me/code`` answered here, and the medium each asks for.
_CODE_QUERIES: dict[bytes, Medium] = {
    b"": "screen",
    b"medium=screen": "screen",
    b"medium=paper": "paper",
    b"medium=light": "light",
}
#: How FastAPI writes the answer of a route declared ``-> dict[str, Any]``.
_ANSWER = TypeAdapter(dict[str, Any])


def _asked(scope: Scope) -> tuple[str, Medium] | None:
    """``("code", medium)`` or ``("explain", "screen")`` for a request answered here; None for
    any other (left to the routes)."""
    if scope["type"] != "http" or scope["method"] != "GET":
        return None
    path: str = scope["path"]
    query: bytes = scope["query_string"]
    if path == "/v1/me/code":
        medium = _CODE_QUERIES.get(query)
        return None if medium is None else ("code", medium)
    if path == "/v1/me" and not query:
        return "explain", "screen"
    return None


class MeReads:
    """ASGI middleware answering ``GET /v1/me/code`` and ``GET /v1/me`` for ``province`` (see
    the module docstring); every other request goes to ``app``."""

    def __init__(self, app: ASGIApp, *, province: ProvinceService, signin: SignInService) -> None:
        self.app = app
        self.province = province
        self.signin = signin

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        asked = _asked(scope)
        if asked is None:
            await self.app(scope, receive, send)
            return
        response = await self._answer(scope, *asked)
        await response(scope, receive, send)

    async def _answer(self, scope: Scope, what: str, medium: Medium) -> Response:
        try:
            token = bearer_of(Headers(scope=scope).get("authorization"))
            pseudonym = await person_of(self.province, self.signin, token)
            answer = await self._read(what, pseudonym, medium)
        except HealthcodeError as exc:
            return error_answer(Request(scope), exc)
        except DRIVER_ERRORS as exc:
            return error_answer(Request(scope), translated(exc))
        return Response(_ANSWER.dump_json(answer), media_type="application/json")

    async def _read(self, what: str, pseudonym: str, medium: Medium) -> dict[str, Any]:
        """The answer from the kept state, inline; else in a worker thread, as the route."""
        codes = self.province.codes
        if what == "code":
            answer = codes.issue_kept(pseudonym, medium)
            if answer is None:
                answer = await run_in_threadpool(codes.issue, pseudonym, medium)
            return answer
        answer = codes.explain_kept(pseudonym)
        if answer is None:
            answer = await run_in_threadpool(codes.explain, pseudonym)
        return answer
