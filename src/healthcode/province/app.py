"""The province's HTTP API (FastAPI): thin routes over ``ProvinceService`` and one error form.

Errors answer ``{"error": {"code", "message", ...details}}`` with the status of the code in the
catalogue (``core/error_codes.py``), as the hub does. Bodies are bounded while they stream
(the hub's ``BodyLimit``, ``HEALTHCODE_PROVINCE_BODY_MAX_BYTES``) and parsed with the hub's
checks of every value (``hub/fields.py``: nesting depth, texts, times).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from anyio import to_thread
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from healthcode.core.error_codes import ErrorCode
from healthcode.core.errors import HealthcodeError
from healthcode.hub.routes.common import BodyLimit
from healthcode.province import decision_routes
from healthcode.province.routes import router
from healthcode.province.service import ProvinceService
from healthcode.store.errors import DRIVER_ERRORS, translated

__all__ = ["create_app"]


def create_app(province: ProvinceService) -> FastAPI:
    """The application over ``province`` (routes reach it as ``request.app.state.province``).
    It does not start the loops: the caller runs ``province.start()`` / ``stop()``."""
    app = FastAPI(
        title=f"healthcode province {province.settings.region}",
        version="1",
        description="A province's service: applications, codes, explanations (docs/province.md).",
        lifespan=_threads_limited,
    )
    app.state.province = province
    app.add_middleware(BodyLimit, max_bytes=province.settings.body_max_bytes)
    app.add_exception_handler(HealthcodeError, _healthcode_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _http_error)  # type: ignore[arg-type]
    for error in DRIVER_ERRORS:
        app.add_exception_handler(error, _database_error)
    app.include_router(router)
    app.include_router(decision_routes.router)
    return app


@asynccontextmanager
async def _threads_limited(app: FastAPI) -> AsyncIterator[None]:
    """Run the routes' blocking work in ``HEALTHCODE_WORKER_THREADS`` threads, as the hub does:
    each holds at most one pooled connection, and the pool is sized from the same setting."""
    limiter = to_thread.current_default_thread_limiter()
    limiter.total_tokens = app.state.province.settings.worker_threads
    yield


def _answer(
    status: int, code: str, message: str, details: dict[str, Any], headers: Any = None
) -> JSONResponse:
    body = {"error": {"code": code, "message": message, **details}}
    return JSONResponse(body, status_code=status, headers=headers)


async def _healthcode_error(request: Request, exc: HealthcodeError) -> JSONResponse:
    status = exc.code.http_status
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    if "retry_after" in exc.details:
        headers = {"Retry-After": str(exc.details["retry_after"])}
    return _answer(status, exc.code, exc.message, exc.details, headers)


async def _database_error(request: Request, exc: Exception) -> JSONResponse:
    return await _healthcode_error(request, translated(exc))


async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = [
        {"field": ".".join(str(p) for p in e.get("loc", ())), "message": str(e.get("msg"))}
        for e in exc.errors()
    ]
    return _answer(422, ErrorCode.REQUEST_INVALID, "bad request", {"errors": errors})


async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    code = {404: ErrorCode.NOT_FOUND, 405: ErrorCode.METHOD_NOT_ALLOWED}.get(
        exc.status_code, ErrorCode.HTTP_ERROR
    )
    return _answer(exc.status_code, code, str(exc.detail), {}, exc.headers)
