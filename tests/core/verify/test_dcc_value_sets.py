"""EU DCC value sets: their own stage after the schema, one code per kind of coded field."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from dcc_issuer import NOW, VACCINATION, DccIssuer, make_dcc_issuer

from healthcode.core.clock import FixedClock
from healthcode.core.errors import InvalidInput
from healthcode.core.verify import DccSettings, Verifier
from healthcode.core.verify.dcc import (
    check_value_sets,
    load_value_sets,
    shipped_value_sets,
)
from healthcode.core.verify.dcc.valuesets import FIELDS

TEST: dict[str, Any] = {
    "ver": "1.3.0",
    "nam": {"fnt": "MUSTERMANN"},
    "dob": "1990-01-01",
    "t": [
        {
            "tg": "840539006",
            "tt": "LP217198-3",
            "ma": "1232",
            "sc": "2021-05-30T10:00:00Z",
            "tr": "260415000",
            "tc": "Test centre",
            "co": "DE",
            "is": "RKI",
            "ci": "URN:UVCI:01:DE:TEST#1",
        }
    ],
}


@pytest.fixture(scope="module")
def issuer() -> DccIssuer:
    return make_dcc_issuer()


def _verify(issuer: DccIssuer, payload: dict[str, Any], **settings: Any) -> Any:
    dcc = DccSettings(trust=issuer.trust, **settings)
    return Verifier.default(dcc=dcc, clock=FixedClock(NOW)).verify(issuer.code(payload))


def _with(payload: dict[str, Any], group: str, field: str, value: Any) -> dict[str, Any]:
    out = copy.deepcopy(payload)
    out[group][0][field] = value
    return out


@pytest.mark.parametrize("payload", [VACCINATION, TEST], ids=["v", "t"])
def test_known_values_pass(issuer: DccIssuer, payload: dict[str, Any]) -> None:
    result = _verify(issuer, payload)
    assert result.valid, result


@pytest.mark.parametrize(
    ("group", "field", "code"),
    [
        ("v", "tg", "VALUE_SET_DISEASE_UNKNOWN"),
        ("v", "vp", "VALUE_SET_VACCINE_UNKNOWN"),
        ("v", "mp", "VALUE_SET_PRODUCT_UNKNOWN"),
        ("v", "ma", "VALUE_SET_MANUFACTURER_UNKNOWN"),
        ("v", "co", "VALUE_SET_COUNTRY_UNKNOWN"),
        ("t", "tg", "VALUE_SET_DISEASE_UNKNOWN"),
        ("t", "tt", "VALUE_SET_TEST_TYPE_UNKNOWN"),
        ("t", "ma", "VALUE_SET_TEST_DEVICE_UNKNOWN"),
        ("t", "tr", "VALUE_SET_TEST_RESULT_UNKNOWN"),
        ("t", "co", "VALUE_SET_COUNTRY_UNKNOWN"),
    ],
)
def test_unknown_value_fails_at_its_own_stage(
    issuer: DccIssuer, group: str, field: str, code: str
) -> None:
    """The schema takes any string here; the value set stage names the field and its code."""
    base = VACCINATION if group == "v" else TEST
    value = "XX" if field == "co" else "0000000"
    result = _verify(issuer, _with(base, group, field, value))
    assert (result.valid, result.stage, result.error_code) == (False, "value_sets", code)
    assert f"{group}[0].{field}" in (result.reason or "")
    assert result.schema_release == "1.3.3"  # the schema passed: this is no schema failure


def test_recovery_country(issuer: DccIssuer) -> None:
    rec = {
        "ver": "1.3.0",
        "nam": {"fnt": "X"},
        "dob": "1990",
        "r": [
            {
                "tg": "840539006",
                "fr": "2021-04-01",
                "co": "ZZ",
                "is": "RKI",
                "df": "2021-05-01",
                "du": "2021-10-01",
                "ci": "URN:UVCI:01:DE:R#1",
            }
        ],
    }
    result = _verify(issuer, rec)
    assert (result.stage, result.error_code) == ("value_sets", "VALUE_SET_COUNTRY_UNKNOWN")


def test_every_field_has_a_shipped_value_set() -> None:
    assert {set_id for set_id, _ in FIELDS.values()} <= shipped_value_sets().keys()


def test_inactive_codes_are_known() -> None:
    """The EU rules test membership of the whole value set; ``active`` is the rules' affair."""
    shipped = shipped_value_sets()
    doc = json.loads(
        (
            Path(__file__).parents[3] / "src/healthcode/core/data/dcc-valuesets/"
            "test-manf-example.json"
        ).read_text()
    )
    inactive = [k for k, v in doc["valueSetValues"].items() if not v.get("active", True)]
    assert all(k in shipped["covid-19-lab-test-manufacturer-and-name"] for k in inactive)


def test_missing_value_set_leaves_the_field_unchecked_with_a_warning() -> None:
    sets = {k: v for k, v in shipped_value_sets().items() if k != "vaccines-covid-19-names"}
    warnings = check_value_sets(_with(VACCINATION, "v", "mp", "anything"), sets)
    assert [w.split(":")[0] for w in warnings] == ["VALUE_SET_MISSING"]


def test_override_replaces_one_value_set(issuer: DccIssuer, tmp_path: Path) -> None:
    newer = {
        "valueSetId": "vaccines-covid-19-names",
        "valueSetDate": "2030-01-01",
        "valueSetValues": {"NEW-VACCINE": {"display": "New", "active": True}},
    }
    (tmp_path / "vaccine-medicinal-product.json").write_text(json.dumps(newer))
    sets = load_value_sets([tmp_path])
    assert sets["vaccines-covid-19-names"] == ["NEW-VACCINE"]
    assert sets["country-2-codes"] == shipped_value_sets()["country-2-codes"]
    assert _verify(issuer, _with(VACCINATION, "v", "mp", "NEW-VACCINE"), value_sets=sets).valid
    old = _verify(issuer, VACCINATION, value_sets=sets)
    assert old.error_code == "VALUE_SET_PRODUCT_UNKNOWN"


@pytest.mark.parametrize(
    "content", ["not json", "[]", '{"valueSetId": "x"}', '{"valueSetValues": {}}']
)
def test_override_that_is_no_value_set(tmp_path: Path, content: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(InvalidInput) as info:
        load_value_sets([path])
    assert info.value.code == "VALUE_SETS_UNAVAILABLE"


def test_override_folder_without_value_sets(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput) as info:
        load_value_sets([tmp_path])
    assert info.value.code == "VALUE_SETS_UNAVAILABLE"
    with pytest.raises(InvalidInput):
        load_value_sets([tmp_path / "absent.json"])
