"""The EU DCC payload JSON Schema stage, with the official schema shipped as package data.

The package carries ``DCC.combined-schema.json`` of release 1.3.3 of
ehn-dcc-development/eu-dcc-schema (``core/data/dcc-schema/``, Apache-2.0, unchanged), and the
stage uses it when the checkpoint gives none (``DccSettings.schema`` None). A newer release is
given as ``DccSettings(schema=DccSchema.load(path))`` (``healthcode verify --dcc-schema FILE``);
a file that cannot be read as a JSON Schema is refused with ``SCHEMA_UNAVAILABLE``. One release
checks every payload: the schema's ``ver`` pattern accepts payloads of the earlier releases.
The result names the release used (``VerificationResult.schema_release``).
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from healthcode.core.error_codes import ErrorCode, Stage
from healthcode.core.errors import InvalidInput, VerificationFailed
from healthcode.core.verify.dcc.payload import dcc_kind
from healthcode.core.verify.stages import stage

__all__ = ["SCHEMA_HELP", "SHIPPED_SCHEMA", "DccSchema", "shipped_schema", "validate_schema"]

#: The shipped schema, under ``healthcode/core/data/``.
SHIPPED_SCHEMA = "dcc-schema/DCC.combined-schema.json"
#: How to supply another schema; part of the SCHEMA_UNAVAILABLE message.
SCHEMA_HELP = (
    "give the EU DCC JSON schema DCC.combined-schema.json (a release of "
    "github.com/ehn-dcc-development/eu-dcc-schema) as DccSettings(schema=DccSchema.load(path)); "
    "on the command line: healthcode verify --dcc-schema FILE, or HEALTHCODE_DCC_SCHEMA=FILE"
)
#: The release a combined schema names in its ``$comment`` ("Schema version 1.3.3").
_RELEASE = re.compile(r"Schema version (\S+)")


class DccSchema:
    """The EU DCC payload JSON Schema, compiled once, and the release it names (``release``).

    The schema is trust material like a DSC list: the shipped one (:func:`shipped_schema`) unless
    the checkpoint is given a newer release (``load(path)``) as ``DccSettings.schema``.
    """

    def __init__(self, schema: dict[str, Any]) -> None:
        import jsonschema

        cls = jsonschema.validators.validator_for(schema)
        cls.check_schema(schema)
        self._validator = cls(schema)
        found = _RELEASE.search(str(schema.get("$comment", "")))
        #: The release the schema names in its ``$comment``; "unknown" when it names none.
        self.release = found.group(1) if found else "unknown"
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
        """The schema in a JSON file (``DCC.combined-schema.json``).

        Raises InvalidInput ``SCHEMA_UNAVAILABLE`` when the file cannot be read, is not JSON or
        is not a JSON Schema.
        """
        import jsonschema

        try:
            doc = json.loads(Path(path).read_text(encoding="utf-8"))
            if not isinstance(doc, dict):
                raise ValueError("not a JSON object")
            return cls(doc)
        except (OSError, ValueError, jsonschema.SchemaError) as exc:
            message = str(getattr(exc, "message", exc))[:200]
            raise InvalidInput(
                ErrorCode.SCHEMA_UNAVAILABLE,
                f"no EU DCC schema in {path}: {message}; {SCHEMA_HELP}",
            ) from exc

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
def validate_schema(payload: Mapping[str, Any], schema: DccSchema) -> None:
    """The EU DCC JSON Schema, and exactly one group.

    Raises ``SCHEMA_INVALID`` when the payload breaks it.
    """
    error = schema.first_error(payload)
    if error is not None:
        raise VerificationFailed(ErrorCode.SCHEMA_INVALID, error)
    if dcc_kind(payload) is None:
        raise VerificationFailed(ErrorCode.SCHEMA_INVALID, "exactly one of v, t, r must be present")


@functools.cache
def shipped_schema() -> DccSchema:
    """The EU DCC schema shipped with the package (release 1.3.3), compiled once."""
    ref = resources.files("healthcode.core").joinpath("data", *SHIPPED_SCHEMA.split("/"))
    return DccSchema(json.loads(ref.read_text(encoding="utf-8")))
