"""Migrations: an empty database upgrades to head and matches the models exactly."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from healthcode.store import models  # noqa: F401 - registers the tables on Base.metadata
from healthcode.store.base import Base
from healthcode.store.db import Database
from healthcode.store.migrate import current_revision, downgrade, head_revision, upgrade


def test_empty_database_upgrades_to_head_and_matches_models(fresh_db_url: str) -> None:
    db = Database.from_url(fresh_db_url)
    try:
        assert current_revision(db) is None
        upgrade(db)
        assert current_revision(db) == head_revision()
        assert db.engine is not None
        with db.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
            assert diff == []
            tables = set(inspect(conn).get_table_names())
        assert set(Base.metadata.tables) <= tables
        downgrade(db, "base")
        with db.engine.connect() as conn:
            assert set(inspect(conn).get_table_names()) <= {"alembic_version"}
    finally:
        db.dispose()


def test_every_constraint_is_named() -> None:
    for table in Base.metadata.tables.values():
        for constraint in table.constraints:
            assert constraint.name, f"unnamed constraint on {table.name}"
        for index in table.indexes:
            assert index.name
