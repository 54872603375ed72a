"""Appeals of a colour, and the flag of a venue scan that is left out.

``visits.flag`` is filled for the visits already held, with the same judgement the feed
applies from now on (``core/facts/scans.py``).

Revision ID: p0009
Revises: p0003
Create Date: 2026-12-01 17:00:00
"""

from __future__ import annotations

from itertools import groupby

import sqlalchemy as sa
from alembic import op

from healthcode.core.facts import ItineraryVisit
from healthcode.core.facts.scans import scan_flags
from healthcode.store.base import Json, UTCDateTime

revision = "p0009"
down_revision = "p0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("visits", sa.Column("flag", sa.String(32), nullable=True))
    _flag_held_visits()
    op.create_table(
        "appeals",
        sa.Column("id", sa.String(24), nullable=False),
        sa.Column("pseudonym", sa.String(64), nullable=False),
        sa.Column("state", sa.String(12), nullable=False),
        sa.Column("colour", sa.String(8), nullable=False),
        sa.Column("reason", sa.String(1000), nullable=False),
        sa.Column("evidence", Json, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("deadline_at", UTCDateTime(), nullable=False),
        sa.Column("escalated_at", UTCDateTime(), nullable=True),
        sa.Column("answered_by", sa.String(24), nullable=True),
        sa.Column("answered_at", UTCDateTime(), nullable=True),
        sa.Column("answer", sa.String(1000), nullable=True),
        sa.Column("records", Json, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appeals")),
    )
    op.create_index(op.f("ix_appeals_pseudonym"), "appeals", ["pseudonym"])
    op.create_index("ix_appeals_state_deadline_at", "appeals", ["state", "deadline_at"])


def _flag_held_visits() -> None:
    """Judge the venue scans of everyone who has one."""
    visits = sa.table(
        "visits",
        sa.column("record_id", sa.BigInteger),
        sa.column("pseudonym", sa.String),
        sa.column("region_code", sa.String),
        sa.column("at", UTCDateTime()),
        sa.column("source", sa.String),
        sa.column("flag", sa.String),
    )
    bind = op.get_bind()
    scanned = sa.select(visits.c.pseudonym).where(visits.c.source == "venue_scan").distinct()
    rows = bind.execute(
        sa.select(
            visits.c.record_id,
            visits.c.pseudonym,
            visits.c.region_code,
            visits.c.at,
            visits.c.source,
        )
        .where(visits.c.pseudonym.in_(scanned))
        .order_by(visits.c.pseudonym, visits.c.record_id)
    ).all()
    for _, group in groupby(rows, key=lambda r: r.pseudonym):
        mine = list(group)
        flags = scan_flags([ItineraryVisit(r.region_code, r.at, r.source) for r in mine])
        for row, flag in zip(mine, flags, strict=True):
            if flag is not None:
                bind.execute(
                    visits.update()
                    .where(visits.c.record_id == row.record_id)
                    .values(flag=str(flag))
                )


def downgrade() -> None:
    op.drop_index("ix_appeals_state_deadline_at", table_name="appeals")
    op.drop_index(op.f("ix_appeals_pseudonym"), table_name="appeals")
    op.drop_table("appeals")
    with op.batch_alter_table("visits") as batch:
        batch.drop_column("flag")
