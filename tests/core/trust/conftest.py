"""Fixtures for trust tests: one root and signers for two provinces, made once per session."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from healthcode.core.trust.certs import KeyPair, make_publisher, make_root, make_signer

T0 = datetime(2022, 11, 1, tzinfo=UTC)


@pytest.fixture(scope="session")
def root() -> KeyPair:
    return make_root(now=T0)


@pytest.fixture(scope="session")
def gd(root: KeyPair) -> KeyPair:
    return make_signer(
        root=root, province="440000", not_before=T0, not_after=T0 + timedelta(days=90)
    )


@pytest.fixture(scope="session")
def bj(root: KeyPair) -> KeyPair:
    return make_signer(
        root=root, province="110000", not_before=T0, not_after=T0 + timedelta(days=90)
    )


@pytest.fixture(scope="session")
def publisher(root: KeyPair) -> KeyPair:
    return make_publisher(root=root, not_before=T0, not_after=T0 + timedelta(days=90))
