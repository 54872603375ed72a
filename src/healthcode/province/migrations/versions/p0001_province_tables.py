"""The province's tables: people, fact records, visits, risk areas, person summaries, colours,
the feed cursor, the status outbox, issued codes.

Revision ID: p0001
Revises:
Create Date: 2026-12-01 14:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from healthcode.store.base import UTCDateTime

revision = "p0001"
down_revision = None
branch_labels = None
depends_on = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
#: core.rules.SUMMARY_FIELDS as of this revision: name -> column type
_SUMMARY = {
    "infection_status": sa.String,
    "infection_reported_at": UTCDateTime,
    "infection_released_at": UTCDateTime,
    "close_last_exposure": UTCDateTime,
    "secondary_last_exposure": UTCDateTime,
    "high_area_last_visit": UTCDateTime,
    "medium_area_last_visit": UTCDateTime,
    "coarse_risk_area_last_visit": UTCDateTime,
    "nat_last_sample": UTCDateTime,
    "nat_last_negative": UTCDateTime,
    "nat_last_positive": UTCDateTime,
    "mandated_test_due_at": UTCDateTime,
    "manual_red_until": UTCDateTime,
    "manual_red_basis": sa.String,
    "manual_yellow_until": UTCDateTime,
    "manual_yellow_basis": sa.String,
    "vaccine_doses": sa.Integer,
    "antibody_igg": sa.String,
}


def _pk(table: str, *columns: str) -> sa.PrimaryKeyConstraint:
    return sa.PrimaryKeyConstraint(*columns, name=op.f(f"pk_{table}"))


def upgrade() -> None:
    op.create_table(
        "people",
        sa.Column("pseudonym", sa.String(64), nullable=False),
        sa.Column("id_digest", sa.String(64), nullable=False),
        sa.Column("id_type", sa.String(32), nullable=False),
        sa.Column("id_enc", sa.LargeBinary(), nullable=False),
        sa.Column("name_enc", sa.LargeBinary(), nullable=False),
        sa.Column("phone_enc", sa.LargeBinary(), nullable=False),
        sa.Column("masked_id", sa.String(40), nullable=False),
        sa.Column("masked_name", sa.String(120), nullable=False),
        sa.Column("residence_region", sa.String(6), nullable=False),
        sa.Column("applied_at", UTCDateTime(), nullable=False),
        _pk("people", "pseudonym"),
        sa.UniqueConstraint("id_digest", name=op.f("uq_people_id_digest")),
    )
    op.create_table(
        "fact_records",
        sa.Column("record_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("pseudonym", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("fact", _JSON, nullable=True),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        _pk("fact_records", "record_id"),
    )
    op.create_index(op.f("ix_fact_records_pseudonym"), "fact_records", ["pseudonym"])
    op.create_table(
        "visits",
        sa.Column("record_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("pseudonym", sa.String(64), nullable=False),
        sa.Column("region_code", sa.String(6), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
        _pk("visits", "record_id"),
    )
    op.create_index(op.f("ix_visits_pseudonym"), "visits", ["pseudonym"])
    op.create_index("ix_visits_region_code_at", "visits", ["region_code", "at"])
    op.create_table(
        "risk_areas",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("region_code", sa.String(6), nullable=False),
        sa.Column("level", sa.String(8), nullable=False),
        sa.Column("effective_from", UTCDateTime(), nullable=False),
        sa.Column("until", UTCDateTime(), nullable=True),
        sa.Column("lifted_at", UTCDateTime(), nullable=True),
        sa.Column("cancelled", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        _pk("risk_areas", "id"),
    )
    op.create_table(
        "person_summaries",
        sa.Column("pseudonym", sa.String(64), nullable=False),
        *(sa.Column(name, kind(), nullable=True) for name, kind in _SUMMARY.items()),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        _pk("person_summaries", "pseudonym"),
    )
    op.create_table(
        "colours",
        sa.Column("pseudonym", sa.String(64), nullable=False),
        sa.Column("colour", sa.String(8), nullable=False),
        sa.Column("reasons", _JSON, nullable=False),
        sa.Column("badges", _JSON, nullable=False),
        sa.Column("until", UTCDateTime(), nullable=True),
        sa.Column("ruleset_digest", sa.String(80), nullable=False),
        sa.Column("evaluated_at", UTCDateTime(), nullable=False),
        _pk("colours", "pseudonym"),
    )
    op.create_index(op.f("ix_colours_until"), "colours", ["until"])
    op.create_table(
        "feed_cursor",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        _pk("feed_cursor", "id"),
    )
    op.create_table(
        "status_outbox",
        sa.Column("id", _BIG_ID, autoincrement=True, nullable=False),
        sa.Column("pseudonym", sa.String(64), nullable=False),
        sa.Column("serial", sa.String(64), nullable=False),
        sa.Column("colour", sa.String(8), nullable=False),
        sa.Column("since", UTCDateTime(), nullable=False),
        sa.Column("until", UTCDateTime(), nullable=True),
        sa.Column("ruleset_version", sa.String(64), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        _pk("status_outbox", "id"),
    )
    op.create_index(op.f("ix_status_outbox_pseudonym"), "status_outbox", ["pseudonym"])
    op.create_table(
        "issued_codes",
        sa.Column("serial", sa.String(64), nullable=False),
        sa.Column("pseudonym", sa.String(64), nullable=False),
        sa.Column("medium", sa.String(8), nullable=False),
        sa.Column("colour", sa.String(8), nullable=False),
        sa.Column("ruleset_digest", sa.String(80), nullable=False),
        sa.Column("issued_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        _pk("issued_codes", "serial"),
    )
    op.create_index(op.f("ix_issued_codes_pseudonym"), "issued_codes", ["pseudonym"])


def downgrade() -> None:
    for table in (
        "issued_codes",
        "status_outbox",
        "feed_cursor",
        "colours",
        "person_summaries",
        "risk_areas",
        "visits",
        "fact_records",
        "people",
    ):
        op.drop_table(table)
