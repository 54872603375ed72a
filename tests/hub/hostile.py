"""Valid requests of every route that takes a body, and the hostile values the tests put into
their fields (issue 9, class 5), shared by tests/hub/test_hostile_input.py."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from hub_testdata import resident_id
from test_fhir import bundle as fhir_bundle
from test_fhir import nat_obs

ENVELOPE = {
    "id_number": resident_id(),
    "name": "张三",
    "phone": "13812345678",
    "home_region": "440106",
}

#: One valid record of each kind (record_id set by the test).
RECORDS: dict[str, dict[str, Any]] = {
    "nat": {
        **ENVELOPE,
        "sampled_at": "2022-11-19T08:00:00+08:00",
        "result": "negative",
        "sample_type": "nasal",
        "pooling": "single",
        "resulted_at": "2022-11-19T20:00:00+08:00",
    },
    "antibody": {
        **ENVELOPE,
        "sampled_at": "2022-11-19T08:00:00+08:00",
        "kind": "IgG",
        "result": "negative",
    },
    "vaccination": {
        **ENVELOPE,
        "product": "BIBP",
        "dose": 1,
        "administered_at": "2022-06-01T10:00:00+08:00",
        "site": "越秀区接种点",
    },
    "infection": {
        **ENVELOPE,
        "status": "confirmed",
        "reported_at": "2022-11-18T10:00:00+08:00",
        "onset_at": "2022-11-17T10:00:00+08:00",
        "case_id": "C-1",
    },
    "contact": {
        **ENVELOPE,
        "kind": "close",
        "last_exposure_at": "2022-11-17T10:00:00+08:00",
        "identified_at": "2022-11-18T10:00:00+08:00",
        "source_case": "C-1",
    },
    "itinerary": {
        **ENVELOPE,
        "region_code": "440106",
        "at": "2022-11-18T10:00:00+08:00",
        "source": "venue_scan",
    },
}
#: The kind of organisation that submits each kind of record.
SUBMITTER = {
    "nat": "lab",
    "antibody": "lab",
    "vaccination": "vaccination",
    "infection": "disease-control",
    "contact": "disease-control",
    "itinerary": "itinerary",
}


def bundle() -> dict[str, Any]:
    """A valid FHIR Bundle: a Patient (with a birth date) and a NAT Observation."""
    out = fhir_bundle(nat_obs())
    out["entry"][0]["resource"]["birthDate"] = "1990-03-07"
    return out


STATUS_REPORT = {
    "serial": "GD-7",
    "pseudonym": "p" * 64,
    "colour": "yellow",
    "since": "2022-11-19T00:00",
    "until": "2022-11-22T00:00",
    "ruleset_version": "9.0",
}
PERSON = {"id_type": "resident_id", "id_number": resident_id(), "nationality": "CHN"}
AREA = {
    "region_code": "440106",
    "level": "high",
    "effective_from": "2022-11-20T00:00:00+08:00",
    "until": "2022-12-20T00:00:00+08:00",
    "document": "穗防控〔2022〕1号",
}


@dataclass(frozen=True)
class Route:
    """A route with a body: who calls it, what a valid body is."""

    name: str
    method: str
    path: str
    caller: str  # kind of organisation
    region: str
    body: Any  # a JSON value (sent as JSON), or bytes with ``ctype``
    ctype: str = "application/json"


def routes() -> Iterator[Route]:
    """Every route that takes a body, with a valid body for it."""
    for kind, record in RECORDS.items():
        caller, one = SUBMITTER[kind], {**record, "record_id": f"{kind}-1"}
        yield Route(f"{kind}-one", "POST", f"/v1/records/{kind}", caller, "440106", one)
        yield Route(f"{kind}-batch", "POST", f"/v1/records/{kind}/batch", caller, "440106", [one])
    correction = {
        "action": "correct",
        "record_id": "nat-1",
        "reason": "录入错误",
        "record": {**RECORDS["nat"], "result": "positive"},
    }
    yield Route(
        "nat-correction", "POST", "/v1/records/nat/corrections", "lab", "440106", correction
    )
    yield Route("fhir", "POST", "/v1/fhir", "lab", "440106", bundle(), "application/fhir+json")
    yield Route(
        "registration", "POST", "/v1/registrations", "province", "440000", {"people": [PERSON]}
    )
    yield Route("status", "POST", "/v1/status", "province", "440000", {"reports": [STATUS_REPORT]})
    yield Route("risk-area", "POST", "/v1/risk-areas", "risk-authority", "440100", AREA)


def leaves(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    """Every scalar inside ``value`` with its path."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from leaves(item, (*path, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from leaves(item, (*path, i))
    else:
        yield path, value


def replaced(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    """A deep copy of ``value`` with the scalar at ``path`` replaced by ``new``."""
    out = copy.deepcopy(value)
    node = out
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = new
    return out


def is_time(path: tuple[Any, ...], value: Any) -> bool:
    """Whether the scalar at ``path`` is a date or time."""
    return isinstance(value, str) and value[:4].isdigit() and value[4:5] == "-"
