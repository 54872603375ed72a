"""Re-evaluation jobs: a new rule set or overlay re-evaluates everyone, chunk by chunk, the
job's progress committed with each chunk's writes.

Revision ID: p0002
Revises: p0001
Create Date: 2026-12-01 15:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from healthcode.store.base import UTCDateTime

revision = "p0002"
down_revision = "p0001"
branch_labels = None
depends_on = None

_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "reevaluation_jobs",
        sa.Column("id", _BIG_ID, autoincrement=True, nullable=False),
        sa.Column("ruleset_digest", sa.String(80), nullable=False),
        sa.Column("label", sa.String(64), nullable=False),
        sa.Column("state", sa.String(12), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("last_key", sa.String(64), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reevaluation_jobs")),
    )


def downgrade() -> None:
    op.drop_table("reevaluation_jobs")
