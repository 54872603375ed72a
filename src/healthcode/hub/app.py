"""The hub's HTTP API (FastAPI): the routers of ``hub/routes/`` and one error answer.

Routes are thin: they parse the request, ask a service, answer. Errors are one JSON shape,
``{"error": {"code", "message", ...details}}``, with the status of the error's code in the
catalogue (``core/error_codes.py``): 400 malformed request, 401 token problems, 403 refusals,
404 unknown things, 409 conflicts, 413 too large, 422 invalid records. The FHIR route
(``/v1/fhir``) answers the same errors, with the same statuses, as FHIR OperationOutcomes
(``hub/fhir_answers.py``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from anyio import to_thread
from fastapi import FastAPI, Request
from starlette.responses import Response
from starlette.routing import Match
from starlette.types import ASGIApp, Receive, Scope, Send

from healthcode.core.errors import HealthcodeError
from healthcode.hub import fhir_answers
from healthcode.hub.routes import ROUTERS
from healthcode.hub.routes.common import FHIR_PATH, BodyLimit, FhirJSONResponse
from healthcode.hub.routes.status_reads import StatusReads, caller_of
from healthcode.hub.routes.submit_one import SubmitOne
from healthcode.hub.services import Hub, feed_listener
from healthcode.web.admission import InFlightLimit
from healthcode.web.assets import install_assets
from healthcode.web.errors import install_error_handlers, json_answer

__all__ = ["HubApp", "create_app", "status_of"]


def status_of(exc: HealthcodeError) -> int:
    """The HTTP status of an error: its code's, from the catalogue."""
    return exc.code.http_status


class HubApp(FastAPI):
    """The FastAPI app behind a plain ASGI front (``front``): a request enters the in-flight
    limit, then the status reads (``hub/routes/status_reads.py``), and only what they leave
    goes on to FastAPI (``framework``): the hottest request never passes FastAPI's and
    Starlette's layers."""

    front: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.front is None:
            await self.framework(scope, receive, send)
        else:
            await self.front(scope, receive, send)

    async def framework(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The request through FastAPI: its middleware, routing and routes."""
        await super().__call__(scope, receive, send)


def create_app(hub: Hub) -> HubApp:
    """The application over ``hub``'s services (routes reach them as ``request.app.state.hub``)."""
    app = HubApp(
        title="healthcode hub",
        version="1",
        description="The national data hub: departments in, provinces out. See docs/hub.md.",
        lifespan=_threads_limited,
        docs_url=None,  # served from local files (web/assets.py)
        redoc_url=None,
    )
    app.state.hub = hub
    app.add_middleware(BodyLimit, max_bytes=hub.settings.body_max_bytes)
    install_error_handlers(app, _error_answer, _allowed)
    for router in ROUTERS:
        app.include_router(router)
    install_assets(app)
    # ordinary single submissions answered before FastAPI's routing (hub/routes/submit_one.py),
    # inside FastAPI's outermost layer (an exception there is answered in the error form)
    app.add_middleware(SubmitOne, hub=hub)
    # ordinary status reads answered before FastAPI (hub/routes/status_reads.py), and
    # outermost, the limit: a request over it is shed before anything else runs
    app.front = InFlightLimit(
        StatusReads(app.framework, hub=hub),
        limit=hub.settings.max_in_flight,
        exempt=_not_counted,
        share=hub.settings.max_in_flight_per_client,
        client_of=caller_of(hub),
    )
    return app


def _not_counted(scope: Scope) -> bool:
    """Requests the in-flight limit leaves alone: the health check, and a feed's long poll
    (it waits on the event loop holding no thread and no connection)."""
    path: str = scope["path"]
    if path == "/v1/health":
        return True
    return path.startswith("/v1/feeds/") and b"wait=" in scope["query_string"]


@asynccontextmanager
async def _threads_limited(app: FastAPI) -> AsyncIterator[None]:
    """Run the routes' blocking work in ``HEALTHCODE_WORKER_THREADS`` threads (anyio's default
    is 40): each holds at most one pooled connection, so the pool sized from the same setting
    never runs short, and fewer threads contend with the event loop for the interpreter. On
    PostgreSQL, the feed listener runs meanwhile (the other processes' feed commits wake this
    one's long polls, ``hub/feed_signal.py``), and the status queries' connections on the event
    loop are opened before the first request (``store/async_reader.py``)."""
    limiter = to_thread.current_default_thread_limiter()
    hub: Hub = app.state.hub
    limiter.total_tokens = hub.settings.worker_threads
    listener = feed_listener(hub)
    reader = hub.status.reader
    if listener is not None:
        listener.start()
    try:
        if reader is not None:
            await reader.open_all()
        yield
    finally:
        if listener is not None:
            listener.stop()
        if reader is not None:
            await reader.close()


def _on_fhir_route(request: Request) -> bool:
    # The route the router matched (fully, or by path only for a 405), whatever the root path.
    return getattr(request.scope.get("route"), "path", None) == FHIR_PATH


def _error_answer(
    request: Request,
    status: int,
    code: str,
    message: str,
    details: dict[str, Any],
    headers: dict[str, str] | None = None,
) -> Response:
    """The project's error form, or an OperationOutcome on the FHIR route (same status)."""
    if _on_fhir_route(request):
        outcome = fhir_answers.operation_outcome(code, message, details, status)
        return FhirJSONResponse(outcome, status_code=status, headers=headers)
    return json_answer(request, status, code, message, details, headers)


def _allowed(request: Request) -> str:
    """The ``Allow`` of a 405: the methods of every route at the path (the router names only
    those of the first route it matched by path)."""
    methods: set[str] = set()
    for router in ROUTERS:
        for route in router.routes:
            if route.matches(request.scope)[0] is not Match.NONE:
                methods |= getattr(route, "methods", None) or set()
    return ", ".join(sorted(methods))
