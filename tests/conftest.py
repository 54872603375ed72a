"""Shared test settings: where the conformance data lives (``tests/data``), database fixtures."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from datadir import TESTDATA

#: tests/data holds data only (JSON, text, SVG): never collect anything there.
collect_ignore = ["data"]


@pytest.fixture(autouse=True)
def _hermetic_trust_store(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """``healthcode verify`` keeps a checkpoint's trust state in the user's data folder: every
    test gets its own (created only when used), and the real home is never written."""
    base = tmp_path_factory.getbasetemp() / f"data-{uuid.uuid4().hex[:12]}"
    monkeypatch.setenv("XDG_DATA_HOME", str(base))
    monkeypatch.setenv("HEALTHCODE_TRUST_STORE", str(base / "healthcode" / "trust"))


@pytest.fixture(scope="session")
def testdata() -> Path:
    if not TESTDATA.is_dir():
        pytest.fail(f"conformance suites not found at {TESTDATA}")
    return TESTDATA


# --- database fixtures (store, hub) -----------------------------------------------------------
# Every database test runs on SQLite, and on PostgreSQL too when HEALTHCODE_TEST_DATABASE_URL is
# set. Each test session gets its own PostgreSQL schema (dropped at the end), so parallel runs
# do not collide; each test runs inside a transaction that is rolled back (a savepoint per test).

import os  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from urllib.parse import quote  # noqa: E402

from healthcode.store.db import Database  # noqa: E402

PG_URL_VARIABLE = "HEALTHCODE_TEST_DATABASE_URL"
DB_BACKENDS = ["sqlite"] + (["postgresql"] if os.environ.get(PG_URL_VARIABLE) else [])


def _pg_admin_url() -> str:
    from healthcode.store.db import normalise_url

    return normalise_url(os.environ[PG_URL_VARIABLE])


def pg_schema_url(schema: str) -> str:
    """The test server's URL with ``search_path`` set to ``schema``."""
    base = _pg_admin_url()
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options={quote(f'-csearch_path={schema}')}"


def pg_create_schema() -> str:
    from sqlalchemy import create_engine, text

    schema = f"hc_{uuid.uuid4().hex[:12]}"
    engine = create_engine(_pg_admin_url())
    with engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine.dispose()
    return schema


def pg_drop_schema(schema: str) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(_pg_admin_url())
    with engine.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    engine.dispose()


@pytest.fixture(params=DB_BACKENDS)
def fresh_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database on each backend (for migration and end-to-end tests)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'hub.db'}"
        return
    schema = pg_create_schema()
    try:
        yield pg_schema_url(schema)
    finally:
        pg_drop_schema(schema)


@pytest.fixture(scope="session", params=DB_BACKENDS)
def migrated_db(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Database]:
    """A database migrated to head, once per test session and backend."""
    from healthcode.store.migrate import upgrade

    schema = None
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
    else:
        schema = pg_create_schema()
        url = pg_schema_url(schema)
    database = Database.from_url(url)
    upgrade(database)
    yield database
    database.dispose()
    if schema:
        pg_drop_schema(schema)


@pytest.fixture
def db(migrated_db: Database) -> Iterator[Database]:
    """A Database whose sessions are savepoints of one transaction, rolled back after the test."""
    assert migrated_db.engine is not None
    connection = migrated_db.engine.connect()
    transaction = connection.begin()
    try:
        yield Database.on_connection(connection)
    finally:
        transaction.rollback()
        connection.close()
