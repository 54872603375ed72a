"""The FHIR bundle of a SMART Health Card as facts: the patient, immunizations, observations."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["facts_of"]


def _coding(concept: Any) -> str | None:
    if isinstance(concept, Mapping):
        for coding in concept.get("coding") or []:
            if isinstance(coding, Mapping) and coding.get("code") is not None:
                system = coding.get("system", "")
                return f"{system}|{coding['code']}" if system else str(coding["code"])
    return None


def facts_of(bundle: Mapping[str, Any]) -> dict[str, Any]:
    """The FHIR bundle as facts: the patient, immunizations and observations.

    >>> facts_of({"entry": [{"resource": {"resourceType": "Patient", "birthDate": "1951-01-20",
    ...                                   "name": [{"family": "Anyperson", "given": ["John"]}]}}]})
    ... # doctest: +NORMALIZE_WHITESPACE
    {'patient': {'family': 'Anyperson', 'given': 'John', 'birth_date': '1951-01-20'},
     'immunizations': [], 'observations': []}
    """
    patient: dict[str, Any] = {}
    immunizations: list[dict[str, Any]] = []
    observations: list[dict[str, Any]] = []
    for entry in bundle.get("entry") or []:
        res = entry.get("resource") if isinstance(entry, Mapping) else None
        if not isinstance(res, Mapping):
            continue
        kind = res.get("resourceType")
        if kind == "Patient":
            patient = _patient(res) or patient
        elif kind == "Immunization":
            immunizations.append(_immunization(res))
        elif kind == "Observation":
            observations.append(_observation(res))
    return {"patient": patient, "immunizations": immunizations, "observations": observations}


def _patient(res: Mapping[str, Any]) -> dict[str, Any] | None:
    name = (res.get("name") or [{}])[0]
    if not isinstance(name, Mapping):
        return None
    return {
        "family": name.get("family"),
        "given": " ".join(str(g) for g in name.get("given") or []),
        "birth_date": res.get("birthDate"),
    }


def _immunization(res: Mapping[str, Any]) -> dict[str, Any]:
    performer = (res.get("performer") or [{}])[0]
    actor = performer.get("actor", {}) if isinstance(performer, Mapping) else {}
    return {
        "vaccine": _coding(res.get("vaccineCode")),
        "date": res.get("occurrenceDateTime"),
        "lot": res.get("lotNumber"),
        "status": res.get("status"),
        "performer": actor.get("display") if isinstance(actor, Mapping) else None,
    }


def _observation(res: Mapping[str, Any]) -> dict[str, Any]:
    value: Any = None
    if "valueCodeableConcept" in res:
        value = _coding(res["valueCodeableConcept"])
    elif isinstance(res.get("valueQuantity"), Mapping):
        q = res["valueQuantity"]
        value = f"{q.get('value')} {q.get('unit', '')}".strip()
    else:
        value = res.get("valueString")
    return {
        "code": _coding(res.get("code")),
        "value": value,
        "effective": res.get("effectiveDateTime"),
        "status": res.get("status"),
    }
