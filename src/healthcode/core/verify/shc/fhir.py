"""The FHIR bundle of a SMART Health Card as facts: the patient, immunizations, observations.

Only the fields a checkpoint shows are read, and each must have its FHIR type (a string, a list
of objects, ...). The card's signature is already checked here, but a trusted issuer can still
send a malformed bundle: a field of the wrong type fails the card with ``SCHEMA_INVALID`` (stage
schema) naming the field, instead of breaking the verifier. A missing field reads as None.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from healthcode.core.error_codes import ErrorCode
from healthcode.core.errors import VerificationFailed

__all__ = ["facts_of"]


def _bad(where: str, what: str) -> VerificationFailed:
    return VerificationFailed(ErrorCode.SCHEMA_INVALID, f"FHIR bundle: {where} must be {what}")


def _object(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise _bad(where, "an object")
    return value


def _objects(value: Any, where: str) -> list[Mapping[str, Any]]:
    """A FHIR array of objects (absent: empty)."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise _bad(where, "an array")
    return [_object(item, f"{where}[{i}]") for i, item in enumerate(value)]


def _text(value: Any, where: str) -> str | None:
    """A FHIR string, code, date or dateTime (absent: None)."""
    if value is None or isinstance(value, str):
        return value
    raise _bad(where, "a string")


def _scalar(value: Any, where: str) -> str | int | float | None:
    """A FHIR primitive that may be a number (a quantity's value)."""
    if value is None or (isinstance(value, str | int | float) and not isinstance(value, bool)):
        return value
    raise _bad(where, "a string or a number")


def _coding(concept: Any, where: str) -> str | None:
    """The first coding of a CodeableConcept as ``system|code`` (or ``code``)."""
    if concept is None:
        return None
    for i, coding in enumerate(_objects(_object(concept, where).get("coding"), f"{where}.coding")):
        code = _scalar(coding.get("code"), f"{where}.coding[{i}].code")
        if code is not None:
            system = _text(coding.get("system"), f"{where}.coding[{i}].system")
            return f"{system}|{code}" if system else str(code)
    return None


def facts_of(bundle: Mapping[str, Any]) -> dict[str, Any]:
    """The FHIR bundle as facts: the patient, immunizations and observations.

    Raises VerificationFailed ``SCHEMA_INVALID`` for a field of the wrong type.

    >>> facts_of({"entry": [{"resource": {"resourceType": "Patient", "birthDate": "1951-01-20",
    ...                                   "name": [{"family": "Anyperson", "given": ["John"]}]}}]})
    ... # doctest: +NORMALIZE_WHITESPACE
    {'patient': {'family': 'Anyperson', 'given': 'John', 'birth_date': '1951-01-20'},
     'immunizations': [], 'observations': []}
    """
    patient: dict[str, Any] = {}
    immunizations: list[dict[str, Any]] = []
    observations: list[dict[str, Any]] = []
    for i, entry in enumerate(_objects(_object(bundle, "the bundle").get("entry"), "entry")):
        where = f"entry[{i}].resource"
        res = _object(entry.get("resource"), where)
        kind = _text(res.get("resourceType"), f"{where}.resourceType")
        if kind == "Patient":
            patient = _patient(res, where) or patient
        elif kind == "Immunization":
            immunizations.append(_immunization(res, where))
        elif kind == "Observation":
            observations.append(_observation(res, where))
    return {"patient": patient, "immunizations": immunizations, "observations": observations}


def _patient(res: Mapping[str, Any], where: str) -> dict[str, Any] | None:
    names = _objects(res.get("name"), f"{where}.name")
    if not names:
        return None
    name = names[0]
    given = name.get("given")
    if given is not None and not isinstance(given, list):
        raise _bad(f"{where}.name[0].given", "an array")
    return {
        "family": _text(name.get("family"), f"{where}.name[0].family"),
        "given": " ".join(
            _text(g, f"{where}.name[0].given[{j}]") or "" for j, g in enumerate(given or [])
        ),
        "birth_date": _text(res.get("birthDate"), f"{where}.birthDate"),
    }


def _immunization(res: Mapping[str, Any], where: str) -> dict[str, Any]:
    performers = _objects(res.get("performer"), f"{where}.performer")
    actor = performers[0].get("actor") if performers else None
    display = None
    if actor is not None:
        actor = _object(actor, f"{where}.performer[0].actor")
        display = _text(actor.get("display"), f"{where}.performer[0].actor.display")
    return {
        "vaccine": _coding(res.get("vaccineCode"), f"{where}.vaccineCode"),
        "date": _text(res.get("occurrenceDateTime"), f"{where}.occurrenceDateTime"),
        "lot": _text(res.get("lotNumber"), f"{where}.lotNumber"),
        "status": _text(res.get("status"), f"{where}.status"),
        "performer": display,
    }


def _observation(res: Mapping[str, Any], where: str) -> dict[str, Any]:
    value: Any = None
    if "valueCodeableConcept" in res:
        value = _coding(res["valueCodeableConcept"], f"{where}.valueCodeableConcept")
    elif "valueQuantity" in res:
        q = _object(res["valueQuantity"], f"{where}.valueQuantity")
        amount = _scalar(q.get("value"), f"{where}.valueQuantity.value")
        unit = _text(q.get("unit"), f"{where}.valueQuantity.unit") or ""
        value = f"{amount} {unit}".strip()
    else:
        value = _text(res.get("valueString"), f"{where}.valueString")
    return {
        "code": _coding(res.get("code"), f"{where}.code"),
        "value": value,
        "effective": _text(res.get("effectiveDateTime"), f"{where}.effectiveDateTime"),
        "status": _text(res.get("status"), f"{where}.status"),
    }
