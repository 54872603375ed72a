"""hub/fhir_answers.py without HTTP: the corners the route rarely reaches."""

from __future__ import annotations

import doctest

from hub_testdata import FHIR_ISSUE_TYPES

from healthcode.hub import fhir_answers
from healthcode.hub.fhir_answers import operation_outcome, response_bundle


def test_docstring_example_runs() -> None:
    assert doctest.testmod(fhir_answers).failed == 0


def test_every_issue_type_is_an_r4_issue_type() -> None:
    assert len(FHIR_ISSUE_TYPES) == 31
    assert set(fhir_answers.ISSUE_TYPES.values()) <= FHIR_ISSUE_TYPES


def test_errors_beyond_the_listed_ones_are_counted_in_the_first_issue() -> None:
    errors = [{"entry": 1, "code": "FHIR_STATUS", "field": "Observation.status", "message": "m"}]
    outcome = operation_outcome(
        "BATCH_INVALID", "1500 invalid", {"rejected": 1500, "errors": errors}, 422
    )
    first, second = outcome["issue"]
    assert first["diagnostics"] == "not listed: 1499 more"
    assert second["expression"] == ["Bundle.entry[1].resource.status"]


def test_a_field_without_a_fhir_name_points_at_the_resource() -> None:
    errors = [{"entry": 4, "code": "FIELD_TOO_LONG", "field": "nationality", "message": "m"}]
    (_, issue) = operation_outcome("BATCH_INVALID", "x", {"rejected": 1, "errors": errors}, 422)[
        "issue"
    ]
    assert issue["expression"] == ["Bundle.entry[4].resource"]
    assert (issue["diagnostics"], issue["code"]) == ("field: nationality", "value")


def test_an_unknown_code_takes_its_issue_type_from_the_status() -> None:
    assert operation_outcome("SOMETHING_NEW", "x", {}, 409)["issue"][0]["code"] == "conflict"
    assert operation_outcome("REGION_NOT_OWN", "x", {}, 403)["issue"][0]["code"] == "forbidden"
    assert operation_outcome("HTTP_ERROR", "x", {}, 503)["issue"][0]["code"] == "processing"


def test_a_stored_answer_gives_the_same_bundle() -> None:
    request = {"type": "batch", "entry": [{}, {}]}
    answer = {
        "count": 1,
        "records": [{"entry": 1, "kind": "vaccination", "id": 7, "created": True}],
    }
    bundle = response_bundle(request, answer)
    assert bundle == response_bundle(request, answer)
    assert bundle["type"] == "batch-response"
    assert bundle["entry"][1]["response"]["location"] == "Immunization/7"
