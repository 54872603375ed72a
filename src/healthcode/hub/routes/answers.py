"""The error answers each route documents in the OpenAPI document (``responses=``).

Every error is the one JSON shape of ``hub/app.py``; ``errors(401, 403)`` documents those
statuses with it. A route lists every status it can answer, so a client (and a fuzzer checking
the document) finds no status the document does not name.
"""

from __future__ import annotations

from typing import Any

__all__ = ["ERROR_SCHEMA", "JSON_BODY_ERRORS", "errors"]

#: ``{"error": {"code", "message", ...details}}`` (codes: docs/errors.md).
ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
            "additionalProperties": True,
        }
    },
}

_MEANING = {
    400: "malformed request: not JSON, too deep, wrong content type or CSV header",
    401: "no token, or a token not valid",
    403: "the caller may not do this",
    404: "no such thing (record, risk area, status, document)",
    409: "a conflict with what is stored (natural key, Idempotency-Key, state)",
    413: "the body, or the number of records or items in it, is over the limit",
    422: "invalid fields or records (each named with its code)",
}

#: What every route with a body can answer beyond 200.
JSON_BODY_ERRORS = (400, 401, 403, 409, 413, 422)


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The ``responses=`` of a route that can answer these error statuses."""
    content = {"application/json": {"schema": ERROR_SCHEMA}}
    return {status: {"description": _MEANING[status], "content": content} for status in statuses}
