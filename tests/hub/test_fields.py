"""hub/fields.py: the hub's one time parser and its required texts."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from healthcode.core.errors import InvalidInput
from healthcode.hub import fields

HUB = Path(fields.__file__).parent


def test_times_are_iso_8601_and_china_time_without_an_offset() -> None:
    assert fields.time_field({"at": "2022-11-20T01:00:00Z"}, "at") == datetime(
        2022, 11, 20, 1, 0, tzinfo=UTC
    )
    assert fields.time_field({"at": "2022-11-20T09:00"}, "at") == datetime(
        2022, 11, 20, 1, 0, tzinfo=UTC
    )
    assert fields.time_field({}, "until") is None
    assert fields.time_field({"until": None}, "until") is None


@pytest.mark.parametrize("raw", [{}, {"since": None}, {"since": 5}, {"since": "yesterday"}])
def test_a_missing_or_wrong_time_is_time_format_naming_the_field(raw: dict[str, object]) -> None:
    with pytest.raises(InvalidInput) as err:
        fields.time_field(raw, "since", required=True)
    assert (err.value.code, err.value.details["field"]) == ("TIME_FORMAT", "since")


def test_every_time_the_hub_reads_goes_through_time_field() -> None:
    callers = sorted(
        p.relative_to(HUB).as_posix()
        for p in HUB.rglob("*.py")
        if "parse_instant" in p.read_text(encoding="utf-8")
    )
    assert callers == ["fields.py"]


@pytest.mark.parametrize(
    ("raw", "code"),
    [({}, "FIELD_MISSING"), ({"reason": "  "}, "FIELD_MISSING"), ({"reason": 3}, "FIELD_MISSING")],
)
def test_required_text_is_present_and_not_blank(raw: dict[str, object], code: str) -> None:
    with pytest.raises(InvalidInput) as err:
        fields.required_text(raw, "reason", 10)
    assert (err.value.code, err.value.details["field"]) == (code, "reason")


def test_required_text_is_stripped_and_bounded() -> None:
    assert fields.required_text({"reason": " typo "}, "reason", 4) == "typo"
    with pytest.raises(InvalidInput) as err:
        fields.required_text({"reason": "a typo"}, "reason", 4)
    assert err.value.code == "FIELD_TOO_LONG"
