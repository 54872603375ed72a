"""What every route module shares: the caller, the services, the record kinds, request bodies.

Routes reach the services through the ``Services`` dependency (the ``Hub`` that ``create_app``
put on the application), and the calling organisation through ``Caller``.
"""

from __future__ import annotations

import hashlib
from enum import StrEnum
from typing import Annotated

from fastapi import Depends, Header, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.openapi.models import HTTPBearer as HTTPBearerModel
from fastapi.responses import JSONResponse
from fastapi.security.base import SecurityBase
from fastapi.security.utils import get_authorization_scheme_param

from healthcode.core.error_codes import ErrorCode
from healthcode.core.errors import InvalidInput
from healthcode.hub import fhir_answers
from healthcode.hub.orgs import Principal
from healthcode.hub.services import Hub

__all__ = [
    "FHIR_PATH",
    "MAX_BODY_BYTES",
    "Caller",
    "FhirJSONResponse",
    "IdemKey",
    "Kind",
    "Services",
    "content_type",
    "read_body",
    "request_digest",
]

#: The largest request body accepted (a 100 000-record batch is about 30 MB).
MAX_BODY_BYTES = 64 * 1024 * 1024


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
        scheme, credentials = get_authorization_scheme_param(request.headers.get("authorization"))
        token = credentials if credentials and scheme.lower() == "bearer" else None
        # On the event loop: a token checked within HEALTHCODE_TOKEN_CACHE_SECONDS costs no
        # thread hop and no database read; otherwise the read runs in the thread pool.
        hub: Hub = request.app.state.hub
        principal = hub.orgs.cached(token)
        if principal is not None:
            return principal
        return await run_in_threadpool(hub.orgs.authenticate, token)


Caller = Annotated[Principal, Depends(_BearerPrincipal())]
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
    """The whole body. Raises InvalidInput BATCH_TOO_LARGE beyond ``MAX_BODY_BYTES``."""
    declared = request.headers.get("content-length")
    too_large = declared is not None and declared.isdigit() and int(declared) > MAX_BODY_BYTES
    raw = b"" if too_large else await request.body()
    if too_large or len(raw) > MAX_BODY_BYTES:
        raise InvalidInput(
            ErrorCode.BATCH_TOO_LARGE, f"the body is larger than {MAX_BODY_BYTES} bytes"
        )
    return raw
