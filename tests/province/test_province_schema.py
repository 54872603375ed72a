"""The province's migrations build exactly its models' tables, apart from the hub's."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from healthcode.core.rules import SUMMARY_FIELDS
from healthcode.province.models import ProvinceBase, person_summaries
from healthcode.province.schema import VERSION_TABLE, current_revision, head_revision, upgrade
from healthcode.store.db import Database


def test_migrations_match_the_models() -> None:
    db = Database.from_url("sqlite://")
    upgrade(db)
    assert current_revision(db) == head_revision()
    assert db.engine is not None
    with db.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = [
            d
            for d in compare_metadata(ctx, ProvinceBase.metadata)
            if not (d[0] == "remove_table" and d[1].name == VERSION_TABLE)
        ]
    assert diff == []


def test_person_summaries_has_one_column_per_summary_field() -> None:
    names = [c.name for c in person_summaries.columns]
    assert names == ["pseudonym", *SUMMARY_FIELDS, "updated_at"]
