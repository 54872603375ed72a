"""Ingest routes: one record, a JSON or NDJSON batch, a CSV file, a FHIR Bundle (docs/hub.md).

The body is read and decoded here (``hub/formats.py``); checking and storing is the ingest
service's. The sync routes answer a ``JSONResponse`` themselves: for a sync route FastAPI would
otherwise check the returned dict against ``response_model`` in a second thread-pool hop
(``response_model`` stays for the OpenAPI document).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response

from healthcode.core.error_codes import ErrorCode
from healthcode.core.errors import InvalidInput
from healthcode.hub import fhir, fhir_answers, formats
from healthcode.hub.batches import Located
from healthcode.hub.routes.answers import JSON_BODY_ERRORS, errors
from healthcode.hub.routes.common import (
    FHIR_PATH,
    AuthFirstRoute,
    Caller,
    FhirJSONResponse,
    IdemKey,
    Kind,
    Services,
    content_type,
    permission,
    read_body,
    request_digest,
)

__all__ = ["router"]

router = APIRouter(tags=["ingest"], route_class=AuthFirstRoute)

_NDJSON_TYPES = ("application/x-ndjson", "application/ndjson", "application/jsonl")
_CSV_TYPES = ("text/csv", "text/plain", "application/octet-stream")

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


_SUBMIT = "submit:{kind}"


@router.post(
    "/v1/records/{kind}",
    response_model=dict[str, Any],
    openapi_extra=permission(_SUBMIT),
    responses=errors(*JSON_BODY_ERRORS),
)
def submit_one(
    kind: Kind,
    record: Annotated[dict[str, Any], Body()],
    caller: Caller,
    hub: Services,
    idempotency_key: IdemKey = None,
) -> Response:
    """One record: answers ``{"kind", "id"}`` once it is stored (see docs/hub.md)."""
    digest = request_digest(b"one", kind.value.encode(), repr(sorted(record.items())).encode())
    answer = hub.ingest.submit(
        caller,
        kind.value,
        [Located({"index": 0}, record)],
        idempotency_key=idempotency_key,
        request_digest=digest,
        single=True,
    )
    return JSONResponse(answer)


@router.post(
    "/v1/records/{kind}/batch",
    openapi_extra=permission(_SUBMIT, **_BATCH_BODY),
    responses=errors(*JSON_BODY_ERRORS),
)
async def submit_batch(
    kind: Kind, caller: Caller, hub: Services, request: Request, idempotency_key: IdemKey = None
) -> dict[str, Any]:
    """A batch (JSON array, or NDJSON with ``Content-Type: application/x-ndjson``):
    all or nothing; answers ``{"kind", "count", "ids"}``."""
    raw = await read_body(request)
    ctype = content_type(request, "application/json")
    max_depth = hub.settings.json_depth_max
    if ctype in _NDJSON_TYPES:
        items = formats.parse_ndjson(raw, max_depth=max_depth)
    elif ctype in ("application/json", ""):
        items = formats.parse_json_array(raw, max_depth=max_depth)
    else:
        raise InvalidInput(ErrorCode.CONTENT_TYPE, f"send JSON or NDJSON, not {ctype}")
    digest = request_digest(b"batch", kind.value.encode(), raw)
    return await _submit(hub, caller, kind, items, idempotency_key, digest)


@router.post(
    "/v1/records/{kind}/csv",
    openapi_extra=permission(_SUBMIT, **_CSV_BODY),
    responses=errors(*JSON_BODY_ERRORS),
)
async def submit_csv(
    kind: Kind, caller: Caller, hub: Services, request: Request, idempotency_key: IdemKey = None
) -> dict[str, Any]:
    """A CSV file (``text/csv`` body, or multipart field ``file``); columns in docs/hub.md."""
    raw = await _csv_body(request)
    items = formats.parse_csv(kind.value, raw)
    digest = request_digest(b"csv", kind.value.encode(), raw)
    return await _submit(hub, caller, kind, items, idempotency_key, digest)


async def _submit(
    hub: Services,
    caller: Caller,
    kind: Kind,
    items: list[Located],
    idempotency_key: str | None,
    digest: str,
) -> dict[str, Any]:
    return await run_in_threadpool(
        hub.ingest.submit,
        caller,
        kind.value,
        items,
        idempotency_key=idempotency_key,
        request_digest=digest,
    )


async def _csv_body(request: Request) -> bytes:
    ctype = content_type(request)
    if ctype in _CSV_TYPES:
        return await read_body(request)
    if ctype != "multipart/form-data":
        raise InvalidInput(ErrorCode.CONTENT_TYPE, "send text/csv or a multipart file")
    form = await request.form()
    upload = form.get("file")
    if upload is None or isinstance(upload, str):
        raise InvalidInput(ErrorCode.CONTENT_TYPE, "the multipart form needs a file field 'file'")
    raw = await upload.read()
    await form.close()
    return raw


@router.post(
    FHIR_PATH,
    openapi_extra=_FHIR_BODY,
    response_class=FhirJSONResponse,
    responses=_FHIR_ANSWERS,
)
async def submit_fhir(
    caller: Caller, hub: Services, request: Request, idempotency_key: IdemKey = None
) -> FhirJSONResponse:
    """An HL7 FHIR R4 Bundle (Patient, Observation, Immunization): all or nothing; answers
    a ``transaction-response`` (or ``batch-response``) Bundle, one entry per request entry
    (``201 Created`` / ``200 OK``, ``location``); errors as OperationOutcomes (docs/hub.md)."""
    if content_type(request) not in fhir.FHIR_MEDIA_TYPES:
        raise InvalidInput(
            ErrorCode.CONTENT_TYPE, "send application/fhir+json", field="Content-Type"
        )
    hub.fhir.require_submitter(caller)
    raw = await read_body(request)
    answer = await run_in_threadpool(
        hub.fhir.submit,
        caller,
        raw,
        idempotency_key=idempotency_key,
        request_digest=request_digest(b"fhir", raw),
    )
    return FhirJSONResponse(answer)
