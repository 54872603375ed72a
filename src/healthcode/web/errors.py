"""One error answer for every HTTP service of the project.

Errors answer ``{"error": {"code", "message", ...details}}`` with the status of the code in the
catalogue (``core/error_codes.py``): a ``HealthcodeError`` as it is; a database driver's error
no service turned into its own as 503 ``DATABASE_BUSY`` or 500 ``DATABASE_ERROR``
(``store/errors.translated``: logged, answered without the statement's values); a request the
framework could not read as 422 ``REQUEST_INVALID`` with the fields; an unknown path or method
as 404 ``NOT_FOUND`` or 405 ``METHOD_NOT_ALLOWED``; any other exception as 500 ``HTTP_ERROR``
(``internal_error_answer``; the server still logs it). A service may shape the answer its own way
(the hub answers OperationOutcomes on its FHIR route) and name a 405's ``Allow``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from healthcode.core.error_codes import ErrorCode
from healthcode.core.errors import HealthcodeError
from healthcode.store.errors import DRIVER_ERRORS, translated

__all__ = [
    "Answer",
    "error_answer",
    "install_error_handlers",
    "internal_error_answer",
    "json_answer",
]


class Answer(Protocol):
    """Makes the response of an error."""

    def __call__(
        self,
        request: Request,
        status: int,
        code: str,
        message: str,
        details: dict[str, Any],
        headers: dict[str, str] | None = None,
    ) -> Response: ...


def json_answer(
    request: Request,
    status: int,
    code: str,
    message: str,
    details: dict[str, Any],
    headers: dict[str, str] | None = None,
) -> Response:
    """The project's error form (details are JSON-ready)."""
    body = {"error": {"code": code, "message": message, **details}}
    return JSONResponse(body, status_code=status, headers=headers)


def error_answer(request: Request, exc: HealthcodeError, answer: Answer = json_answer) -> Response:
    """The answer of a ``HealthcodeError``: its code's status, ``WWW-Authenticate`` on a 401,
    ``Retry-After`` when it says when to ask again (a busy database)."""
    status = exc.code.http_status
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    if "retry_after" in exc.details:  # a busy database (503): when to ask again
        headers = {"Retry-After": str(exc.details["retry_after"])}
    return answer(request, status, exc.code, exc.message, exc.details, headers)


def internal_error_answer(request: Request, answer: Answer = json_answer) -> Response:
    """The answer of an exception nothing else answers: 500 in the error form."""
    return answer(request, 500, ErrorCode.HTTP_ERROR, "Internal Server Error", {})


def install_error_handlers(
    app: FastAPI,
    answer: Answer = json_answer,
    allowed: Callable[[Request], str] | None = None,
) -> None:
    """Answer every error of ``app`` through ``answer``; ``allowed`` gives a 405's ``Allow``
    (else the framework's)."""

    async def healthcode_error(request: Request, exc: HealthcodeError) -> Response:
        return error_answer(request, exc, answer)

    async def database_error(request: Request, exc: Exception) -> Response:
        return await healthcode_error(request, translated(exc))

    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        errors = [
            {"field": ".".join(str(p) for p in e.get("loc", ())), "message": str(e.get("msg"))}
            for e in exc.errors()
        ]
        return answer(request, 422, ErrorCode.REQUEST_INVALID, "bad request", {"errors": errors})

    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        code = {404: ErrorCode.NOT_FOUND, 405: ErrorCode.METHOD_NOT_ALLOWED}.get(
            exc.status_code, ErrorCode.HTTP_ERROR
        )
        headers = dict(exc.headers) if exc.headers else None
        if exc.status_code == 405 and allowed is not None:
            headers = {**(headers or {}), "Allow": allowed(request)}
        return answer(request, exc.status_code, code, str(exc.detail), {}, headers)

    async def internal_error(request: Request, exc: Exception) -> Response:
        return internal_error_answer(request, answer)

    app.add_exception_handler(HealthcodeError, healthcode_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, http_error)  # type: ignore[arg-type]
    for error in DRIVER_ERRORS:
        app.add_exception_handler(error, database_error)
    # Starlette's outermost layer answers an exception no handler took with it, then raises it
    app.add_exception_handler(Exception, internal_error)
