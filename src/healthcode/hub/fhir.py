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

from healthcode.core import facts, identity
from healthcode.core.clock import CHINA_TZ, Clock
from healthcode.core.error_codes import ErrorCode
from healthcode.core.errors import AccessDenied, InvalidInput
from healthcode.hub.fhir_answers import response_bundle
from healthcode.hub.ingest import MAX_ERRORS_LISTED, IngestService, Located
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
RESIDENT_ID_SYSTEM = "urn:oid:2.16.156.10011.1.3"
ID_TYPE_SYSTEM_PREFIX = "urn:healthcode:id-type:"
LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
CVX = "http://hl7.org/fhir/sid/cvx"
PRODUCT_SYSTEM = "urn:healthcode:vaccine-product"

#: SARS-CoV-2 RNA presence by NAA (LOINC) -> the sample type it implies (None: not implied).
NAT_LOINC: dict[str, str | None] = {
    "94309-2": None,  # SARS-CoV-2 RNA [Presence] in Specimen by NAA with probe detection
    "94500-6": None,  # ... in Respiratory specimen by NAA with probe detection
    "94533-7": None,  # SARS-CoV-2 N gene [Presence] in Respiratory specimen by NAA w/ probe
    "94534-5": None,  # SARS-CoV-2 RdRp gene [Presence] in Respiratory specimen by NAA w/ probe
    "94756-4": None,  # SARS-CoV-2 N gene [Presence] in Respiratory specimen, CDC primer set N1
    "94757-2": None,  # ... CDC primer-probe set N2
    "94759-8": "nasopharyngeal",  # SARS-CoV-2 RNA [Presence] in Nasopharynx by NAA w/ probe
    "94565-9": "nasopharyngeal",  # ... in Nasopharynx by NAA with non-probe detection
    "94845-5": "saliva",  # SARS-CoV-2 RNA [Presence] in Saliva (oral fluid) by NAA w/ probe
    "95406-5": "nasal",  # SARS-CoV-2 RNA [Presence] in Nose by NAA with probe detection
}
#: SARS-CoV-2 antibody presence (LOINC) -> core.facts antibody kind.
ANTIBODY_LOINC: dict[str, str] = {
    "94563-4": "IgG",  # SARS-CoV-2 IgG Ab [Presence] in Serum or Plasma by Immunoassay
    "94507-1": "IgG",  # SARS-CoV-2 IgG Ab [Presence] in Serum, Plasma or Blood by Rapid IA
    "94564-2": "IgM",  # SARS-CoV-2 IgM Ab [Presence] in Serum or Plasma by Immunoassay
    "94508-9": "IgM",  # SARS-CoV-2 IgM Ab [Presence] in Serum, Plasma or Blood by Rapid IA
    "94762-2": "total",  # SARS-CoV-2 Ab [Presence] in Serum or Plasma by Immunoassay
}
RESULT_SNOMED = {"260373001": "positive", "260415000": "negative"}
RESULT_INTERPRETATION = {"POS": "positive", "DET": "positive", "NEG": "negative", "ND": "negative"}
#: CVX codes of the Chinese COVID-19 vaccines -> core.facts product code.
CVX_PRODUCTS: dict[str, str] = {
    "510": "BIBP",  # COVID-19 IV Non-US Vaccine (BIBP, Sinopharm)
    "511": "CoronaVac",  # COVID-19 IV Non-US Vaccine (CoronaVac, Sinovac)
    "506": "Ad5-nCoV",  # COVID-19 VVnr Non-US Vaccine (CanSino / Beijing Inst. of Biotechnology)
    "507": "ZF2001",  # COVID-19 PS Non-US Vaccine (Anhui Zhifei Longcom + IMCAS)
    "513": "ZF2001",  # SARS-COV-2 COVID-19 PS Non-US Vaccine (Anhui Zhifei Longcom, Zifivax)
    "516": "KCONVAC",  # COV-2 COVID-19 Inactivated Non-US Vaccine (Minhai, KCONVAC)
}
OBSERVATION_STATUSES = ("final", "amended", "corrected")
#: Hub record field -> the FHIR field it comes from (to name FHIR fields in core's errors).
_FIELDS: dict[str, dict[str, str]] = {
    "observation": {
        "record_id": "Observation.identifier",
        "sampled_at": "Observation.effectiveDateTime",
        "resulted_at": "Observation.issued",
        "result": "Observation.valueCodeableConcept",
        "lab": "Observation.performer",
        "kind": "Observation.code",
        "sample_type": "Observation.code",
    },
    "vaccination": {
        "record_id": "Immunization.identifier",
        "product": "Immunization.vaccineCode",
        "dose": "Immunization.protocolApplied.doseNumberPositiveInt",
        "administered_at": "Immunization.occurrenceDateTime",
        "site": "Immunization.location",
    },
    "patient": {
        "id_number": "Patient.identifier",
        "id_type": "Patient.identifier",
        "name": "Patient.name",
        "phone": "Patient.telecom",
    },
}


def value_sets() -> dict[str, Any]:
    """The code systems and value sets the hub checks, as one JSON-ready document."""
    return {
        "patient_identifier": {"resident_id": RESIDENT_ID_SYSTEM, "other": ID_TYPE_SYSTEM_PREFIX},
        "id_types": [t.value for t in identity.IdType],
        "nat_loinc": NAT_LOINC,
        "antibody_loinc": ANTIBODY_LOINC,
        "result_snomed": RESULT_SNOMED,
        "result_interpretation": RESULT_INTERPRETATION,
        "vaccine_cvx": CVX_PRODUCTS,
        "vaccine_products": {k: list(v) for k, v in facts.VACCINE_PRODUCTS.items()},
        "test_results": list(facts.TEST_RESULTS),
        "nat_sample_types": list(facts.NAT_SAMPLE_TYPES),
        "antibody_kinds": list(facts.ANTIBODY_KINDS),
        "infection_statuses": list(facts.INFECTION_STATUSES),
        "contact_kinds": list(facts.CONTACT_KINDS),
        "itinerary_sources": list(facts.ITINERARY_SOURCES),
        "risk_levels": list(facts.RISK_LEVELS),
    }


def parse_bundle(raw: bytes) -> dict[str, Any]:
    """Raises InvalidInput JSON_INVALID, FHIR_NOT_BUNDLE."""
    try:
        value = json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInput(ErrorCode.JSON_INVALID, f"not JSON: {exc}") from exc
    if not isinstance(value, dict) or value.get("resourceType") != "Bundle":
        raise InvalidInput(
            ErrorCode.FHIR_NOT_BUNDLE, "the body must be a FHIR Bundle", field="resourceType"
        )
    return value


class _Refused(Exception):
    def __init__(self, code: str, field: str, message: str) -> None:
        super().__init__(message)
        self.code, self.field, self.message = code, field, message


def _obj(value: Any, field: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _Refused(ErrorCode.FIELD_TYPE, field, f"{field} must be an object")
    return value


def _list(value: Any, field: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise _Refused(ErrorCode.FIELD_TYPE, field, f"{field} must be an array")
    return value


def _codings(concept: Any, field: str) -> list[dict[str, Any]]:
    if concept is None:
        return []
    return [c for c in _list(_obj(concept, field).get("coding"), field) if isinstance(c, dict)]


def _pick(
    concept: Any, field: str, tables: Mapping[str, Mapping[str, Any]], *, required: bool = True
) -> Any:
    """The mapped value of the first coding whose system has a table; FHIR_CODE_UNKNOWN for a
    code outside it, FHIR_CODE_SYSTEM when no coding has a known system."""
    for coding in _codings(concept, field):
        table = tables.get(str(coding.get("system")))
        if table is None:
            continue
        code = coding.get("code")
        if not isinstance(code, str) or code not in table:
            raise _Refused(
                ErrorCode.FHIR_CODE_UNKNOWN,
                field,
                f"{field}: {coding.get('system')}|{code} is not in the hub's value set",
            )
        return table[code]
    if required:
        raise _Refused(
            ErrorCode.FHIR_CODE_SYSTEM,
            field,
            f"{field} needs a coding from {', '.join(sorted(tables))}",
        )
    return None


def _record_id(resource: dict[str, Any], kind: str) -> str:
    for ident in _list(resource.get("identifier"), f"{kind}.identifier"):
        if isinstance(ident, dict) and isinstance(ident.get("value"), str) and ident["value"]:
            return str(ident["value"])
    if isinstance(resource.get("id"), str) and resource["id"]:
        return str(resource["id"])
    raise _Refused(
        ErrorCode.FHIR_IDENTIFIER_MISSING,
        f"{kind}.identifier",
        f"a {kind} needs an identifier (the submitter's own id) or an id: its natural key",
    )


@dataclass(frozen=True, slots=True)
class _Person:
    id_type: str
    id_number: str
    name: str | None
    phone: str | None


def _patient(resource: dict[str, Any], today: Any) -> _Person:
    identifiers = [
        i for i in _list(resource.get("identifier"), "Patient.identifier") if isinstance(i, dict)
    ]
    if not identifiers:
        raise _Refused(
            ErrorCode.FHIR_IDENTIFIER_MISSING, "Patient.identifier", "no Patient.identifier"
        )
    chosen: tuple[str, Any] | None = None
    for ident in identifiers:
        system = str(ident.get("system"))
        if system == RESIDENT_ID_SYSTEM:
            chosen = (identity.IdType.RESIDENT_ID.value, ident.get("value"))
            break
        if system.startswith(ID_TYPE_SYSTEM_PREFIX):
            id_type = system[len(ID_TYPE_SYSTEM_PREFIX) :]
            if id_type in {t.value for t in identity.IdType}:
                chosen = (id_type, ident.get("value"))
                break
    if chosen is None:
        raise _Refused(
            ErrorCode.FHIR_IDENTIFIER_SYSTEM,
            "Patient.identifier",
            f"no identifier with system {RESIDENT_ID_SYSTEM} or {ID_TYPE_SYSTEM_PREFIX}<id type>",
        )
    id_type, value = chosen
    if not isinstance(value, str) or not value.strip():
        raise _Refused(
            ErrorCode.FIELD_MISSING, "Patient.identifier", "Patient.identifier.value is empty"
        )
    try:
        number = identity.validate_id(id_type, value.strip(), nationality=None, today=today)
    except InvalidInput as exc:
        raise _Refused(exc.code, "Patient.identifier", exc.message) from exc
    name = None
    for item in _list(resource.get("name"), "Patient.name"):
        if isinstance(item, dict):
            given = [g for g in _list(item.get("given"), "Patient.name") if isinstance(g, str)]
            text = item.get("text") or (str(item.get("family") or "") + "".join(given))
            name = text if isinstance(text, str) and text.strip() else None
            break
    phone = None
    for item in _list(resource.get("telecom"), "Patient.telecom"):
        if isinstance(item, dict) and item.get("system") in ("phone", "sms"):
            phone = item.get("value") if isinstance(item.get("value"), str) else None
            break
    return _Person(id_type, number, name, phone)


def _subject(resource: dict[str, Any], name: str, people: Mapping[str, _Person]) -> _Person:
    kind = resource["resourceType"]
    field = f"{kind}.{name}"
    ref = _obj(resource.get(name), field).get("reference")
    person = people.get(ref) if isinstance(ref, str) else None
    if person is None:
        raise _Refused(
            ErrorCode.FHIR_REFERENCE_UNRESOLVED,
            field,
            f"{field} {ref!r} names no valid Patient of this Bundle (fullUrl or Patient/id)",
        )
    return person


def _envelope(record_id: str, person: _Person) -> dict[str, Any]:
    return {
        "record_id": record_id,
        "id_type": person.id_type,
        "id_number": person.id_number,
        "name": person.name,
        "phone": person.phone,
    }


def _observation(resource: dict[str, Any], person: _Person) -> tuple[str, dict[str, Any]]:
    if resource.get("status") not in OBSERVATION_STATUSES:
        raise _Refused(
            ErrorCode.FHIR_STATUS,
            "Observation.status",
            f"Observation.status must be one of {', '.join(OBSERVATION_STATUSES)}",
        )
    known = {code: code for code in (*NAT_LOINC, *ANTIBODY_LOINC)}
    code = _pick(resource.get("code"), "Observation.code", {LOINC: known})
    result = _pick(
        resource.get("valueCodeableConcept"),
        "Observation.valueCodeableConcept",
        {SNOMED: RESULT_SNOMED},
        required=False,
    )
    if result is None:
        for i, concept in enumerate(
            _list(resource.get("interpretation"), "Observation.interpretation")
        ):
            field = f"Observation.interpretation[{i}]"
            result = _pick(concept, field, {INTERPRETATION: RESULT_INTERPRETATION}, required=False)
            if result is not None:
                break
    if result is None:
        raise _Refused(
            ErrorCode.FHIR_VALUE_UNKNOWN,
            "Observation.valueCodeableConcept",
            "the result must be SNOMED CT 260373001/260415000 or an interpretation POS/NEG",
        )
    record = _envelope(_record_id(resource, "Observation"), person)
    record["sampled_at"] = resource.get("effectiveDateTime") or resource.get("effectiveInstant")
    record["result"] = result
    if resource.get("issued") is not None:
        record["resulted_at"] = resource["issued"]
    for performer in _list(resource.get("performer"), "Observation.performer"):
        if isinstance(performer, dict) and isinstance(performer.get("display"), str):
            record["lab"] = performer["display"]
            break
    if code in ANTIBODY_LOINC:
        record["kind"] = ANTIBODY_LOINC[code]
        return "antibody", record
    if NAT_LOINC[code] is not None:
        record["sample_type"] = NAT_LOINC[code]
    return "nat", record


def _immunization(resource: dict[str, Any], person: _Person) -> dict[str, Any]:
    if resource.get("status") != "completed":
        raise _Refused(
            ErrorCode.FHIR_STATUS, "Immunization.status", "Immunization.status must be completed"
        )
    product = _pick(
        resource.get("vaccineCode"),
        "Immunization.vaccineCode",
        {CVX: CVX_PRODUCTS, PRODUCT_SYSTEM: {k: k for k in facts.VACCINE_PRODUCTS}},
    )
    record = _envelope(_record_id(resource, "Immunization"), person)
    record["product"] = product
    record["administered_at"] = resource.get("occurrenceDateTime")
    applied = [
        p
        for p in _list(resource.get("protocolApplied"), "Immunization.protocolApplied")
        if isinstance(p, dict)
    ]
    if applied:
        record["dose"] = applied[0].get("doseNumberPositiveInt")
    site = None
    location = resource.get("location")
    if isinstance(location, dict) and isinstance(location.get("display"), str):
        site = location["display"]
    for performer in _list(resource.get("performer"), "Immunization.performer"):
        actor = performer.get("actor") if isinstance(performer, dict) else None
        if site is None and isinstance(actor, dict) and isinstance(actor.get("display"), str):
            site = actor["display"]
    if site is not None:
        record["site"] = site
    return record


def bundle_to_records(
    bundle: Mapping[str, Any], *, today: Any, default_site: str
) -> list[tuple[str, Located]]:
    """Map a Bundle to ``(kind, Located({"entry": i}, record))``; Patients are only referenced.

    Raises InvalidInput FHIR_BUNDLE_TYPE, FHIR_BUNDLE_EMPTY, or BATCH_INVALID listing every wrong
    entry (``entry``, ``field``, ``code``: FHIR_RESOURCE_UNSUPPORTED, FHIR_STATUS,
    FHIR_CODE_SYSTEM, FHIR_CODE_UNKNOWN, FHIR_VALUE_UNKNOWN, FHIR_REFERENCE_UNRESOLVED,
    FHIR_IDENTIFIER_MISSING, FHIR_IDENTIFIER_SYSTEM, ID_*, FIELD_*).
    """
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
    errors: list[dict[str, Any]] = []
    resources: list[dict[str, Any] | None] = []
    people: dict[str, _Person] = {}
    for i, entry in enumerate(entries):  # first pass: the Patients
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict):
            errors.append(_error(i, _Refused(ErrorCode.FIELD_MISSING, "resource", "no resource")))
            resources.append(None)
            continue
        resources.append(resource)
        if resource.get("resourceType") != "Patient":
            continue
        try:
            person = _patient(resource, today)
        except _Refused as exc:
            errors.append(_error(i, exc))
            continue
        if isinstance(entry.get("fullUrl"), str):
            people[entry["fullUrl"]] = person
        if isinstance(resource.get("id"), str):
            people[f"Patient/{resource['id']}"] = person
    out: list[tuple[str, Located]] = []
    for i, resource in enumerate(resources):  # second pass: the facts
        if resource is None or resource.get("resourceType") == "Patient":
            continue
        try:
            kind = resource.get("resourceType")
            if kind == "Observation":
                record_kind, record = _observation(resource, _subject(resource, "subject", people))
            elif kind == "Immunization":
                record_kind = "vaccination"
                record = _immunization(resource, _subject(resource, "patient", people))
                record.setdefault("site", default_site)
            else:
                raise _Refused(
                    ErrorCode.FHIR_RESOURCE_UNSUPPORTED,
                    "resourceType",
                    f"{kind!r}: a Bundle holds Patient, Observation and Immunization only",
                )
        except _Refused as exc:
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


def _error(entry: int, exc: _Refused) -> dict[str, Any]:
    return {"entry": entry, "code": exc.code, "field": exc.field, "message": exc.message}


def _fhir_field(kind: str, field: Any) -> Any:
    group = "vaccination" if kind == "vaccination" else "observation"
    return _FIELDS[group].get(field) or _FIELDS["patient"].get(field) or field


class FhirService:
    """Submits FHIR Bundles through the ingest service (same access matrix, same guarantees)."""

    def __init__(self, *, ingest: IngestService, clock: Clock) -> None:
        self.ingest = ingest
        self.clock = clock

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
        if principal.kind not in ("lab", "vaccination"):
            raise AccessDenied(
                ErrorCode.KIND_NOT_ALLOWED, f"a {principal.kind} may not submit FHIR Bundles"
            )
        bundle = parse_bundle(raw)
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
