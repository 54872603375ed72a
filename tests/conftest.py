"""Shared test settings: where the conformance suites live (read in place, never copied)."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: ../shared/testdata beside the project's root (CI lays a copy of shared/ there too).
TESTDATA = (ROOT.parent / "shared" / "testdata").resolve()


@pytest.fixture(scope="session")
def testdata() -> Path:
    if not TESTDATA.is_dir():
        pytest.fail(f"conformance suites not found at {TESTDATA}")
    return TESTDATA
