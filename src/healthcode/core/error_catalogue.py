"""``docs/errors.md`` from the catalogue (``core/error_codes.py``, whose ``catalogue_markdown``
calls :func:`markdown` with its ``ErrorCode``): every code with its status, stage and meaning,
in declaration order. Imports nothing of the package.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

__all__ = ["markdown"]

_HEAD = [
    "# Error codes",
    "",
    "Generated from `src/healthcode/core/error_codes.py` by",
    "`python -m healthcode.core.error_codes > docs/errors.md`; a test keeps it current.",
    "Every error the project reports carries one of these codes; a code never changes meaning.",
    "",
    "| code | HTTP | stage | meaning |",
    "|---|---|---|---|",
]


def markdown(codes: Iterable[Any]) -> str:
    """The page: one table row per code (``value``, ``http_status``, ``stage``, ``meaning``)."""
    lines = list(_HEAD)
    for code in codes:
        stage = code.stage.value if code.stage else ""
        lines.append(f"| `{code.value}` | {code.http_status} | {stage} | {code.meaning} |")
    return "\n".join(lines) + "\n"
