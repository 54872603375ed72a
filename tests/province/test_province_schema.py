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


def test_the_appeals_migration_flags_the_venue_scans_held() -> None:
    """Visits stored before ``visits.flag`` existed are judged when it is added, as the feed
    judges them from then on; down and up again is clean."""
    from datetime import UTC, datetime

    from sqlalchemy import text

    from healthcode.province.schema import downgrade

    db = Database.from_url("sqlite://")
    upgrade(db, "p0003")
    at = datetime(2022, 11, 19, 2, 0, tzinfo=UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    rows = [
        (1, "alone", "440106", "venue_scan"),
        (2, "backed", "440106", "venue_scan"),
        (3, "backed", "440100", "carrier_cell"),
        (4, "forwarded", "440106", "venue_scan"),
        (5, "forwarded", "110105", "carrier_cell"),
    ]
    assert db.engine is not None
    with db.engine.begin() as conn:
        for record_id, who, region, source in rows:
            conn.execute(
                text("INSERT INTO visits VALUES (:r, :p, :c, :at, :s)"),
                {"r": record_id, "p": who, "c": region, "at": at, "s": source},
            )
    upgrade(db)
    with db.engine.connect() as conn:
        flags = dict(conn.execute(text("SELECT record_id, flag FROM visits")).all())
    assert flags == {
        1: "VENUE_SCAN_UNCORROBORATED",
        2: None,
        3: None,
        4: "VENUE_SCAN_CONTRADICTED",
        5: None,
    }
    downgrade(db, "p0003")
    upgrade(db)
    assert current_revision(db) == head_revision()
