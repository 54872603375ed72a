"""The EU DCC value sets as their own verification stage, apart from the payload schema.

The EU DCC schema (1.3.x) names a value set for each coded field but does not enumerate its
codes: a payload with an unknown vaccine product still meets the schema. The EU business rules
check the codes against the value sets the gateway distributes (``external.valueSets``); this
stage does the same check for every certificate, whatever rules a checkpoint runs, with one
stable code per kind of field (:data:`FIELDS`).

Value sets are trust material like the schema: the ones shipped with the package
(:func:`healthcode.core.verify.dcc.rules.shipped_value_sets`) unless the checkpoint is given newer
files (:func:`load_value_sets`, ``healthcode verify --dcc-value-sets``), each file the EU format
(``valueSetId``, ``valueSetDate``, ``valueSetValues``) of ehn-dcc-development/eu-dcc-valuesets.
A file given replaces the shipped value set of the same id; the others stay shipped.

Every code listed in a value set is known, ``"active": false`` ones too: a code that was valid
when a certificate was issued stays readable, and whether it is still accepted is a business
rule's decision (as in the EU rules, which test membership in the whole value set).

>>> check_value_sets({"v": [{"tg": "840539006", "mp": "EU/1/20/1528"}]},
...                  {"disease-agent-targeted": ["840539006"], "vaccines-covid-19-names": []})
Traceback (most recent call last):
...
healthcode.core.errors.VerificationFailed: VALUE_SET_PRODUCT_UNKNOWN: v[0].mp 'EU/1/20/1528' \
is not in the EU value set vaccines-covid-19-names
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

from healthcode.core.error_codes import ErrorCode, Stage
from healthcode.core.errors import InvalidInput, VerificationFailed
from healthcode.core.verify.dcc.rules import shipped_value_sets
from healthcode.core.verify.stages import stage

__all__ = ["FIELDS", "check_value_sets", "load_value_sets", "read_value_set"]

#: (group, field) -> (the EU value set id, the code for a value outside it), in checking order.
FIELDS: Mapping[tuple[str, str], tuple[str, ErrorCode]] = MappingProxyType(
    {
        ("v", "tg"): ("disease-agent-targeted", ErrorCode.VALUE_SET_DISEASE_UNKNOWN),
        ("v", "vp"): ("sct-vaccines-covid-19", ErrorCode.VALUE_SET_VACCINE_UNKNOWN),
        ("v", "mp"): ("vaccines-covid-19-names", ErrorCode.VALUE_SET_PRODUCT_UNKNOWN),
        ("v", "ma"): ("vaccines-covid-19-auth-holders", ErrorCode.VALUE_SET_MANUFACTURER_UNKNOWN),
        ("v", "co"): ("country-2-codes", ErrorCode.VALUE_SET_COUNTRY_UNKNOWN),
        ("t", "tg"): ("disease-agent-targeted", ErrorCode.VALUE_SET_DISEASE_UNKNOWN),
        ("t", "tt"): ("covid-19-lab-test-type", ErrorCode.VALUE_SET_TEST_TYPE_UNKNOWN),
        ("t", "ma"): (
            "covid-19-lab-test-manufacturer-and-name",
            ErrorCode.VALUE_SET_TEST_DEVICE_UNKNOWN,
        ),
        ("t", "tr"): ("covid-19-lab-result", ErrorCode.VALUE_SET_TEST_RESULT_UNKNOWN),
        ("t", "co"): ("country-2-codes", ErrorCode.VALUE_SET_COUNTRY_UNKNOWN),
        ("r", "tg"): ("disease-agent-targeted", ErrorCode.VALUE_SET_DISEASE_UNKNOWN),
        ("r", "co"): ("country-2-codes", ErrorCode.VALUE_SET_COUNTRY_UNKNOWN),
    }
)


@stage(Stage.VALUE_SETS)
def check_value_sets(
    payload: Mapping[str, Any], value_sets: Mapping[str, Iterable[str]]
) -> tuple[str, ...]:
    """Every coded field of every entry must be a code of its EU value set.

    Raises the field's ``VALUE_SET_*_UNKNOWN`` code (:data:`FIELDS`) at the first value outside
    its set. A value set the checkpoint does not hold leaves its fields unchecked: returns one
    warning per such value set. The payload has passed the schema (the fields are strings).
    """
    missing: list[str] = []
    for group in ("v", "t", "r"):
        entries = payload.get(group)
        if not isinstance(entries, list):
            continue
        for i, entry in enumerate(entries):
            if not isinstance(entry, Mapping):
                continue
            for (kind, name), (set_id, code) in FIELDS.items():
                if kind != group or name not in entry:
                    continue
                known = value_sets.get(set_id)
                if known is None:
                    if set_id not in missing:
                        missing.append(set_id)
                    continue
                value = entry[name]
                if not isinstance(value, str) or value not in known:
                    raise VerificationFailed(
                        code,
                        f"{group}[{i}].{name} {value!r} is not in the EU value set {set_id}",
                        field=f"{group}[{i}].{name}",
                    )
    return tuple(f"VALUE_SET_MISSING: {s} not held; its fields are unchecked" for s in missing)


def read_value_set(data: bytes | str, where: str) -> tuple[str, list[str]]:
    """(id, codes) of one EU value set file; raises InvalidInput ``VALUE_SETS_UNAVAILABLE``."""
    try:
        doc = json.loads(data)
    except ValueError as exc:
        raise _unavailable(where, f"not JSON: {exc}") from exc
    if not isinstance(doc, dict):
        raise _unavailable(where, "not a JSON object")
    set_id, values = doc.get("valueSetId"), doc.get("valueSetValues")
    if not isinstance(set_id, str) or not set_id or not isinstance(values, dict):
        raise _unavailable(where, "an EU value set has a valueSetId and valueSetValues")
    return set_id, list(values)


def load_value_sets(paths: Iterable[str | Path]) -> Mapping[str, list[str]]:
    """The shipped value sets with each given file (or every ``*.json`` of a given folder) in
    place of the shipped set of the same id.

    Raises InvalidInput ``VALUE_SETS_UNAVAILABLE`` when a path cannot be read, a file is not an
    EU value set, or a folder holds none.
    """
    found = dict(shipped_value_sets())
    for path in map(Path, paths):
        files = sorted(path.glob("*.json")) if path.is_dir() else [path]
        if not files:
            raise _unavailable(str(path), "the folder holds no value set (*.json)")
        for file in files:
            try:
                data = file.read_bytes()
            except OSError as exc:
                raise _unavailable(str(file), str(exc)) from exc
            set_id, codes = read_value_set(data, str(file))
            found[set_id] = codes
    return MappingProxyType(found)


def _unavailable(where: str, why: str) -> InvalidInput:
    return InvalidInput(
        ErrorCode.VALUE_SETS_UNAVAILABLE,
        f"no EU DCC value set in {where}: {why[:200]} (give files of "
        "github.com/ehn-dcc-development/eu-dcc-valuesets)",
    )
