"""Fixtures for verifier tests: a SMART Health Card issuer whose key the tests hold."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from shc_issuer import ShcIssuer, make_issuer


@pytest.fixture(scope="session")
def shc_issuer(testdata: Path) -> ShcIssuer:
    """An issuer of our own (the specification's example issuer publishes no private key),
    trusted by ``shc_issuer.trust``, with example 00's payload issued under its name."""
    example = json.loads((testdata / "shc/example-00-b-jws-payload-expanded.json").read_text())
    return make_issuer(example)
