"""The EU DCC payload JSON Schema stage: the schema is trust material the checkpoint is given.

No maintained package ships the EU DCC schema, and the project does not copy it: give
``DCC.combined-schema.json`` (release 1.3.x of ehn-dcc-development/ehn-dcc-schema) as
``DccSettings(schema=DccSchema.load(path))``. Without it the stage fails closed with
``SCHEMA_UNAVAILABLE``, whose message says how to supply it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from healthcode.core.error_codes import ErrorCode, Stage
from healthcode.core.errors import VerificationFailed
from healthcode.core.verify.dcc.payload import dcc_kind
from healthcode.core.verify.stages import stage

__all__ = ["SCHEMA_HELP", "DccSchema", "validate_schema"]

#: How to supply the schema; part of the SCHEMA_UNAVAILABLE message.
SCHEMA_HELP = (
    "give the EU DCC JSON schema DCC.combined-schema.json (release 1.3.x of "
    "github.com/ehn-dcc-development/ehn-dcc-schema) as DccSettings(schema=DccSchema.load(path)); "
    "on the command line: healthcode verify --dcc-schema FILE, or HEALTHCODE_DCC_SCHEMA=FILE"
)


class DccSchema:
    """The EU DCC payload JSON Schema, compiled once.

    The schema is trust material like a DSC list: the checkpoint is given it (``load(path)``,
    e.g. ``eu-dcc-schema/DCC.combined-schema.json`` release 1.3.3) and passes it as
    ``DccSettings.schema``; without one, the schema stage fails closed.
    """

    def __init__(self, schema: dict[str, Any]) -> None:
        import jsonschema

        cls = jsonschema.validators.validator_for(schema)
        cls.check_schema(schema)
        self._validator = cls(schema)
        # Speed: the Rust validator is much faster on this schema (docs/benchmarks.md, EU DCC);
        # the pure Python one is the fallback and the reference (both run on every vector in
        # the tests, and a property test keeps them equal).
        self._fast: Any = None
        try:
            import jsonschema_rs
        except ImportError:  # pragma: no cover - jsonschema-rs is a dependency
            return
        self._fast = jsonschema_rs.validator_for(schema)

    @classmethod
    def load(cls, path: str | Path) -> DccSchema:
        """The schema in a JSON file (``DCC.combined-schema.json``)."""
        return cls(json.loads(Path(path).read_text(encoding="utf-8")))

    def first_error(self, payload: Mapping[str, Any], *, reference: bool = False) -> str | None:
        """The first schema violation, None when valid; ``reference`` uses jsonschema."""
        fast_says_invalid = False
        if self._fast is not None and not reference:
            try:
                if self._fast.is_valid(payload):
                    return None
                fast_says_invalid = True
            except (ValueError, TypeError, OverflowError):
                pass  # a value the Rust side cannot take: let the reference judge it
        error = next(iter(self._validator.iter_errors(payload)), None)
        if error is None:  # fail closed when the two validators disagree
            return "(root): refused by the schema validator" if fast_says_invalid else None
        where = "/".join(str(p) for p in error.absolute_path) or "(root)"
        return f"{where}: {error.message[:200]}"


@stage(Stage.SCHEMA)
def validate_schema(payload: Mapping[str, Any], schema: DccSchema | None) -> None:
    """The EU DCC JSON Schema, and exactly one group.

    Raises ``SCHEMA_UNAVAILABLE`` when no schema was given, ``SCHEMA_INVALID`` when the payload
    breaks it.
    """
    if schema is None:
        raise VerificationFailed(
            ErrorCode.SCHEMA_UNAVAILABLE,
            f"no EU DCC schema was given to the verifier: {SCHEMA_HELP}",
        )
    error = schema.first_error(payload)
    if error is not None:
        raise VerificationFailed(ErrorCode.SCHEMA_INVALID, error)
    if dcc_kind(payload) is None:
        raise VerificationFailed(ErrorCode.SCHEMA_INVALID, "exactly one of v, t, r must be present")
