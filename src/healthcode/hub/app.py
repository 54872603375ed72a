"""The hub's HTTP API (FastAPI). Routes are thin: they parse the request, ask a service, answer.

Errors are one JSON shape, ``{"error": {"code", "message", ...details}}``, with the status
from ``status_of``: 400 malformed request, 401 token problems, 403 refusals, 404 unknown
things, 409 conflicts, 413 too large, 422 invalid records.
"""

from __future__ import annotations

import hashlib
from enum import StrEnum
from typing import Annotated, Any

from fastapi import Body, Depends, FastAPI, Header, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.exceptions import HTTPException as StarletteHTTPException

from healthcode.core.errors import AccessDenied, HealthcodeError, InvalidInput
from healthcode.hub import fhir, formats
from healthcode.hub.access import require, require_own_feed
from healthcode.hub.feeds import read_page
from healthcode.hub.ingest import Located
from healthcode.hub.orgs import Principal
from healthcode.hub.publishing import MEDIA_TYPE
from healthcode.hub.services import Hub

__all__ = ["create_app", "status_of"]

_NOT_FOUND = frozenset({"RISK_AREA_UNKNOWN", "STATUS_UNKNOWN", "RECORD_UNKNOWN", "NOT_PUBLISHED"})
_CONFLICT = frozenset(
    {
        "NATURAL_KEY_CONFLICT",
        "IDEMPOTENCY_KEY_REUSED",
        "RISK_AREA_LIFTED",
        "RISK_AREA_CANCELLED",
        "CURSOR_EXPIRED",
        "RECORD_WITHDRAWN",
        "PUBLISH_CONFLICT",
    }
)
_MALFORMED = frozenset(
    {
        "JSON_INVALID",
        "BATCH_NOT_ARRAY",
        "ENCODING_UNSUPPORTED",
        "CSV_HEADER",
        "CONTENT_TYPE",
        "FHIR_NOT_BUNDLE",
    }
)
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
    if isinstance(exc, AccessDenied):
        return 401 if exc.code.startswith("TOKEN_") else 403
    if exc.code in _NOT_FOUND:
        return 404
    if exc.code in _CONFLICT:
        return 409
    if exc.code == "BATCH_TOO_LARGE":
        return 413
    if exc.code in _MALFORMED:
        return 400
    return 422 if isinstance(exc, InvalidInput) else 400


def _error_body(exc: HealthcodeError) -> dict[str, Any]:
    body: dict[str, Any] = {"code": exc.code, "message": exc.message}
    body.update(exc.details)  # details are JSON-ready (lists of per-record errors included)
    return {"error": body}


def _digest(*parts: bytes) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(len(part).to_bytes(8, "big") + part)
    return h.hexdigest()


async def _body(request: Request) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise InvalidInput("BATCH_TOO_LARGE", f"the body is larger than {MAX_BODY_BYTES} bytes")
    raw = await request.body()
    if len(raw) > MAX_BODY_BYTES:
        raise InvalidInput("BATCH_TOO_LARGE", f"the body is larger than {MAX_BODY_BYTES} bytes")
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
_COSE_ANSWER = {
    "responses": {
        "200": {
            "description": "the signed envelope (COSE_Sign1, core/trust/envelope.py)",
            "content": {"application/cose": {"schema": {"type": "string", "format": "binary"}}},
        }
    }
}


_bearer = HTTPBearer(auto_error=False)


async def _principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    # On the event loop: a token checked within HEALTHCODE_TOKEN_CACHE_SECONDS costs no thread
    # hop and no database read; otherwise the read runs in the thread pool.
    hub: Hub = request.app.state.hub
    token = credentials.credentials if credentials else None
    principal = hub.orgs.cached(token)
    if principal is not None:
        return principal
    return await run_in_threadpool(hub.orgs.authenticate, token)


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
    async def _healthcode_error(_: Request, exc: HealthcodeError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if status_of(exc) == 401 else None
        return JSONResponse(_error_body(exc), status_code=status_of(exc), headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"field": ".".join(str(p) for p in e.get("loc", ())), "message": str(e.get("msg"))}
            for e in exc.errors()
        ]
        body = {"error": {"code": "REQUEST_INVALID", "message": "bad request", "errors": errors}}
        return JSONResponse(body, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED"}.get(exc.status_code, "HTTP_ERROR")
        body = {"error": {"code": code, "message": str(exc.detail)}}
        return JSONResponse(body, status_code=exc.status_code)

    @app.get("/v1/health", tags=["service"])
    def health() -> dict[str, str]:
        return {"status": "ok"}

    # -- ingest ------------------------------------------------------------------------------

    @app.post("/v1/records/{kind}", tags=["ingest"])
    def submit_one(
        kind: Kind,
        record: Annotated[dict[str, Any], Body()],
        caller: Caller,
        idempotency_key: IdemKey = None,
    ) -> dict[str, Any]:
        """One record: answers ``{"kind", "id"}`` once it is stored (see docs/hub.md)."""
        digest = _digest(b"one", kind.value.encode(), repr(sorted(record.items())).encode())
        return hub.ingest.submit(
            caller,
            kind.value,
            [Located({"index": 0}, record)],
            idempotency_key=idempotency_key,
            request_digest=digest,
            single=True,
        )

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
            raise InvalidInput("CONTENT_TYPE", f"send JSON or NDJSON, not {ctype}")
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
                raise InvalidInput("CONTENT_TYPE", "the multipart form needs a file field 'file'")
            raw = await upload.read()
            await form.close()
        elif ctype in ("text/csv", "text/plain", "application/octet-stream"):
            raw = await _body(request)
        else:
            raise InvalidInput("CONTENT_TYPE", "send text/csv or a multipart file")
        items = formats.parse_csv(kind.value, raw)
        return await run_in_threadpool(
            hub.ingest.submit,
            caller,
            kind.value,
            items,
            idempotency_key=idempotency_key,
            request_digest=_digest(b"csv", kind.value.encode(), raw),
        )

    @app.post("/v1/fhir", tags=["ingest"], openapi_extra=_FHIR_BODY)
    async def submit_fhir(
        caller: Caller, request: Request, idempotency_key: IdemKey = None
    ) -> dict[str, Any]:
        """An HL7 FHIR R4 Bundle (Patient, Observation, Immunization): all or nothing; answers
        ``{"count", "records": [{"entry", "kind", "id", "created"}]}`` (docs/hub.md)."""
        ctype = request.headers.get("content-type", "").split(";")[0].strip()
        if ctype not in fhir.FHIR_MEDIA_TYPES:
            raise InvalidInput("CONTENT_TYPE", "send application/fhir+json")
        raw = await _body(request)
        return await run_in_threadpool(
            hub.fhir.submit,
            caller,
            raw,
            idempotency_key=idempotency_key,
            request_digest=_digest(b"fhir", raw),
        )

    @app.post("/v1/records/{kind}/corrections", tags=["ingest"])
    def correct(
        kind: Kind, caller: Caller, body: Annotated[dict[str, Any], Body()]
    ) -> dict[str, Any]:
        """Correct (``action: "correct"``, ``record``) or withdraw (``action: "withdraw"``) one's
        own record by ``record_id``, with a ``reason``; stored as a new version."""
        return hub.corrections.submit(caller, kind.value, body)

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

    @app.get("/v1/status/{serial}", tags=["status"])
    def status_by_serial(
        serial: Annotated[str, Path(min_length=1, max_length=64)], caller: Caller
    ) -> dict[str, Any]:
        """Cross-province online check of a code by its serial."""
        return hub.status.query(caller, serial=serial)

    @app.get("/v1/status", tags=["status"])
    def status_by_pseudonym(
        pseudonym: Annotated[str, Query(min_length=1, max_length=64)], caller: Caller
    ) -> dict[str, Any]:
        """The latest reported code status of a person, by pseudonym."""
        return hub.status.query(caller, pseudonym=pseudonym)

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
