"""Codes name their colour state: ``colours.since`` (when the state began; existing rows take
their ``evaluated_at``), ``issued_codes`` dropped (issuing writes nothing). Re-evaluation jobs
get a ``kind`` (``ruleset``, ``area``) and a ``scope`` (an area job's windows). Feed entries
that can never take effect go to ``feed_dead_letters``.

Revision ID: p0007
Revises: p0008
Create Date: 2026-12-01 17:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from healthcode.store.base import Json, UTCDateTime

revision = "p0007"
down_revision = "p0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("colours") as batch:
        batch.add_column(sa.Column("since", UTCDateTime(), nullable=True))
    op.execute("UPDATE colours SET since = evaluated_at")
    with op.batch_alter_table("colours") as batch:
        batch.alter_column("since", existing_type=UTCDateTime(), nullable=False)
    op.drop_index(op.f("ix_issued_codes_pseudonym"), table_name="issued_codes")
    op.drop_table("issued_codes")
    with op.batch_alter_table("reevaluation_jobs") as batch:
        batch.add_column(sa.Column("kind", sa.String(12), nullable=False, server_default="ruleset"))
        batch.add_column(sa.Column("scope", Json, nullable=True))
    with op.batch_alter_table("reevaluation_jobs") as batch:
        batch.alter_column("kind", existing_type=sa.String(12), server_default=None)
    op.create_table(
        "feed_dead_letters",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("message", sa.String(300), nullable=False),
        sa.Column("entry", Json, nullable=False),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_feed_dead_letters")),
    )


def downgrade() -> None:
    op.drop_table("feed_dead_letters")
    with op.batch_alter_table("reevaluation_jobs") as batch:
        batch.drop_column("scope")
        batch.drop_column("kind")
    op.create_table(
        "issued_codes",
        sa.Column("serial", sa.String(64), nullable=False),
        sa.Column("pseudonym", sa.String(64), nullable=False),
        sa.Column("medium", sa.String(8), nullable=False),
        sa.Column("colour", sa.String(8), nullable=False),
        sa.Column("ruleset_digest", sa.String(80), nullable=False),
        sa.Column("issued_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("serial", name=op.f("pk_issued_codes")),
    )
    op.create_index(op.f("ix_issued_codes_pseudonym"), "issued_codes", ["pseudonym"])
    with op.batch_alter_table("colours") as batch:
        batch.drop_column("since")
