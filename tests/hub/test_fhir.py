"""FHIR R4 Bundles: mapping to records, value-set checks with entry index and field, all or
nothing, safe retries, the access matrix."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from hub_testdata import resident_id
from sqlalchemy import func, select

from healthcode.hub.fhir import RESIDENT_ID_SYSTEM
from healthcode.hub.services import Hub
from healthcode.store.models import Record

Org = Callable[..., dict[str, str]]
FHIR = {"Content-Type": "application/fhir+json"}
PATIENT_URL = "urn:uuid:7f1b9c1e-1f0e-4a53-9d55-7d0c7ad1a001"


def bundle(*resources: dict[str, Any], kind: str = "transaction") -> dict[str, Any]:
    patient = {
        "fullUrl": PATIENT_URL,
        "resource": {
            "resourceType": "Patient",
            "identifier": [{"system": RESIDENT_ID_SYSTEM, "value": resident_id("110105")}],
            "name": [{"family": "张", "given": ["三"]}],
            "telecom": [{"system": "phone", "value": "13812345678"}],
        },
    }
    entries = [patient] + [
        {"fullUrl": f"urn:uuid:e{i}", "resource": r} for i, r in enumerate(resources)
    ]
    return {"resourceType": "Bundle", "type": kind, "entry": entries}


def nat_obs(sample: str = "S-1", **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "status": "final",
        "identifier": [{"system": "urn:lab:gz", "value": sample}],
        "code": {"coding": [{"system": "http://loinc.org", "code": "94500-6"}]},
        "subject": {"reference": PATIENT_URL},
        "effectiveDateTime": "2022-11-19T08:00:00+08:00",
        "issued": "2022-11-19T20:00:00+08:00",
        "valueCodeableConcept": {
            "coding": [{"system": "http://snomed.info/sct", "code": "260415000"}]
        },
        **extra,
    }


def igg_obs(sample: str = "A-1") -> dict[str, Any]:
    obs = nat_obs(sample)
    obs["code"] = {"coding": [{"system": "http://loinc.org", "code": "94563-4"}]}
    del obs["valueCodeableConcept"]
    obs["interpretation"] = [
        {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation",
                    "code": "POS",
                }
            ]
        }
    ]
    return obs


def immunization(dose_id: str = "D-1", **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "Immunization",
        "status": "completed",
        "identifier": [{"value": dose_id}],
        "vaccineCode": {"coding": [{"system": "http://hl7.org/fhir/sid/cvx", "code": "511"}]},
        "patient": {"reference": PATIENT_URL},
        "occurrenceDateTime": "2022-06-01T10:00:00+08:00",
        "protocolApplied": [{"doseNumberPositiveInt": 2}],
        "location": {"display": "越秀区接种点"},
        **extra,
    }


def post(client: httpx.Client, body: Any, headers: dict[str, str], **more: str) -> httpx.Response:
    return client.post("/v1/fhir", content=json.dumps(body), headers={**headers, **FHIR, **more})


def records(hub: Hub) -> int:
    with hub.db.read() as s:
        return int(s.execute(select(func.count()).select_from(Record)).scalar_one())


def test_valid_bundle_maps_observations_to_nat_and_antibody(
    client: httpx.Client, hub: Hub, org: Org
) -> None:
    lab = org("lab", "440106", "GZ lab")
    r = post(client, bundle(nat_obs(), igg_obs()), lab)
    assert r.status_code == 200, r.text
    answer = r.json()
    assert answer["count"] == 2
    assert [(x["entry"], x["kind"]) for x in answer["records"]] == [(1, "nat"), (2, "antibody")]
    with hub.db.read() as s:
        nat = s.get(Record, answer["records"][0]["id"])
        ab = s.get(Record, answer["records"][1]["id"])
        assert nat is not None and ab is not None
        assert nat.natural_key == "S-1" and nat.payload["result"] == "negative"
        assert nat.payload["lab"] == "GZ lab" and nat.payload["resulted_at"]
        assert nat.province == "110000"  # by the Patient's resident ID
        assert ab.payload["kind"] == "IgG" and ab.payload["result"] == "positive"
        assert nat.pseudonym == ab.pseudonym


def test_immunization_from_cvx_and_project_code_system(
    client: httpx.Client, hub: Hub, org: Org
) -> None:
    reg = org("vaccination", "440000", "GD registry")
    own = immunization(
        "D-2",
        vaccineCode={"coding": [{"system": "urn:healthcode:vaccine-product", "code": "WIBP"}]},
        location=None,
        protocolApplied=[{"doseNumberPositiveInt": 3}],
    )
    r = post(client, bundle(immunization(), own, kind="collection"), reg)
    assert r.status_code == 200, r.text
    with hub.db.read() as s:
        rows = [s.get(Record, x["id"]) for x in r.json()["records"]]
    facts = [row.payload for row in rows if row is not None]
    assert [(f["product"], f["dose"], f["site"]) for f in facts] == [
        ("CoronaVac", 2, "越秀区接种点"),
        ("WIBP", 3, "GD registry"),  # no location: the registry's name
    ]


@pytest.mark.parametrize(
    ("change", "field", "code"),
    [
        (
            {"code": {"coding": [{"system": "http://loinc.org", "code": "94531-1"}]}},
            "Observation.code",
            "FHIR_CODE_UNKNOWN",
        ),
        (
            {"code": {"coding": [{"system": "http://acme.example/codes", "code": "X"}]}},
            "Observation.code",
            "FHIR_CODE_SYSTEM",
        ),
        (
            {
                "valueCodeableConcept": {
                    "coding": [{"system": "http://snomed.info/sct", "code": "10828004"}]
                }
            },
            "Observation.valueCodeableConcept",
            "FHIR_CODE_UNKNOWN",
        ),
        ({"valueCodeableConcept": None}, "Observation.valueCodeableConcept", "FHIR_VALUE_UNKNOWN"),
        ({"status": "preliminary"}, "Observation.status", "FHIR_STATUS"),
        (
            {"subject": {"reference": "urn:uuid:nobody"}},
            "Observation.subject",
            "FHIR_REFERENCE_UNRESOLVED",
        ),
        ({"identifier": None}, "Observation.identifier", "FHIR_IDENTIFIER_MISSING"),
        (
            {"effectiveDateTime": "2030-01-01T00:00:00+08:00"},
            "Observation.effectiveDateTime",
            "TIME_IN_FUTURE",
        ),
        ({"effectiveDateTime": None}, "Observation.effectiveDateTime", "FIELD_MISSING"),
    ],
)
def test_observation_mapping_errors_name_entry_field_and_code(
    client: httpx.Client, hub: Hub, org: Org, change: dict[str, Any], field: str, code: str
) -> None:
    lab = org("lab")
    bad = {k: v for k, v in {**nat_obs("S-2"), **change}.items() if v is not None}
    r = post(client, bundle(nat_obs("S-1"), bad), lab)
    assert r.status_code == 422, r.text
    err = r.json()["error"]
    assert err["code"] == "BATCH_INVALID"
    assert [(e["entry"], e["field"], e["code"]) for e in err["errors"]] == [(2, field, code)]
    assert records(hub) == 0  # the good entry 1 was not stored either


@pytest.mark.parametrize(
    ("change", "field", "code"),
    [
        (
            {"vaccineCode": {"coding": [{"system": "http://hl7.org/fhir/sid/cvx", "code": "208"}]}},
            "Immunization.vaccineCode",
            "FHIR_CODE_UNKNOWN",
        ),
        ({"status": "not-done"}, "Immunization.status", "FHIR_STATUS"),
        (
            {"protocolApplied": [{"doseNumberPositiveInt": 9}]},
            "Immunization.protocolApplied.doseNumberPositiveInt",
            "VALUE_OUT_OF_RANGE",
        ),
        ({"patient": None}, "Immunization.patient", "FIELD_TYPE"),
    ],
)
def test_immunization_mapping_errors(
    client: httpx.Client, org: Org, change: dict[str, Any], field: str, code: str
) -> None:
    reg = org("vaccination")
    bad = {k: v for k, v in {**immunization(), **change}.items() if v is not None}
    r = post(client, bundle(bad), reg)
    assert r.status_code == 422, r.text
    assert [(e["entry"], e["field"], e["code"]) for e in r.json()["error"]["errors"]] == [
        (1, field, code)
    ]


def test_patient_errors_are_reported_at_the_patient_entry(client: httpx.Client, org: Org) -> None:
    lab = org("lab")
    b = bundle(nat_obs())
    good = b["entry"][0]["resource"]["identifier"][0]["value"]
    wrong = good[:-1] + ("0" if good[-1] != "0" else "1")
    b["entry"][0]["resource"]["identifier"][0]["value"] = wrong
    r = post(client, b, lab)
    errors = r.json()["error"]["errors"]
    assert (errors[0]["entry"], errors[0]["field"], errors[0]["code"]) == (
        0,
        "Patient.identifier",
        "ID_CHECK_DIGIT",
    )
    assert errors[1]["code"] == "FHIR_REFERENCE_UNRESOLVED" and errors[1]["entry"] == 1
    b = bundle(nat_obs())
    b["entry"][0]["resource"]["identifier"][0]["system"] = "http://example.org/mrn"
    r = post(client, b, lab)
    assert r.json()["error"]["errors"][0]["code"] == "FHIR_IDENTIFIER_SYSTEM"


def test_bundle_level_errors(client: httpx.Client, org: Org) -> None:
    lab = org("lab")
    r = post(client, {**bundle(nat_obs()), "type": "searchset"}, lab)
    assert r.status_code == 422 and r.json()["error"]["code"] == "FHIR_BUNDLE_TYPE"
    r = post(client, {"resourceType": "Patient"}, lab)
    assert r.status_code == 400 and r.json()["error"]["code"] == "FHIR_NOT_BUNDLE"
    r = post(client, bundle(), lab)
    assert r.status_code == 422 and r.json()["error"]["code"] == "FHIR_BUNDLE_EMPTY"
    r = post(client, bundle({"resourceType": "Condition"}), lab)
    assert r.json()["error"]["errors"][0]["code"] == "FHIR_RESOURCE_UNSUPPORTED"
    r = client.post("/v1/fhir", content=b"{", headers={**lab, **FHIR})
    assert r.status_code == 400 and r.json()["error"]["code"] == "JSON_INVALID"
    r = client.post("/v1/fhir", content=b"x", headers={**lab, "Content-Type": "text/plain"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "CONTENT_TYPE"


def test_retry_is_idempotent_and_a_changed_entry_conflicts(
    client: httpx.Client, hub: Hub, org: Org
) -> None:
    lab = org("lab")
    first = post(client, bundle(nat_obs(), igg_obs()), lab)
    again = post(client, bundle(nat_obs(), igg_obs()), lab)
    assert first.status_code == again.status_code == 200
    assert [r["id"] for r in first.json()["records"]] == [r["id"] for r in again.json()["records"]]
    assert [r["created"] for r in first.json()["records"]] == [True, True]
    assert [r["created"] for r in again.json()["records"]] == [False, False]
    assert records(hub) == 2
    keyed = post(client, bundle(nat_obs("S-9")), lab, **{"Idempotency-Key": "k1"})
    assert post(client, bundle(nat_obs("S-9")), lab, **{"Idempotency-Key": "k1"}).json() == (
        keyed.json()
    )
    changed = copy.deepcopy(nat_obs())
    changed["valueCodeableConcept"]["coding"][0]["code"] = "260373001"
    r = post(client, bundle(changed), lab)
    assert r.status_code == 409
    err = r.json()["error"]
    assert err["code"] == "NATURAL_KEY_CONFLICT"
    assert (err["entry"], err["field"]) == (1, "Observation.identifier")
    assert records(hub) == 3


def test_access_matrix_applies_to_bundles(client: httpx.Client, hub: Hub, org: Org) -> None:
    r = post(client, bundle(immunization()), org("lab"))
    assert r.status_code == 403 and r.json()["error"]["code"] == "KIND_NOT_ALLOWED"
    r = post(client, bundle(nat_obs()), org("vaccination"))
    assert r.status_code == 403 and r.json()["error"]["code"] == "KIND_NOT_ALLOWED"
    for kind in ("province", "checkpoint", "disease-control"):
        r = post(client, bundle(nat_obs()), org(kind))
        assert r.status_code == 403, kind
    r = client.post("/v1/fhir", content=json.dumps(bundle(nat_obs())), headers=FHIR)
    assert r.status_code == 401
    assert records(hub) == 0
