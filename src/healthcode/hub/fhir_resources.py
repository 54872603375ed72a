"""FHIR R4 resources to hub records: Patient (who), Observation (NAT, antibody), Immunization.

Each function reads one resource as a plain dict with explicit checks and raises ``Refused``
naming the FHIR field and a stable code; ``hub/fhir.py`` collects them per Bundle entry.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from healthcode.core import facts, identity
from healthcode.core.error_codes import ErrorCode
from healthcode.core.errors import InvalidInput
from healthcode.hub.fhir_terms import (
    ANTIBODY_LOINC,
    CVX,
    CVX_PRODUCTS,
    ID_TYPE_SYSTEM_PREFIX,
    INTERPRETATION,
    LOINC,
    NAT_LOINC,
    OBSERVATION_STATUSES,
    PRODUCT_SYSTEM,
    RESIDENT_ID_SYSTEM,
    RESULT_INTERPRETATION,
    RESULT_SNOMED,
    SNOMED,
)

__all__ = ["Person", "Refused", "immunization", "observation", "patient", "subject"]


class Refused(Exception):
    def __init__(self, code: str, field: str, message: str) -> None:
        super().__init__(message)
        self.code, self.field, self.message = code, field, message


def _obj(value: Any, field: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise Refused(ErrorCode.FIELD_TYPE, field, f"{field} must be an object")
    return value


def _list(value: Any, field: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise Refused(ErrorCode.FIELD_TYPE, field, f"{field} must be an array")
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
            raise Refused(
                ErrorCode.FHIR_CODE_UNKNOWN,
                field,
                f"{field}: {coding.get('system')}|{code} is not in the hub's value set",
            )
        return table[code]
    if required:
        raise Refused(
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
    raise Refused(
        ErrorCode.FHIR_IDENTIFIER_MISSING,
        f"{kind}.identifier",
        f"a {kind} needs an identifier (the submitter's own id) or an id: its natural key",
    )


@dataclass(frozen=True, slots=True)
class Person:
    id_type: str
    id_number: str
    name: str | None
    phone: str | None


def patient(resource: dict[str, Any], today: Any) -> Person:
    """The person a Patient names: ID type and number (checked), name and phone if given."""
    id_type, value = _identifier(resource)
    if not isinstance(value, str) or not value.strip():
        raise Refused(
            ErrorCode.FIELD_MISSING, "Patient.identifier", "Patient.identifier.value is empty"
        )
    try:
        number = identity.validate_id(id_type, value.strip(), nationality=None, today=today)
    except InvalidInput as exc:
        raise Refused(exc.code, "Patient.identifier", exc.message) from exc
    return Person(id_type, number, _name(resource), _phone(resource))


_ID_TYPES = frozenset(t.value for t in identity.IdType)


def _identifier(resource: dict[str, Any]) -> tuple[str, Any]:
    """(ID type, value) of the first identifier in a system the hub knows."""
    identifiers = [
        i for i in _list(resource.get("identifier"), "Patient.identifier") if isinstance(i, dict)
    ]
    if not identifiers:
        raise Refused(
            ErrorCode.FHIR_IDENTIFIER_MISSING, "Patient.identifier", "no Patient.identifier"
        )
    for ident in identifiers:
        system = str(ident.get("system"))
        if system == RESIDENT_ID_SYSTEM:
            return identity.IdType.RESIDENT_ID.value, ident.get("value")
        id_type = system.removeprefix(ID_TYPE_SYSTEM_PREFIX)
        if system.startswith(ID_TYPE_SYSTEM_PREFIX) and id_type in _ID_TYPES:
            return id_type, ident.get("value")
    raise Refused(
        ErrorCode.FHIR_IDENTIFIER_SYSTEM,
        "Patient.identifier",
        f"no identifier with system {RESIDENT_ID_SYSTEM} or {ID_TYPE_SYSTEM_PREFIX}<id type>",
    )


def _name(resource: dict[str, Any]) -> str | None:
    """The first HumanName: its ``text``, else family name and given names."""
    for item in _list(resource.get("name"), "Patient.name"):
        if isinstance(item, dict):
            given = [g for g in _list(item.get("given"), "Patient.name") if isinstance(g, str)]
            text = item.get("text") or (str(item.get("family") or "") + "".join(given))
            return text if isinstance(text, str) and text.strip() else None
    return None


def _phone(resource: dict[str, Any]) -> str | None:
    """The first phone (or SMS) number."""
    for item in _list(resource.get("telecom"), "Patient.telecom"):
        if isinstance(item, dict) and item.get("system") in ("phone", "sms"):
            value = item.get("value")
            return value if isinstance(value, str) else None
    return None


def subject(resource: dict[str, Any], name: str, people: Mapping[str, Person]) -> Person:
    kind = resource["resourceType"]
    field = f"{kind}.{name}"
    ref = _obj(resource.get(name), field).get("reference")
    person = people.get(ref) if isinstance(ref, str) else None
    if person is None:
        raise Refused(
            ErrorCode.FHIR_REFERENCE_UNRESOLVED,
            field,
            f"{field} {ref!r} names no valid Patient of this Bundle (fullUrl or Patient/id)",
        )
    return person


def _envelope(record_id: str, person: Person) -> dict[str, Any]:
    return {
        "record_id": record_id,
        "id_type": person.id_type,
        "id_number": person.id_number,
        "name": person.name,
        "phone": person.phone,
    }


def observation(resource: dict[str, Any], person: Person) -> tuple[str, dict[str, Any]]:
    if resource.get("status") not in OBSERVATION_STATUSES:
        raise Refused(
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
        raise Refused(
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


def immunization(resource: dict[str, Any], person: Person) -> dict[str, Any]:
    if resource.get("status") != "completed":
        raise Refused(
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
