"""The province's migrations build exactly its models' tables, apart from the hub's."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from healthcode.core.rules import AREA_FIELDS, PERSON_FIELDS, SUMMARY_FIELDS
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


def test_person_summaries_has_one_column_per_stored_summary_field() -> None:
    names = [c.name for c in person_summaries.columns]
    assert names == ["pseudonym", *PERSON_FIELDS, "updated_at"]
    assert set(PERSON_FIELDS) | set(AREA_FIELDS) == set(SUMMARY_FIELDS)
    assert not set(PERSON_FIELDS) & set(AREA_FIELDS)


def test_the_area_fields_migration_drops_them_and_fills_them_going_down() -> None:
    """p0014 drops the stored risk-area fields (derived when read from then on: the document
    read after the upgrade says what the stored one said); going down fills them again from
    the visits and the risk areas held."""
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import text

    from healthcode.province.documents import summary_of
    from healthcode.province.schema import downgrade

    db = Database.from_url("sqlite://")
    upgrade(db, "p0011")
    t = datetime(2022, 11, 19, 2, 0, tzinfo=UTC)

    def at(value: datetime) -> str:
        return value.strftime("%Y-%m-%d %H:%M:%S.%f")

    assert db.engine is not None
    with db.engine.begin() as conn:
        for who in ("inside", "outside"):
            conn.execute(
                text(
                    "INSERT INTO person_summaries (pseudonym, vaccine_doses, "
                    "coarse_risk_area_last_visit, updated_at) VALUES (:p, 0, :h, :u)"
                ),
                {"p": who, "h": at(t) if who == "inside" else None, "u": at(t)},
            )
        conn.execute(
            text(
                "INSERT INTO risk_areas (id, region_code, level, effective_from, cancelled, "
                "version) VALUES (1, '440100', 'high', :f, 0, 1)"
            ),
            {"f": at(t - timedelta(days=2))},
        )
        for record_id, who, region, flag in (
            (1, "inside", "440106", None),
            (2, "outside", "110105", None),
            (3, "outside", "440106", "VENUE_SCAN_UNCORROBORATED"),
        ):
            conn.execute(
                text(
                    "INSERT INTO visits VALUES (:r, :p, :c, :at, 'carrier_cell', :f)"
                    if flag is None
                    else "INSERT INTO visits VALUES (:r, :p, :c, :at, 'venue_scan', :f)"
                ),
                {"r": record_id, "p": who, "c": region, "at": at(t), "f": flag},
            )
    upgrade(db)
    with db.read() as s:
        inside, outside = summary_of(s, "inside"), summary_of(s, "outside")
    assert inside is not None and outside is not None
    assert inside["coarse_risk_area_last_visit"] == "2022-11-19T02:00:00.000Z"
    assert outside["coarse_risk_area_last_visit"] is None
    downgrade(db, "p0011")
    with db.engine.connect() as conn:
        stored = dict(
            conn.execute(
                text("SELECT pseudonym, coarse_risk_area_last_visit FROM person_summaries")
            ).all()
        )
    assert stored["outside"] is None and str(stored["inside"]).startswith("2022-11-19 02:00:00")
    upgrade(db)
    assert current_revision(db) == head_revision()


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
