"""``docs/errors.md`` from the catalogue (``error_codes.py``): every code with its HTTP
status, verifier stage and meaning, in declaration order.

This module imports nothing of the package.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import Enum
from typing import Protocol

__all__ = ["markdown"]


class Code(Protocol):
    """What the page shows of an ``ErrorCode``."""

    @property
    def value(self) -> str: ...
    @property
    def http_status(self) -> int: ...
    @property
    def meaning(self) -> str: ...
    @property
    def stage(self) -> Enum | None: ...


def markdown(codes: Iterable[Code]) -> str:
    """The Markdown page of ``codes``."""
    lines = [
        "# Error codes",
        "",
        "Generated from `src/healthcode/core/error_codes.py` by",
        "`python -m healthcode.core.error_codes > docs/errors.md`; a test keeps it current.",
        "Every error the project reports carries one of these codes; a code never changes meaning.",
        "",
        "| code | HTTP | stage | meaning |",
        "|---|---|---|---|",
    ]
    for code in codes:
        stage = code.stage.value if code.stage else ""
        lines.append(f"| `{code.value}` | {code.http_status} | {stage} | {code.meaning} |")
    return "\n".join(lines) + "\n"
