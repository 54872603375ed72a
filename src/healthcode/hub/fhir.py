"""HL7 FHIR R4 Bundles to hub records: Patient + Observation (NAT, antibody) + Immunization.

A Bundle (``type`` transaction, batch or collection) is checked entry by entry, mapped to the
hub's records (``hub/records.py``) and stored all or nothing by the ingest service, each record
located as ``{"entry": i}`` (0-based index in ``Bundle.entry``). Every error names the entry, the
FHIR field (``Observation.code``, ``Patient.identifier``...) and a stable code. A ``batch`` Bundle
is stored all or nothing too (stricter than FHIR's independent batch entries). The answer, a
response Bundle or an OperationOutcome, is built by ``hub/fhir_answers.py``.

The JSON is read as plain dicts with explicit checks, not with a FHIR model library: such
libraries check structure and cardinality but not terminology bindings (a LOINC code outside our
value set, a SNOMED result we cannot read), and those are the checks that matter here; plain
dicts also keep the error paths ours and avoid a heavy dependency.

Code systems and value sets (also published as the signed ``value-set`` document):

- Patient identifier: :data:`RESIDENT_ID_SYSTEM` ``urn:oid:2.16.156.10011.1.3``, the resident ID
  card number (居民身份证号) namespace of the national health information OIDs (as used in WS/T
  500 shared documents); other ID types as ``urn:healthcode:id-type:<core.identity.IdType>``.
- Observation.code: LOINC (``http://loinc.org``), :data:`NAT_LOINC` and :data:`ANTIBODY_LOINC`.
- Observation result: ``valueCodeableConcept`` in SNOMED CT (260373001 Detected, 260415000 Not
  detected), or ``interpretation`` in v3 ObservationInterpretation (POS, DET, NEG, ND).
- Immunization.vaccineCode: CVX (``http://hl7.org/fhir/sid/cvx``, :data:`CVX_PRODUCTS`) or the
  project's :data:`PRODUCT_SYSTEM`, whose codes are ``core.facts.VACCINE_PRODUCTS`` (every product
  approved in China, also those without a CVX code).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from healthcode.core.clock import CHINA_TZ, Clock
from healthcode.core.error_codes import ErrorCode
from healthcode.core.errors import AccessDenied, InvalidInput
from healthcode.hub.batches import MAX_ERRORS_LISTED, Located
from healthcode.hub.fhir_answers import response_bundle
from healthcode.hub.fhir_resources import (
    Person,
    Refused,
    immunization,
    observation,
    patient,
    subject,
)
from healthcode.hub.fhir_terms import (
    ANTIBODY_LOINC,
    CVX_PRODUCTS,
    FHIR_FIELDS,
    NAT_LOINC,
    PRODUCT_SYSTEM,
    RESIDENT_ID_SYSTEM,
    value_sets,
)
from healthcode.hub.fields import load_json
from healthcode.hub.ingest import IngestService
from healthcode.hub.orgs import Principal

__all__ = [
    "ANTIBODY_LOINC",
    "BUNDLE_TYPES",
    "CVX_PRODUCTS",
    "FHIR_MEDIA_TYPES",
    "NAT_LOINC",
    "PRODUCT_SYSTEM",
    "RESIDENT_ID_SYSTEM",
    "FhirService",
    "bundle_to_records",
    "parse_bundle",
    "value_sets",
]

FHIR_MEDIA_TYPES = ("application/fhir+json", "application/json")
BUNDLE_TYPES = ("transaction", "batch", "collection")


def parse_bundle(raw: bytes, *, max_depth: int) -> dict[str, Any]:
    """Raises InvalidInput JSON_INVALID, FHIR_NOT_BUNDLE; JSON_TOO_DEEP, TEXT_INVALID,
    TIME_OUT_OF_RANGE (``fields.load_json``)."""
    try:
        value = load_json(raw.decode("utf-8-sig"), max_depth=max_depth)
    except InvalidInput as exc:
        field = exc.details.get("field")
        if not field:
            raise
        details = {**exc.details, "field": _fhir_path(field)}
        raise InvalidInput(exc.code, exc.message, **details) from exc
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInput(ErrorCode.JSON_INVALID, f"not JSON: {exc}") from exc
    if not isinstance(value, dict) or value.get("resourceType") != "Bundle":
        raise InvalidInput(
            ErrorCode.FHIR_NOT_BUNDLE, "the body must be a FHIR Bundle", field="resourceType"
        )
    return value


def _fhir_path(field: str) -> str:
    """The FHIRPath of a field of the Bundle named by its JSON path (``entry.0.resource.x``
    is ``Bundle.entry[0].resource.x``)."""
    path = "Bundle"
    for part in field.split("."):
        path += f"[{part}]" if part.isdigit() else f".{part}"
    return path


def bundle_to_records(
    bundle: Mapping[str, Any], *, today: Any, default_site: str
) -> list[tuple[str, Located]]:
    """Map a Bundle to ``(kind, Located({"entry": i}, record))``; Patients are only referenced.

    Raises InvalidInput FHIR_BUNDLE_TYPE, FHIR_BUNDLE_EMPTY, or BATCH_INVALID listing every wrong
    entry (``entry``, ``field``, ``code``: FHIR_RESOURCE_UNSUPPORTED, FHIR_STATUS,
    FHIR_CODE_SYSTEM, FHIR_CODE_UNKNOWN, FHIR_VALUE_UNKNOWN, FHIR_REFERENCE_UNRESOLVED,
    FHIR_IDENTIFIER_MISSING, FHIR_IDENTIFIER_SYSTEM, ID_*, FIELD_*).
    """
    errors: list[dict[str, Any]] = []
    resources, people = _patients(_entries(bundle), today, errors)
    out: list[tuple[str, Located]] = []
    for i, resource in enumerate(resources):  # second pass: the facts
        if resource is None or resource.get("resourceType") == "Patient":
            continue
        try:
            record_kind, record = _fact(resource, people, default_site)
        except Refused as exc:
            errors.append(_error(i, exc))
            continue
        out.append((record_kind, Located({"entry": i}, record)))
    if errors:
        raise InvalidInput(
            ErrorCode.BATCH_INVALID,
            f"{len(errors)} entries are invalid; nothing was stored",
            rejected=len(errors),
            errors=errors[:MAX_ERRORS_LISTED],
        )
    if not out:
        raise InvalidInput(
            ErrorCode.FHIR_BUNDLE_EMPTY,
            "the Bundle has no Observation or Immunization",
            field="entry",
        )
    return out


def _entries(bundle: Mapping[str, Any]) -> list[Any]:
    """Raises InvalidInput FHIR_BUNDLE_TYPE, FHIR_BUNDLE_EMPTY."""
    if bundle.get("type") not in BUNDLE_TYPES:
        raise InvalidInput(
            ErrorCode.FHIR_BUNDLE_TYPE,
            f"Bundle.type must be one of {', '.join(BUNDLE_TYPES)}",
            field="Bundle.type",
        )
    entries = bundle.get("entry")
    if not isinstance(entries, list) or not entries:
        raise InvalidInput(
            ErrorCode.FHIR_BUNDLE_EMPTY, "the Bundle has no entries", field="Bundle.entry"
        )
    return entries


def _patients(
    entries: list[Any], today: Any, errors: list[dict[str, Any]]
) -> tuple[list[dict[str, Any] | None], dict[str, Person]]:
    """First pass: each entry's resource (None if it has none) and the Patients by the
    references that name them (``fullUrl`` and ``Patient/<id>``); errors appended."""
    resources: list[dict[str, Any] | None] = []
    people: dict[str, Person] = {}
    for i, entry in enumerate(entries):
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict):
            errors.append(_error(i, Refused(ErrorCode.FIELD_MISSING, "resource", "no resource")))
            resources.append(None)
            continue
        resources.append(resource)
        if resource.get("resourceType") != "Patient":
            continue
        try:
            person = patient(resource, today)
        except Refused as exc:
            errors.append(_error(i, exc))
            continue
        if isinstance(entry.get("fullUrl"), str):
            people[entry["fullUrl"]] = person
        if isinstance(resource.get("id"), str):
            people[f"Patient/{resource['id']}"] = person
    return resources, people


def _fact(
    resource: dict[str, Any], people: Mapping[str, Person], default_site: str
) -> tuple[str, dict[str, Any]]:
    """(record kind, record) of an Observation or Immunization."""
    kind = resource.get("resourceType")
    if kind == "Observation":
        return observation(resource, subject(resource, "subject", people))
    if kind == "Immunization":
        record = immunization(resource, subject(resource, "patient", people))
        record.setdefault("site", default_site)
        return "vaccination", record
    raise Refused(
        ErrorCode.FHIR_RESOURCE_UNSUPPORTED,
        "resourceType",
        f"{kind!r}: a Bundle holds Patient, Observation and Immunization only",
    )


def _error(entry: int, exc: Refused) -> dict[str, Any]:
    return {"entry": entry, "code": exc.code, "field": exc.field, "message": exc.message}


def _fhir_field(kind: str, field: Any) -> Any:
    group = "vaccination" if kind == "vaccination" else "observation"
    return FHIR_FIELDS[group].get(field) or FHIR_FIELDS["patient"].get(field) or field


@dataclass(kw_only=True, eq=False)
class FhirService:
    """Submits FHIR Bundles through the ingest service (same access matrix, same guarantees)."""

    ingest: IngestService
    clock: Clock
    #: how deep the Bundle's JSON may nest (``HEALTHCODE_JSON_DEPTH_MAX``)
    max_depth: int

    @staticmethod
    def require_submitter(principal: Principal) -> None:
        """Whether the caller may send Bundles at all (before its body is read).

        Raises AccessDenied KIND_NOT_ALLOWED unless a lab or a vaccination site.
        """
        if principal.kind not in ("lab", "vaccination"):
            raise AccessDenied(
                ErrorCode.KIND_NOT_ALLOWED, f"a {principal.kind} may not submit FHIR Bundles"
            )

    def submit(
        self,
        principal: Principal,
        raw: bytes,
        *,
        idempotency_key: str | None = None,
        request_digest: str = "",
    ) -> dict[str, Any]:
        """Store the Bundle's records all or nothing; answers the response Bundle
        (``fhir_answers.response_bundle``: one entry per request entry, ``201 Created`` or
        ``200 OK``, ``location`` ``Observation/<id>`` or ``Immunization/<id>``).

        Raises AccessDenied KIND_NOT_ALLOWED (e.g. a lab with an Immunization); InvalidInput
        JSON_INVALID, FHIR_NOT_BUNDLE, FHIR_BUNDLE_TYPE, FHIR_BUNDLE_EMPTY, BATCH_INVALID (with
        ``entry`` and the FHIR ``field`` of each error), NATURAL_KEY_CONFLICT,
        IDEMPOTENCY_KEY_REUSED, DUPLICATE_IN_BATCH.
        """
        self.require_submitter(principal)
        bundle = parse_bundle(raw, max_depth=self.max_depth)
        today = self.clock.now().astimezone(CHINA_TZ).date()
        items = bundle_to_records(bundle, today=today, default_site=principal.name)
        kind_of = {item.where["entry"]: kind for kind, item in items}
        try:
            answer = self.ingest.submit_mixed(
                principal, items, idempotency_key=idempotency_key, request_digest=request_digest
            )
        except InvalidInput as exc:
            raise _in_fhir_terms(exc, kind_of) from exc
        # An Idempotency-Key replay gives the stored answer for the same Bundle: the same Bundle.
        return response_bundle(bundle, answer)


def _in_fhir_terms(exc: InvalidInput, kind_of: Mapping[int, str]) -> InvalidInput:
    """The same error, with the hub's record fields named as the FHIR fields they came from."""
    details = dict(exc.details)
    if "entry" in details and "field" in details:
        details["field"] = _fhir_field(kind_of.get(details["entry"], ""), details["field"])
    if isinstance(details.get("errors"), list):
        details["errors"] = [
            {**e, "field": _fhir_field(kind_of.get(e.get("entry", -1), ""), e["field"])}
            if "field" in e
            else e
            for e in details["errors"]
        ]
    return InvalidInput(exc.code, exc.message, **details)
