"""EU business rules (CertLogic) for DCCs: which rules apply, their outcome, external data.

The rules read the EU value sets as ``external.valueSets`` (value set id: its codes). The package
ships the EU value sets of ehn-dcc-development/eu-dcc-valuesets (``core/data/dcc-valuesets/``,
Apache-2.0, unchanged): :func:`shipped_value_sets`, the default of ``DccSettings.value_sets``.
"""

from __future__ import annotations

import base64
import functools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from types import MappingProxyType
from typing import Any

from healthcode.core import certlogic
from healthcode.core.codes.cwt import ISS, to_instant
from healthcode.core.errors import HealthcodeError
from healthcode.core.verify.dcc.payload import dcc_kind

__all__ = ["VALUE_SETS_DIR", "RuleOutcome", "check_rules", "external_data", "shipped_value_sets"]

#: The shipped EU value sets, under ``healthcode/core/data/``.
VALUE_SETS_DIR = "dcc-valuesets"


@dataclass(frozen=True, slots=True)
class RuleOutcome:
    """A business rule that did not pass, with its description."""

    identifier: str
    description: str
    result: str  # "FAIL" or "OPEN" (the rule could not be evaluated)


def _rule_applies(
    rule: Mapping[str, Any], kind: str | None, now: datetime, country: str | None
) -> bool:
    cert_type = str(rule.get("CertificateType", "General"))
    wanted = {"Vaccination": "v", "Test": "t", "Recovery": "r"}.get(cert_type)
    if wanted is not None and wanted != kind:
        return False
    if country and rule.get("Country") and rule.get("Country") != country:
        return False
    try:
        valid_from = datetime.fromisoformat(str(rule["ValidFrom"]).replace("Z", "+00:00"))
        valid_to = datetime.fromisoformat(str(rule["ValidTo"]).replace("Z", "+00:00"))
    except (KeyError, ValueError):
        return True
    return valid_from <= now <= valid_to


def _description(rule: Mapping[str, Any]) -> str:
    for item in rule.get("Description") or []:
        if isinstance(item, Mapping) and item.get("lang") == "en":
            return str(item.get("desc", ""))
    return str(rule.get("Identifier", ""))


def check_rules(
    rules: Sequence[Mapping[str, Any]],
    payload: Mapping[str, Any],
    external: Mapping[str, Any],
    *,
    now: datetime,
    country: str | None = None,
) -> list[RuleOutcome]:
    """Evaluate the EU business rules that apply; returns those that fail or stay open.

    A rule applies when its ``CertificateType`` (General / Vaccination / Test / Recovery) fits
    the payload, its ``Country`` is the checkpoint's (when given) and ``now`` is within
    ``ValidFrom``..``ValidTo``. Only ``Engine: CERTLOGIC`` rules are run; others stay open.
    """
    kind = dcc_kind(payload)
    data = {"payload": payload, "external": dict(external)}
    failed: list[RuleOutcome] = []
    for rule in rules:
        if not _rule_applies(rule, kind, now, country):
            continue
        ident = str(rule.get("Identifier", "?"))
        if str(rule.get("Engine", "CERTLOGIC")).upper() != "CERTLOGIC":
            failed.append(RuleOutcome(ident, _description(rule), "OPEN"))
            continue
        try:
            result = certlogic.evaluate(rule.get("Logic"), data)
        except HealthcodeError:
            failed.append(RuleOutcome(ident, _description(rule), "OPEN"))
            continue
        if result is not True:
            failed.append(RuleOutcome(ident, _description(rule), "FAIL"))
    return failed


def external_data(
    claims: Mapping[Any, Any],
    kid: bytes,
    *,
    now: datetime,
    value_sets: Mapping[str, Any],
    country: str | None,
) -> dict[str, Any]:
    """The ``external`` object EU business rules read (value sets, clock, country, the CWT's
    times, issuer country and kid)."""
    exp = to_instant(claims, 4)
    iat = to_instant(claims, 6)
    return {
        "valueSets": dict(value_sets),
        "validationClock": now.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "countryCode": country or "",
        "exp": exp.isoformat().replace("+00:00", "Z") if exp else None,
        "iat": iat.isoformat().replace("+00:00", "Z") if iat else None,
        "issuerCountryCode": claims.get(ISS) if isinstance(claims.get(ISS), str) else "",
        "kid": base64.b64encode(kid).decode(),
    }


@functools.cache
def shipped_value_sets() -> Mapping[str, list[str]]:
    """The EU value sets shipped with the package, as the rules read them: each ``valueSetId``
    with the codes of its ``valueSetValues`` (read once; files without both are skipped)."""
    found: dict[str, list[str]] = {}
    folder = resources.files("healthcode.core").joinpath("data", VALUE_SETS_DIR)
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".json"):
            continue
        doc = json.loads(entry.read_text(encoding="utf-8"))
        values = doc.get("valueSetValues")
        if isinstance(doc.get("valueSetId"), str) and isinstance(values, dict):
            found[doc["valueSetId"]] = list(values)
    return MappingProxyType(found)
