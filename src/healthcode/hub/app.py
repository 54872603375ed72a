"""The hub's HTTP API (FastAPI). Routes are thin: they parse the request, ask a service, answer.

Errors are one JSON shape, ``{"error": {"code", "message", ...details}}``, with the status
from ``status_of``: 400 malformed request, 401 token problems, 403 refusals, 404 unknown
things, 409 conflicts, 413 too large, 422 invalid records. The FHIR route (``/v1/fhir``) answers
the same errors, with the same statuses, as FHIR OperationOutcomes (``hub/fhir_answers.py``).
"""

from __future__ import annotations

import hashlib
from enum import StrEnum
from typing import Annotated, Any

from fastapi import Body, Depends, FastAPI, Header, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.models import HTTPBearer as HTTPBearerModel
from fastapi.responses import JSONResponse, Response
from fastapi.security.base import SecurityBase
from fastapi.security.utils import get_authorization_scheme_param
from starlette.exceptions import HTTPException as StarletteHTTPException

from healthcode.core.error_codes import ErrorCode
from healthcode.core.errors import HealthcodeError, InvalidInput
from healthcode.hub import fhir, fhir_answers, formats
from healthcode.hub.access import require, require_own_feed
from healthcode.hub.feeds import read_page
from healthcode.hub.ingest import Located
from healthcode.hub.orgs import Principal
from healthcode.hub.publishing import MEDIA_TYPE
from healthcode.hub.services import Hub

__all__ = ["create_app", "status_of"]

#: The largest request body accepted (a 100 000-record batch is about 30 MB).
MAX_BODY_BYTES = 64 * 1024 * 1024


class DocKind(StrEnum):
    rule_set = "rule-set"
    value_set = "value-set"
    risk_areas = "risk-areas"
    trust_list = "trust-list"


class Kind(StrEnum):
    nat = "nat"
    antibody = "antibody"
    vaccination = "vaccination"
    infection = "infection"
    contact = "contact"
    itinerary = "itinerary"


def status_of(exc: HealthcodeError) -> int:
    """The HTTP status of an error: its code's, from the catalogue."""
    return exc.code.http_status


class FhirJSONResponse(JSONResponse):
    media_type = fhir_answers.FHIR_JSON


FHIR_PATH = "/v1/fhir"


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
) -> JSONResponse:
    """The hub's error form, or an OperationOutcome on the FHIR route (same status)."""
    if _on_fhir_route(request):
        outcome = fhir_answers.operation_outcome(code, message, details, status)
        return FhirJSONResponse(outcome, status_code=status, headers=headers)
    # details are JSON-ready (lists of per-record errors included)
    body = {"error": {"code": code, "message": message, **details}}
    return JSONResponse(body, status_code=status, headers=headers)


def _digest(*parts: bytes) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(len(part).to_bytes(8, "big") + part)
    return h.hexdigest()


async def _body(request: Request) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise InvalidInput(
            ErrorCode.BATCH_TOO_LARGE, f"the body is larger than {MAX_BODY_BYTES} bytes"
        )
    raw = await request.body()
    if len(raw) > MAX_BODY_BYTES:
        raise InvalidInput(
            ErrorCode.BATCH_TOO_LARGE, f"the body is larger than {MAX_BODY_BYTES} bytes"
        )
    return raw


_RECORD_SCHEMA = {"type": "object", "additionalProperties": True}
_BATCH_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": {"type": "array", "items": _RECORD_SCHEMA}},
            "application/x-ndjson": {"schema": {"type": "string"}},
        },
    }
}
_CSV_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "text/csv": {"schema": {"type": "string"}},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {"file": {"type": "string", "format": "binary"}},
                    "required": ["file"],
                }
            },
        },
    }
}


_FHIR_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/fhir+json": {"schema": {"type": "object", "additionalProperties": True}}
        },
    }
}


def _outcome(description: str) -> dict[str, Any]:
    schema = {"schema": fhir_answers.OPERATION_OUTCOME_SCHEMA}
    return {"description": description, "content": {fhir_answers.FHIR_JSON: schema}}


_FHIR_ANSWERS: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "the response Bundle (every record stored, or stored before)",
        "content": {fhir_answers.FHIR_JSON: {"schema": fhir_answers.RESPONSE_BUNDLE_SCHEMA}},
    },
    400: _outcome("not JSON, not a Bundle, or not application/fhir+json"),
    401: _outcome("no token, or a token not valid"),
    403: _outcome("the organisation may not submit these records"),
    409: _outcome("a natural key stored with other content, or an Idempotency-Key reused"),
    413: _outcome("too large"),
    422: _outcome("invalid Bundle or entries (one issue per wrong entry)"),
}
_COSE_ANSWER = {
    "responses": {
        "200": {
            "description": "the signed envelope (COSE_Sign1, core/trust/envelope.py)",
            "content": {"application/cose": {"schema": {"type": "string", "format": "binary"}}},
        }
    }
}


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


_principal = _BearerPrincipal()
Caller = Annotated[Principal, Depends(_principal)]
IdemKey = Annotated[str | None, Header(alias="Idempotency-Key", min_length=1, max_length=200)]


def create_app(hub: Hub) -> FastAPI:
    app = FastAPI(
        title="healthcode hub",
        version="1",
        description="The national data hub: departments in, provinces out. See docs/hub.md.",
    )
    app.state.hub = hub

    @app.exception_handler(HealthcodeError)
    async def _healthcode_error(request: Request, exc: HealthcodeError) -> JSONResponse:
        status = status_of(exc)
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        return _error_answer(request, status, exc.code, exc.message, exc.details, headers)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"field": ".".join(str(p) for p in e.get("loc", ())), "message": str(e.get("msg"))}
            for e in exc.errors()
        ]
        return _error_answer(
            request, 422, ErrorCode.REQUEST_INVALID, "bad request", {"errors": errors}
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: ErrorCode.NOT_FOUND, 405: ErrorCode.METHOD_NOT_ALLOWED}.get(
            exc.status_code, ErrorCode.HTTP_ERROR
        )
        return _error_answer(request, exc.status_code, code, str(exc.detail), {})

    @app.get("/v1/health", tags=["service"])
    def health() -> dict[str, str]:
        return {"status": "ok"}

    # -- ingest ------------------------------------------------------------------------------

    # The two sync submission routes answer a JSONResponse themselves, as the status reads do
    # (see there): no second thread-pool hop to check the dict against ``response_model``.
    @app.post("/v1/records/{kind}", tags=["ingest"], response_model=dict[str, Any])
    def submit_one(
        kind: Kind,
        record: Annotated[dict[str, Any], Body()],
        caller: Caller,
        idempotency_key: IdemKey = None,
    ) -> Response:
        """One record: answers ``{"kind", "id"}`` once it is stored (see docs/hub.md)."""
        digest = _digest(b"one", kind.value.encode(), repr(sorted(record.items())).encode())
        answer = hub.ingest.submit(
            caller,
            kind.value,
            [Located({"index": 0}, record)],
            idempotency_key=idempotency_key,
            request_digest=digest,
            single=True,
        )
        return JSONResponse(answer)

    @app.post("/v1/records/{kind}/batch", tags=["ingest"], openapi_extra=_BATCH_BODY)
    async def submit_batch(
        kind: Kind, caller: Caller, request: Request, idempotency_key: IdemKey = None
    ) -> dict[str, Any]:
        """A batch (JSON array, or NDJSON with ``Content-Type: application/x-ndjson``):
        all or nothing; answers ``{"kind", "count", "ids"}``."""
        raw = await _body(request)
        ctype = request.headers.get("content-type", "application/json").split(";")[0].strip()
        if ctype in ("application/x-ndjson", "application/ndjson", "application/jsonl"):
            items = formats.parse_ndjson(raw)
        elif ctype in ("application/json", ""):
            items = formats.parse_json_array(raw)
        else:
            raise InvalidInput(ErrorCode.CONTENT_TYPE, f"send JSON or NDJSON, not {ctype}")
        return await run_in_threadpool(
            hub.ingest.submit,
            caller,
            kind.value,
            items,
            idempotency_key=idempotency_key,
            request_digest=_digest(b"batch", kind.value.encode(), raw),
        )

    @app.post("/v1/records/{kind}/csv", tags=["ingest"], openapi_extra=_CSV_BODY)
    async def submit_csv(
        kind: Kind, caller: Caller, request: Request, idempotency_key: IdemKey = None
    ) -> dict[str, Any]:
        """A CSV file (``text/csv`` body, or multipart field ``file``); columns in docs/hub.md."""
        ctype = request.headers.get("content-type", "").split(";")[0].strip()
        if ctype == "multipart/form-data":
            form = await request.form()
            upload = form.get("file")
            if upload is None or isinstance(upload, str):
                raise InvalidInput(
                    ErrorCode.CONTENT_TYPE, "the multipart form needs a file field 'file'"
                )
            raw = await upload.read()
            await form.close()
        elif ctype in ("text/csv", "text/plain", "application/octet-stream"):
            raw = await _body(request)
        else:
            raise InvalidInput(ErrorCode.CONTENT_TYPE, "send text/csv or a multipart file")
        items = formats.parse_csv(kind.value, raw)
        return await run_in_threadpool(
            hub.ingest.submit,
            caller,
            kind.value,
            items,
            idempotency_key=idempotency_key,
            request_digest=_digest(b"csv", kind.value.encode(), raw),
        )

    @app.post(
        FHIR_PATH,
        tags=["ingest"],
        openapi_extra=_FHIR_BODY,
        response_class=FhirJSONResponse,
        responses=_FHIR_ANSWERS,
    )
    async def submit_fhir(
        caller: Caller, request: Request, idempotency_key: IdemKey = None
    ) -> FhirJSONResponse:
        """An HL7 FHIR R4 Bundle (Patient, Observation, Immunization): all or nothing; answers
        a ``transaction-response`` (or ``batch-response``) Bundle, one entry per request entry
        (``201 Created`` / ``200 OK``, ``location``); errors as OperationOutcomes (docs/hub.md)."""
        ctype = request.headers.get("content-type", "").split(";")[0].strip()
        if ctype not in fhir.FHIR_MEDIA_TYPES:
            raise InvalidInput(
                ErrorCode.CONTENT_TYPE, "send application/fhir+json", field="Content-Type"
            )
        raw = await _body(request)
        answer = await run_in_threadpool(
            hub.fhir.submit,
            caller,
            raw,
            idempotency_key=idempotency_key,
            request_digest=_digest(b"fhir", raw),
        )
        return FhirJSONResponse(answer)

    @app.post("/v1/records/{kind}/corrections", tags=["ingest"], response_model=dict[str, Any])
    def correct(kind: Kind, caller: Caller, body: Annotated[dict[str, Any], Body()]) -> Response:
        """Correct (``action: "correct"``, ``record``) or withdraw (``action: "withdraw"``) one's
        own record by ``record_id``, with a ``reason``; stored as a new version."""
        return JSONResponse(hub.corrections.submit(caller, kind.value, body))

    # -- feeds -------------------------------------------------------------------------------

    @app.get("/v1/feeds/{province}", tags=["feeds"])
    def feed(
        province: Annotated[str, Path(pattern=r"^[0-9]{6}$")],
        caller: Caller,
        after: Annotated[int, Query(ge=0, le=2**62)] = 0,
        limit: Annotated[int, Query(ge=1, le=10_000)] = 500,
    ) -> dict[str, Any]:
        """Entries with ``seq > after``, oldest first; store ``next`` once applied, resume there."""
        require(caller, "feed:read")
        require_own_feed(caller, province)
        limit = min(limit, hub.settings.feed_page_max)
        with hub.db.read() as s:
            page = read_page(s, province, after=after, limit=limit)
        return {
            "province": page.province,
            "entries": page.entries,
            "next": page.next_cursor,
            "more": page.more,
        }

    # -- registrations and status --------------------------------------------------------------

    @app.post("/v1/registrations", tags=["status"])
    def register(
        caller: Caller,
        people: Annotated[list[dict[str, Any]], Body(embed=True, max_length=10_000)],
    ) -> dict[str, Any]:
        """A province registers the people whose codes it issues (records follow them)."""
        return {"pseudonyms": hub.status.register(caller, people)}

    @app.post("/v1/status", tags=["status"])
    def report_status(
        caller: Caller,
        reports: Annotated[list[dict[str, Any]], Body(embed=True, max_length=10_000)],
    ) -> dict[str, Any]:
        """A province reports the status of codes it issued."""
        return {"stored": hub.status.report(caller, reports)}

    # The two status reads answer a JSONResponse themselves (the same bytes FastAPI would make
    # of the dict): for a sync route FastAPI would otherwise check the returned dict against
    # ``response_model`` in a second thread-pool hop. ``response_model`` stays for OpenAPI.
    @app.get("/v1/status/{serial}", tags=["status"], response_model=dict[str, Any])
    def status_by_serial(
        serial: Annotated[str, Path(min_length=1, max_length=64)], caller: Caller
    ) -> Response:
        """Cross-province online check of a code by its serial."""
        return JSONResponse(hub.status.query(caller, serial=serial))

    @app.get("/v1/status", tags=["status"], response_model=dict[str, Any])
    def status_by_pseudonym(
        pseudonym: Annotated[str, Query(min_length=1, max_length=64)], caller: Caller
    ) -> Response:
        """The latest reported code status of a person, by pseudonym."""
        return JSONResponse(hub.status.query(caller, pseudonym=pseudonym))

    # -- risk areas ----------------------------------------------------------------------------

    @app.post("/v1/risk-areas", tags=["risk areas"])
    def designate(caller: Caller, body: Annotated[dict[str, Any], Body()]) -> dict[str, Any]:
        """Designate an area (region_code, level, effective_from, until, document)."""
        return hub.risk_areas.designate(caller, body)

    @app.patch("/v1/risk-areas/{area_id}", tags=["risk areas"])
    def change_area(
        area_id: Annotated[int, Path(ge=1, le=2**62)],
        caller: Caller,
        body: Annotated[dict[str, Any], Body()],
    ) -> dict[str, Any]:
        """Change an area's level or end (document required)."""
        return hub.risk_areas.change(caller, area_id, body)

    @app.post("/v1/risk-areas/{area_id}/lift", tags=["risk areas"])
    def lift_area(
        area_id: Annotated[int, Path(ge=1, le=2**62)],
        caller: Caller,
        body: Annotated[dict[str, Any], Body()],
    ) -> dict[str, Any]:
        """Lift an area (document required; ``at`` defaults to now)."""
        return hub.risk_areas.lift(caller, area_id, body)

    @app.get("/v1/risk-areas", tags=["risk areas"])
    def current_areas(_caller: Caller) -> dict[str, Any]:
        """Areas in force now."""
        return {"areas": hub.risk_areas.current()}

    # -- signed documents ----------------------------------------------------------------------

    @app.get("/v1/published/{kind}", tags=["published"], openapi_extra=_COSE_ANSWER)
    def published(kind: DocKind, caller: Caller) -> Response:
        """The latest signed document of a kind (rule set, value sets, risk areas, trust list)."""
        require(caller, "published:read")
        doc = hub.publishing.latest(kind.value)
        return Response(
            content=doc.envelope,
            media_type=MEDIA_TYPE,
            headers={"ETag": f'"{kind.value}-{doc.seq}"', "X-Sequence": str(doc.seq)},
        )

    return app
