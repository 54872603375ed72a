"""A venue's acceptance rules at its checkpoint: chosen from the published list, kept on the
device, applied to every code the verifier passes.

**Published**: the named rules a venue may choose are a national list shipped with the project
(``core/data/venue-rules.json``, versioned), the same at every checkpoint and served by each
(``GET /v1/venue``), so that a venue cannot write a rule of its own and a person can read what
any venue may ask. Each rule is CertLogic, run by the verifier's own rule engine
(``core.verify.native.compile_rules`` / ``check_rules``) over a code's verified facts
``{"payload": {"format", "colour", "badges", "profile", "issuer"}}``: badges are the native
code's (``nat-48h``, ``vaccine-2``...), so an EU DCC or a SMART Health Card meets a rule only
where its facts say so (it has no colour and no such badges).

**Chosen**: the ids a venue picked, in ``venue.json`` in the checkpoint's trust store folder,
written whole (a temporary file renamed over it), read at start. An unknown id is refused
(``VENUE_RULE_UNKNOWN``) with nothing changed. A kept file that does not read as a choice stops
the checkpoint from starting (``CONFIG_INVALID``): starting without the venue's rules would let
through codes the venue chose to stop.

**Applied**: ``check`` answers the first chosen rule a verified code does not meet (the
checkpoint then stops it: ``RULE_FAILED`` with the rule's own words), or None.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from healthcode.core.error_codes import ErrorCode
from healthcode.core.errors import ConfigError, InvalidInput, VerificationFailed
from healthcode.core.verify import VerificationResult
from healthcode.core.verify.native import AcceptanceRule, check_rules, compile_rules

__all__ = ["PUBLISHED", "VenueRules", "published"]

PUBLISHED = Path(__file__).resolve().parents[1] / "core" / "data" / "venue-rules.json"
#: How many rules a venue may choose (the list is short; a bound for a hostile body).
CHOICE_MAX = 16


@cache
def published() -> dict[str, Any]:
    """The published list: ``{"version", "rules": [{id, zh, en, stop_zh, stop_en, logic}]}``."""
    data: dict[str, Any] = json.loads(PUBLISHED.read_text(encoding="utf-8"))
    return data


@dataclass(eq=False)
class VenueRules:
    """The rules a venue chose, kept in ``path`` (None: chosen for this process only)."""

    path: Path | None = None
    chosen: tuple[str, ...] = ()
    _compiled: tuple[AcceptanceRule, ...] = field(default=(), init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    def __post_init__(self) -> None:
        if self.path is not None and self.path.is_file():
            kept = _kept(self.path)
            known = {r["id"] for r in published()["rules"]}
            self.chosen = tuple(i for i in kept if i in known)  # a rule withdrawn since: gone
        self._compiled = self._compile(self.chosen)

    @staticmethod
    def _compile(ids: tuple[str, ...]) -> tuple[AcceptanceRule, ...]:
        by_id = {r["id"]: r for r in published()["rules"]}
        return compile_rules([{**by_id[i], "description": by_id[i]["id"]} for i in ids])

    def describe(self) -> dict[str, Any]:
        """The published list (without its logic) and the venue's choice."""
        doc = published()
        shown = [{k: r[k] for k in ("id", "zh", "en", "stop_zh", "stop_en")} for r in doc["rules"]]
        return {"version": doc["version"], "published": shown, "chosen": list(self.chosen)}

    def choose(self, ids: Any) -> dict[str, Any]:
        """Keep ``ids`` as the venue's rules (in the published order). Raises InvalidInput
        VENUE_RULE_UNKNOWN (nothing changed)."""
        known = [r["id"] for r in published()["rules"]]
        if (
            not isinstance(ids, list)
            or len(ids) > CHOICE_MAX
            or not all(isinstance(i, str) and i in known for i in ids)
        ):
            raise InvalidInput(ErrorCode.VENUE_RULE_UNKNOWN,
                               f"rules is a list of published rule ids: {', '.join(known)}",
                               field="rules")  # fmt: skip
        chosen = tuple(i for i in known if i in ids)
        with self._lock:
            if self.path is not None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                partial = self.path.with_suffix(".tmp")
                partial.write_text(json.dumps({"rules": list(chosen)}), encoding="utf-8")
                os.replace(partial, self.path)
            self.chosen, self._compiled = chosen, self._compile(chosen)
        return self.describe()

    def check(self, result: VerificationResult, now: datetime) -> dict[str, Any] | None:
        """The first chosen rule the verified ``result`` does not meet (``{"id", "code",
        "zh", "en"}``, ``code`` RULE_FAILED or RULE_ERROR), or None."""
        facts = {
            "format": result.format,
            "colour": result.colour,
            "badges": list(result.badges),
            "profile": result.profile,
            "issuer": result.issuer,
        }
        try:
            check_rules(facts, self._compiled, now=now, destination=None)
        except VerificationFailed as exc:
            rule_id = str(exc.details.get("rule", ""))
            rule = next(r for r in published()["rules"] if r["id"] == rule_id)
            return {"id": rule_id, "code": exc.code, "zh": rule["stop_zh"], "en": rule["stop_en"]}
        return None


def _kept(path: Path) -> list[str]:
    """The ids kept in ``path``. Raises ConfigError CONFIG_INVALID."""
    try:
        kept = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(ErrorCode.CONFIG_INVALID, f"{path} cannot be read: {exc}") from exc
    ids = kept.get("rules") if isinstance(kept, dict) else None
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise ConfigError(ErrorCode.CONFIG_INVALID, f"{path} is not a venue's choice of rules")
    return ids
