"""FHIR R4 Bundles: mapping to records, value-set checks with entry index and field, all or
nothing, safe retries, the access matrix; answers as FHIR response Bundles and errors as
OperationOutcomes, checked against the R4 rules they rely on."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from typing import Any

import httpx
import jsonschema
import pytest
from hub_testdata import FHIR_ISSUE_SEVERITIES, FHIR_ISSUE_TYPES, resident_id
from sqlalchemy import func, select

from healthcode.hub.fhir import RESIDENT_ID_SYSTEM
from healthcode.hub.fhir_answers import (
    ERROR_CODE_SYSTEM,
    OPERATION_OUTCOME_SCHEMA,
    RECORD_KIND_URL,
    RESPONSE_BUNDLE_SCHEMA,
)
from healthcode.hub.services import Hub
from healthcode.store.models import Record

Org = Callable[..., dict[str, str]]
FHIR = {"Content-Type": "application/fhir+json"}
PATIENT_URL = "urn:uuid:7f1b9c1e-1f0e-4a53-9d55-7d0c7ad1a001"
#: Bundle.entry.response.status: a 3-digit HTTP code, optionally its standard description.
STATUS = re.compile(r"^[1-5][0-9]{2}( .+)?$")
#: A relative location Type/id (an R4 id: [A-Za-z0-9-.]{1,64}).
LOCATION = re.compile(r"^(Observation|Immunization)/[A-Za-z0-9\-.]{1,64}$")


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


def check_outcome(outcome: dict[str, Any]) -> None:
    """An R4 OperationOutcome as this hub writes it (issue 1..*, severity and code from their
    value sets, the hub's code in details.coding[0], FHIRPath expressions into the Bundle),
    and as the OpenAPI document describes it."""
    jsonschema.validate(outcome, OPERATION_OUTCOME_SCHEMA)
    assert outcome["resourceType"] == "OperationOutcome"
    assert set(outcome) == {"resourceType", "issue"}
    assert isinstance(outcome["issue"], list) and outcome["issue"]
    for issue in outcome["issue"]:
        assert set(issue) <= {
            "severity",
            "code",
            "details",
            "diagnostics",
            "expression",
            "location",
        }
        assert issue["severity"] in FHIR_ISSUE_SEVERITIES and issue["code"] in FHIR_ISSUE_TYPES
        if "details" in issue:
            coding = issue["details"]["coding"][0]
            assert coding["system"] == ERROR_CODE_SYSTEM
            assert re.fullmatch(r"[A-Z][A-Z0-9_]+", coding["code"])
            assert isinstance(issue["details"]["text"], str) and issue["details"]["text"]
        for path in issue.get("expression", []):
            assert re.fullmatch(r"Bundle(\.[A-Za-z]+(\[\d+\])?(\.ofType\(\w+\))?)*", path), path
        for where in issue.get("location", []):
            assert where.startswith("http."), where


def issues(r: httpx.Response, status: int) -> list[dict[str, Any]]:
    """The issues of an OperationOutcome answer with this status."""
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/fhir+json"
    outcome = r.json()
    check_outcome(outcome)
    return list(outcome["issue"])


def hub_code(issue: dict[str, Any]) -> str:
    return str(issue["details"]["coding"][0]["code"])


def answered(r: httpx.Response, request: dict[str, Any]) -> list[dict[str, Any]]:
    """The entry responses of a response Bundle answering ``request`` (R4: bdl-3 no request,
    bdl-4 a response with its required status, one entry per request entry)."""
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/fhir+json"
    answer = r.json()
    jsonschema.validate(answer, RESPONSE_BUNDLE_SCHEMA)
    assert set(answer) == {"resourceType", "type", "entry"}
    assert answer["resourceType"] == "Bundle"
    expected = {"batch": "batch-response"}.get(request["type"], "transaction-response")
    assert answer["type"] == expected
    assert len(answer["entry"]) == len(request["entry"])
    out = []
    for entry in answer["entry"]:
        assert set(entry) == {"response"}
        response = entry["response"]
        assert STATUS.fullmatch(response["status"])
        if "location" in response:
            assert LOCATION.fullmatch(response["location"])
        if "outcome" in response:
            check_outcome(response["outcome"])
        out.append(response)
    return out


def statuses(responses: list[dict[str, Any]]) -> list[str]:
    return [x["status"] for x in responses]


def record_id(response: dict[str, Any]) -> int:
    return int(response["location"].split("/")[1])


def kind_of(response: dict[str, Any]) -> str:
    (ext,) = [e for e in response["extension"] if e["url"] == RECORD_KIND_URL]
    return str(ext["valueCode"])


def test_valid_bundle_maps_observations_to_nat_and_antibody(
    client: httpx.Client, hub: Hub, org: Org
) -> None:
    lab = org("lab", "440106", "GZ lab")
    request = bundle(nat_obs(), igg_obs())
    patient, nat_r, ab_r = answered(post(client, request, lab), request)
    assert statuses([patient, nat_r, ab_r]) == ["200 OK", "201 Created", "201 Created"]
    assert "location" not in patient
    assert patient["outcome"]["issue"][0]["severity"] == "information"
    assert [kind_of(nat_r), kind_of(ab_r)] == ["nat", "antibody"]
    assert nat_r["location"].startswith("Observation/")
    with hub.db.read() as s:
        nat = s.get(Record, record_id(nat_r))
        ab = s.get(Record, record_id(ab_r))
        assert nat is not None and ab is not None
        assert (nat.kind, ab.kind) == ("nat", "antibody")
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
    request = bundle(immunization(), own, kind="collection")
    _, first, second = answered(post(client, request, reg), request)  # transaction-response
    assert [first["location"][:13], kind_of(second)] == ["Immunization/", "vaccination"]
    with hub.db.read() as s:
        rows = [s.get(Record, record_id(x)) for x in (first, second)]
    facts = [row.payload for row in rows if row is not None]
    assert [(f["product"], f["dose"], f["site"]) for f in facts] == [
        ("CoronaVac", 2, "越秀区接种点"),
        ("WIBP", 3, "GD registry"),  # no location: the registry's name
    ]


def test_entries_answer_in_request_order_with_patients_anywhere(
    client: httpx.Client, org: Org
) -> None:
    lab = org("lab")
    other_url = "urn:uuid:7f1b9c1e-1f0e-4a53-9d55-7d0c7ad1a002"
    other = {
        "fullUrl": other_url,
        "resource": {
            "resourceType": "Patient",
            "identifier": [{"system": RESIDENT_ID_SYSTEM, "value": resident_id(seq="456")}],
        },
    }
    request = bundle(igg_obs("A-7"), kind="batch")
    theirs = nat_obs("S-7", subject={"reference": other_url})
    request["entry"] = [
        {"fullUrl": "urn:uuid:n", "resource": theirs},
        other,
        *request["entry"],
        {"fullUrl": "urn:uuid:m", "resource": nat_obs("S-8")},
    ]
    responses = answered(post(client, request, lab), request)  # batch-response
    assert statuses(responses) == ["201 Created", "200 OK", "200 OK", "201 Created", "201 Created"]
    assert ["location" in x for x in responses] == [True, False, False, True, True]
    assert [kind_of(responses[i]) for i in (0, 3, 4)] == ["nat", "antibody", "nat"]
    ids = [record_id(responses[i]) for i in (0, 3, 4)]
    assert len(set(ids)) == 3


@pytest.mark.parametrize(
    ("change", "path", "code", "issue_type"),
    [
        (
            {"code": {"coding": [{"system": "http://loinc.org", "code": "94531-1"}]}},
            "code",
            "FHIR_CODE_UNKNOWN",
            "code-invalid",
        ),
        (
            {"code": {"coding": [{"system": "http://acme.example/codes", "code": "X"}]}},
            "code",
            "FHIR_CODE_SYSTEM",
            "code-invalid",
        ),
        (
            {
                "valueCodeableConcept": {
                    "coding": [{"system": "http://snomed.info/sct", "code": "10828004"}]
                }
            },
            "value.ofType(CodeableConcept)",
            "FHIR_CODE_UNKNOWN",
            "code-invalid",
        ),
        (
            {"valueCodeableConcept": None},
            "value.ofType(CodeableConcept)",
            "FHIR_VALUE_UNKNOWN",
            "code-invalid",
        ),
        ({"status": "preliminary"}, "status", "FHIR_STATUS", "value"),
        (
            {"subject": {"reference": "urn:uuid:nobody"}},
            "subject",
            "FHIR_REFERENCE_UNRESOLVED",
            "not-found",
        ),
        ({"identifier": None}, "identifier", "FHIR_IDENTIFIER_MISSING", "required"),
        (
            {"effectiveDateTime": "2030-01-01T00:00:00+08:00"},
            "effective.ofType(dateTime)",
            "TIME_IN_FUTURE",
            "value",
        ),
        ({"effectiveDateTime": None}, "effective.ofType(dateTime)", "FIELD_MISSING", "required"),
    ],
)
def test_observation_mapping_errors_name_entry_element_and_code(
    client: httpx.Client,
    hub: Hub,
    org: Org,
    change: dict[str, Any],
    path: str,
    code: str,
    issue_type: str,
) -> None:
    lab = org("lab")
    bad = {k: v for k, v in {**nat_obs("S-2"), **change}.items() if v is not None}
    summary, *each = issues(post(client, bundle(nat_obs("S-1"), bad), lab), 422)
    assert (hub_code(summary), summary["code"]) == ("BATCH_INVALID", "invalid")
    assert "nothing was stored" in summary["details"]["text"]
    assert [(x["expression"], hub_code(x), x["code"]) for x in each] == [
        ([f"Bundle.entry[2].resource.{path}"], code, issue_type)
    ]
    assert records(hub) == 0  # the good entry 1 was not stored either


@pytest.mark.parametrize(
    ("change", "path", "code"),
    [
        (
            {"vaccineCode": {"coding": [{"system": "http://hl7.org/fhir/sid/cvx", "code": "208"}]}},
            "vaccineCode",
            "FHIR_CODE_UNKNOWN",
        ),
        ({"status": "not-done"}, "status", "FHIR_STATUS"),
        (
            {"protocolApplied": [{"doseNumberPositiveInt": 9}]},
            "protocolApplied.doseNumber.ofType(positiveInt)",
            "VALUE_OUT_OF_RANGE",
        ),
        ({"patient": None}, "patient", "FIELD_TYPE"),
    ],
)
def test_immunization_mapping_errors(
    client: httpx.Client, org: Org, change: dict[str, Any], path: str, code: str
) -> None:
    reg = org("vaccination")
    bad = {k: v for k, v in {**immunization(), **change}.items() if v is not None}
    _, *each = issues(post(client, bundle(bad), reg), 422)
    assert [(x["expression"], hub_code(x)) for x in each] == [
        ([f"Bundle.entry[1].resource.{path}"], code)
    ]


def test_one_issue_per_wrong_entry(client: httpx.Client, hub: Hub, org: Org) -> None:
    lab = org("lab")
    request = bundle(
        nat_obs("S-1", status="registered"),
        nat_obs("S-2"),
        {"resourceType": "Condition"},
        igg_obs("A-1"),
        nat_obs("S-3", code={"coding": [{"system": "http://loinc.org", "code": "1-8"}]}),
    )
    request["entry"][4]["resource"]["subject"] = {"reference": "Patient/nobody"}
    summary, *each = issues(post(client, request, lab), 422)
    assert hub_code(summary) == "BATCH_INVALID" and summary["details"]["text"].startswith("4 ")
    assert [(x["expression"][0], hub_code(x), x["code"]) for x in each] == [
        ("Bundle.entry[1].resource.status", "FHIR_STATUS", "value"),
        ("Bundle.entry[3].resource", "FHIR_RESOURCE_UNSUPPORTED", "not-supported"),
        ("Bundle.entry[4].resource.subject", "FHIR_REFERENCE_UNRESOLVED", "not-found"),
        ("Bundle.entry[5].resource.code", "FHIR_CODE_UNKNOWN", "code-invalid"),
    ]
    assert all(x["severity"] == "error" and x["details"]["text"] for x in each)
    assert records(hub) == 0


def test_patient_errors_are_reported_at_the_patient_entry(client: httpx.Client, org: Org) -> None:
    lab = org("lab")
    b = bundle(nat_obs())
    good = b["entry"][0]["resource"]["identifier"][0]["value"]
    wrong = good[:-1] + ("0" if good[-1] != "0" else "1")
    b["entry"][0]["resource"]["identifier"][0]["value"] = wrong
    _, patient, obs = issues(post(client, b, lab), 422)
    assert (patient["expression"], hub_code(patient), patient["code"]) == (
        ["Bundle.entry[0].resource.identifier"],
        "ID_CHECK_DIGIT",
        "value",
    )
    assert hub_code(obs) == "FHIR_REFERENCE_UNRESOLVED"
    assert obs["expression"] == ["Bundle.entry[1].resource.subject"]
    b = bundle(nat_obs())
    b["entry"][0]["resource"]["identifier"][0]["system"] = "http://example.org/mrn"
    assert hub_code(issues(post(client, b, lab), 422)[1]) == "FHIR_IDENTIFIER_SYSTEM"


def test_bundle_level_errors(client: httpx.Client, org: Org) -> None:
    lab = org("lab")
    (issue,) = issues(post(client, {**bundle(nat_obs()), "type": "searchset"}, lab), 422)
    assert (hub_code(issue), issue["code"], issue["expression"]) == (
        "FHIR_BUNDLE_TYPE",
        "value",
        ["Bundle.type"],
    )
    (issue,) = issues(post(client, {"resourceType": "Patient"}, lab), 400)
    assert (hub_code(issue), issue["code"]) == ("FHIR_NOT_BUNDLE", "structure")
    (issue,) = issues(post(client, [bundle(nat_obs())], lab), 400)
    assert hub_code(issue) == "FHIR_NOT_BUNDLE"
    (issue,) = issues(post(client, bundle(), lab), 422)
    assert (hub_code(issue), issue["code"], issue["expression"]) == (
        "FHIR_BUNDLE_EMPTY",
        "required",
        ["Bundle.entry"],
    )
    r = client.post("/v1/fhir", content=b"{", headers={**lab, **FHIR})
    (issue,) = issues(r, 400)
    assert (hub_code(issue), issue["code"]) == ("JSON_INVALID", "structure")
    assert issue["details"]["text"].startswith("not JSON")
    r = client.post("/v1/fhir", content=b"x", headers={**lab, "Content-Type": "text/plain"})
    (issue,) = issues(r, 400)
    assert (hub_code(issue), issue["code"]) == ("CONTENT_TYPE", "not-supported")
    assert issue["location"] == ["http.Content-Type"]


def test_retry_answers_200_per_entry_and_a_changed_entry_conflicts(
    client: httpx.Client, hub: Hub, org: Org
) -> None:
    lab = org("lab")
    request = bundle(nat_obs(), igg_obs())
    first = answered(post(client, request, lab), request)
    again = answered(post(client, request, lab), request)
    assert statuses(first) == ["200 OK", "201 Created", "201 Created"]
    assert statuses(again) == ["200 OK", "200 OK", "200 OK"]
    assert [x.get("location") for x in first] == [x.get("location") for x in again]
    assert records(hub) == 2
    changed = copy.deepcopy(nat_obs())
    changed["valueCodeableConcept"]["coding"][0]["code"] = "260373001"
    (issue,) = issues(post(client, bundle(changed), lab), 409)
    assert (hub_code(issue), issue["code"]) == ("NATURAL_KEY_CONFLICT", "conflict")
    assert issue["expression"] == ["Bundle.entry[1].resource.identifier"]
    assert issue["diagnostics"] == f"record: {record_id(first[1])}"  # the one stored before
    assert records(hub) == 2


def test_a_record_repeated_in_the_bundle_is_created_once(
    client: httpx.Client, hub: Hub, org: Org
) -> None:
    lab = org("lab")
    request = bundle(nat_obs("S-5"), nat_obs("S-5"))
    _, one, copy_of_it = answered(post(client, request, lab), request)
    assert statuses([one, copy_of_it]) == ["201 Created", "200 OK"]
    assert one["location"] == copy_of_it["location"]
    assert records(hub) == 1
    changed = nat_obs("S-6")
    request = bundle(nat_obs("S-6"), {**changed, "issued": "2022-11-19T21:00:00+08:00"})
    (issue,) = issues(post(client, request, lab), 422)
    assert (hub_code(issue), issue["code"]) == ("DUPLICATE_IN_BATCH", "duplicate")
    assert issue["expression"] == ["Bundle.entry[2].resource.identifier"]


def test_idempotency_key_replays_the_first_answer(client: httpx.Client, hub: Hub, org: Org) -> None:
    lab = org("lab")
    request = bundle(nat_obs("S-9"), immunization("D-9"))
    request["entry"].pop()  # a lab: Observations only
    keyed = post(client, request, lab, **{"Idempotency-Key": "k1"})
    replay = post(client, request, lab, **{"Idempotency-Key": "k1"})
    assert statuses(answered(keyed, request)) == ["200 OK", "201 Created"]
    assert replay.status_code == 200 and replay.content == keyed.content  # 201 again
    assert replay.headers["content-type"] == "application/fhir+json"
    plain = answered(post(client, request, lab), request)  # no key: a natural-key retry
    assert statuses(plain) == ["200 OK", "200 OK"]
    (issue,) = issues(post(client, bundle(nat_obs("S-10")), lab, **{"Idempotency-Key": "k1"}), 409)
    assert (hub_code(issue), issue["code"]) == ("IDEMPOTENCY_KEY_REUSED", "conflict")
    assert issue["location"] == ["http.Idempotency-Key"]
    r = post(client, request, lab, **{"Idempotency-Key": "k" * 201})
    summary, *each = issues(r, 422)
    assert hub_code(summary) == "REQUEST_INVALID"
    assert [x["location"] for x in each] == [["http.Idempotency-Key"]]
    assert records(hub) == 1


def test_too_many_records_is_too_costly(client: httpx.Client, hub: Hub, org: Org) -> None:
    hub.ingest.batch_max = 1
    (issue,) = issues(post(client, bundle(nat_obs("S-1"), nat_obs("S-2")), org("lab")), 413)
    assert (hub_code(issue), issue["code"], issue["diagnostics"]) == (
        "BATCH_TOO_LARGE",
        "too-costly",
        "limit: 1",
    )


def test_access_matrix_applies_to_bundles(client: httpx.Client, hub: Hub, org: Org) -> None:
    (issue,) = issues(post(client, bundle(immunization()), org("lab")), 403)
    assert (hub_code(issue), issue["code"]) == ("KIND_NOT_ALLOWED", "forbidden")
    (issue,) = issues(post(client, bundle(nat_obs()), org("vaccination")), 403)
    assert hub_code(issue) == "KIND_NOT_ALLOWED"
    for kind in ("province", "checkpoint", "disease-control"):
        (issue,) = issues(post(client, bundle(nat_obs()), org(kind)), 403)
        assert hub_code(issue) == "KIND_NOT_ALLOWED", kind
    r = client.post("/v1/fhir", content=json.dumps(bundle(nat_obs())), headers=FHIR)
    (issue,) = issues(r, 401)
    assert (hub_code(issue), issue["code"]) == ("TOKEN_MISSING", "login")
    assert r.headers["www-authenticate"] == "Bearer"
    r = post(client, bundle(nat_obs()), {"Authorization": "Bearer not-a-token"})
    (issue,) = issues(r, 401)
    assert (hub_code(issue), issue["code"]) == ("TOKEN_INVALID", "unknown")
    assert records(hub) == 0


def test_only_the_fhir_route_answers_operation_outcomes(client: httpx.Client, org: Org) -> None:
    (issue,) = issues(client.get("/v1/fhir", headers=org("lab")), 405)
    assert (hub_code(issue), issue["code"]) == ("METHOD_NOT_ALLOWED", "not-supported")
    r = client.post("/v1/records/nat/batch", content=b"[]", headers=FHIR)
    assert r.status_code == 401 and r.json()["error"]["code"] == "TOKEN_MISSING"
    assert r.headers["content-type"] == "application/json"
