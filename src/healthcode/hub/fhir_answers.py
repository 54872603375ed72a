"""What ``POST /v1/fhir`` answers, in FHIR R4 terms: a response Bundle, or an OperationOutcome.

A stored Bundle answers a Bundle of type ``transaction-response`` (for a ``transaction`` or a
``collection``: both are stored all or nothing) or ``batch-response`` (for a ``batch``, stored all
or nothing too), with one entry per request entry in the same order (FHIR R4 Bundle, bdl-4:
``entry.response`` with its required ``status``):

- an Observation or Immunization: ``201 Created`` when this request stored it, ``200 OK`` when
  it was stored before or repeated earlier in the Bundle (as a conditional create on its
  identifier would answer), ``location`` ``Observation/<id>`` or ``Immunization/<id>`` (``id``
  is the hub's record id) and the extension :data:`RECORD_KIND_URL` (``nat``, ``antibody``,
  ``vaccination``);
- a Patient: ``200 OK`` without location (the hub keeps no Patient resource, only the person's
  pseudonymised identity with its records), with an informational outcome that says so.

The answer is a pure function of the request Bundle and the ingest service's answer, so an
``Idempotency-Key`` replay (the stored ingest answer, the same request) answers the same Bundle.

An error answers an OperationOutcome: the first issue carries the hub's stable code in
``details.coding[0]`` (system :data:`ERROR_CODE_SYSTEM`) and the message as ``details.text``;
``BATCH_INVALID`` adds one issue per wrong entry, with that entry's code and the FHIRPath of
the offending element in ``expression`` (``Bundle.entry[2].resource.code``). The IssueType of
each code is in :data:`ISSUE_TYPES`; the HTTP status stays the hub's (``app.status_of``).

>>> outcome = operation_outcome("FHIR_BUNDLE_TYPE", "wrong type", {"field": "Bundle.type"}, 422)
>>> issue = outcome["issue"][0]
>>> (issue["code"], issue["details"]["coding"][0]["code"], issue["expression"])
('value', 'FHIR_BUNDLE_TYPE', ['Bundle.type'])
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from healthcode.core.error_codes import ErrorCode

__all__ = [
    "ERROR_CODE_SYSTEM",
    "FHIR_JSON",
    "ISSUE_TYPES",
    "OPERATION_OUTCOME_SCHEMA",
    "RECORD_KIND_URL",
    "RESPONSE_BUNDLE_SCHEMA",
    "RESPONSE_TYPES",
    "operation_outcome",
    "response_bundle",
]

FHIR_JSON = "application/fhir+json"
#: The code system of the hub's stable error codes (the project's ``urn:healthcode:`` names).
ERROR_CODE_SYSTEM = "urn:healthcode:error-code"
#: Extension on ``Bundle.entry.response``: the hub's record kind (valueCode).
RECORD_KIND_URL = "urn:healthcode:record-kind"
#: Request Bundle.type -> response Bundle.type.
RESPONSE_TYPES = {
    "transaction": "transaction-response",
    "batch": "batch-response",
    "collection": "transaction-response",
}
#: The hub's record kind -> the FHIR resource type it came from.
_RESOURCE_OF = {"nat": "Observation", "antibody": "Observation", "vaccination": "Immunization"}
_PATIENT_NOT_STORED = (
    "Patient resources are not stored: the person's identity is kept, pseudonymised, with the "
    "records that reference it"
)

#: JSON Schema of the OperationOutcomes written here (for the OpenAPI document).
OPERATION_OUTCOME_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["resourceType", "issue"],
    "properties": {
        "resourceType": {"type": "string", "enum": ["OperationOutcome"]},
        "issue": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["severity", "code"],
                "properties": {
                    "severity": {"type": "string", "enum": ["error", "information"]},
                    "code": {"type": "string", "description": "FHIR R4 IssueType"},
                    "details": {
                        "type": "object",
                        "description": "coding[0]: the hub's error code "
                        f"(system {ERROR_CODE_SYSTEM}); text: the message",
                    },
                    "diagnostics": {"type": "string"},
                    "expression": {"type": "array", "items": {"type": "string"}},
                    "location": {"type": "array", "items": {"type": "string"}},
                },
            },
        },
    },
}
#: JSON Schema of the response Bundles written here (for the OpenAPI document).
RESPONSE_BUNDLE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["resourceType", "type", "entry"],
    "properties": {
        "resourceType": {"type": "string", "enum": ["Bundle"]},
        "type": {"type": "string", "enum": ["transaction-response", "batch-response"]},
        "entry": {
            "type": "array",
            "description": "one entry per request entry, in the same order",
            "items": {
                "type": "object",
                "required": ["response"],
                "properties": {
                    "response": {
                        "type": "object",
                        "required": ["status"],
                        "properties": {
                            "status": {"type": "string", "enum": ["201 Created", "200 OK"]},
                            "location": {
                                "type": "string",
                                "description": "Observation/<id> or Immunization/<id>",
                            },
                            "extension": {"type": "array", "items": {"type": "object"}},
                            "outcome": OPERATION_OUTCOME_SCHEMA,
                        },
                    }
                },
            },
        },
    },
}
#: The hub's error code -> FHIR R4 IssueType (http://hl7.org/fhir/issue-type).
ISSUE_TYPES: dict[str, str] = {
    # the request
    ErrorCode.CONTENT_TYPE: "not-supported",
    ErrorCode.METHOD_NOT_ALLOWED: "not-supported",
    ErrorCode.NOT_FOUND: "not-found",
    ErrorCode.JSON_INVALID: "structure",
    ErrorCode.FHIR_NOT_BUNDLE: "structure",
    ErrorCode.REQUEST_INVALID: "invalid",
    ErrorCode.BATCH_TOO_LARGE: "too-costly",
    # authentication and access
    ErrorCode.TOKEN_MISSING: "login",
    ErrorCode.TOKEN_INVALID: "unknown",
    ErrorCode.TOKEN_REVOKED: "unknown",
    ErrorCode.TOKEN_EXPIRED: "expired",
    ErrorCode.KIND_NOT_ALLOWED: "forbidden",
    # the Bundle
    ErrorCode.FHIR_BUNDLE_TYPE: "value",
    ErrorCode.FHIR_BUNDLE_EMPTY: "required",
    ErrorCode.BATCH_EMPTY: "required",
    ErrorCode.BATCH_INVALID: "invalid",
    ErrorCode.DUPLICATE_IN_BATCH: "duplicate",
    ErrorCode.NATURAL_KEY_CONFLICT: "conflict",
    ErrorCode.IDEMPOTENCY_KEY_REUSED: "conflict",
    # an entry (other codes of an entry, such as ID_CHECK_DIGIT or TIME_IN_FUTURE: value)
    ErrorCode.FHIR_RESOURCE_UNSUPPORTED: "not-supported",
    ErrorCode.FHIR_IDENTIFIER_MISSING: "required",
    ErrorCode.FIELD_MISSING: "required",
    ErrorCode.FIELD_TYPE: "structure",
    ErrorCode.FHIR_CODE_SYSTEM: "code-invalid",
    ErrorCode.FHIR_CODE_UNKNOWN: "code-invalid",
    ErrorCode.FHIR_VALUE_UNKNOWN: "code-invalid",
    ErrorCode.VALUE_NOT_IN_SET: "code-invalid",
    ErrorCode.FHIR_REFERENCE_UNRESOLVED: "not-found",
}
#: IssueType of a code not in the table, by HTTP status (an entry's own code: ``value``).
_ISSUE_BY_STATUS = {
    400: "invalid",
    401: "security",
    403: "forbidden",
    404: "not-found",
    409: "conflict",
    413: "too-costly",
    422: "invalid",
}
#: Choice elements ([x]) named by the hub with their type, and their FHIRPath.
_CHOICES = {
    "valueCodeableConcept": "value.ofType(CodeableConcept)",
    "effectiveDateTime": "effective.ofType(dateTime)",
    "effectiveInstant": "effective.ofType(instant)",
    "occurrenceDateTime": "occurrence.ofType(dateTime)",
    "doseNumberPositiveInt": "doseNumber.ofType(positiveInt)",
}
#: Request headers named as a field: the issue's ``location`` is ``http.<header>`` (R4).
_HEADERS = {"Idempotency-Key", "Content-Type", "Authorization"}
_RESOURCE_FIELD = re.compile(r"^[A-Z][A-Za-z]+\.(.+)$")
#: Details already said by the issues themselves (the rest go to ``diagnostics``).
_SAID = frozenset({"entry", "field", "errors", "rejected"})


def response_bundle(bundle: Mapping[str, Any], answer: Mapping[str, Any]) -> dict[str, Any]:
    """The response Bundle of a stored request Bundle, from the ingest service's answer
    ``{"count", "records": [{"entry", "kind", "id", "created"}]}``; entries with no record
    are the Patients."""
    records = {int(r["entry"]): r for r in answer["records"]}
    entries: list[dict[str, Any]] = []
    for i in range(len(bundle["entry"])):
        record = records.get(i)
        if record is None:
            outcome = {
                "resourceType": "OperationOutcome",
                "issue": [
                    {
                        "severity": "information",
                        "code": "informational",
                        "diagnostics": _PATIENT_NOT_STORED,
                    }
                ],
            }
            entries.append({"response": {"status": "200 OK", "outcome": outcome}})
            continue
        kind = str(record["kind"])
        response = {
            "extension": [{"url": RECORD_KIND_URL, "valueCode": kind}],
            "status": "201 Created" if record["created"] else "200 OK",
            "location": f"{_RESOURCE_OF[kind]}/{record['id']}",
        }
        entries.append({"response": response})
    return {
        "resourceType": "Bundle",
        "type": RESPONSE_TYPES[str(bundle["type"])],
        "entry": entries,
    }


def operation_outcome(
    code: str, message: str, details: Mapping[str, Any], status: int
) -> dict[str, Any]:
    """The OperationOutcome of a hub error (its code, message, details and HTTP status)."""
    first = _issue(code, message, ISSUE_TYPES.get(code) or _by_status(status))
    first.update(_where(details.get("entry"), details.get("field")))
    rest = {k: v for k, v in details.items() if k not in _SAID}
    errors = details.get("errors")
    listed = errors if isinstance(errors, list) else []
    rejected = details.get("rejected")
    if isinstance(rejected, int) and rejected > len(listed):
        rest["not listed"] = f"{rejected - len(listed)} more"
    if rest:
        said = [first["diagnostics"]] if "diagnostics" in first else []
        first["diagnostics"] = "; ".join(said + [f"{k}: {v}" for k, v in rest.items()])
    issues = [first]
    for error in listed:
        if not isinstance(error, Mapping):
            continue
        each = str(error.get("code") or code)
        issue = _issue(each, str(error.get("message") or each), ISSUE_TYPES.get(each, "value"))
        issue.update(_where(error.get("entry"), error.get("field")))
        issues.append(issue)
    return {"resourceType": "OperationOutcome", "issue": issues}


def _by_status(status: int) -> str:
    return _ISSUE_BY_STATUS.get(status, "invalid" if 400 <= status < 500 else "processing")


def _issue(code: str, message: str, issue_type: str) -> dict[str, Any]:
    return {
        "severity": "error",
        "code": issue_type,
        "details": {"coding": [{"system": ERROR_CODE_SYSTEM, "code": code}], "text": message},
    }


def _where(entry: Any, field: Any) -> dict[str, Any]:
    """``expression`` (FHIRPath) of the element an error names, or ``location`` ``http.<name>``
    for a request header; ``diagnostics`` for a field of the hub that has no FHIR name."""
    field = field if isinstance(field, str) and field else None
    if isinstance(field, str) and field.removeprefix("header.") in _HEADERS:
        return {"location": [f"http.{field.removeprefix('header.')}"]}
    if not isinstance(entry, int) or isinstance(entry, bool):
        if field is None:
            return {}
        if field.startswith("Bundle."):
            return {"expression": [field]}
        if field == "entry":
            return {"expression": ["Bundle.entry"]}
        return {"diagnostics": f"field: {field}"}
    base = f"Bundle.entry[{entry}]"
    if field is None:
        return {"expression": [base]}
    if field in ("resource", "resourceType"):
        return {"expression": [f"{base}.resource"]}
    match = _RESOURCE_FIELD.match(field)
    if match is None:
        return {"expression": [f"{base}.resource"], "diagnostics": f"field: {field}"}
    path = ".".join(_CHOICES.get(part, part) for part in match.group(1).split("."))
    return {"expression": [f"{base}.resource.{path}"]}
