"""Alerts the provinces raise (a bulk colour decision proposed, approved or refused), for the
national staff.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 17:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from healthcode.store.base import Json, UTCDateTime

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "alerts",
        sa.Column("id", _BIG_ID, autoincrement=True, nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("province", sa.String(6), nullable=False),
        sa.Column("ref", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("body", Json, nullable=False),
        sa.Column("raised_at", UTCDateTime(), nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alerts")),
        sa.UniqueConstraint("org_id", "ref", name=op.f("uq_alerts_org_id_ref")),
    )
    op.create_index(op.f("ix_alerts_received_at"), "alerts", ["received_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_alerts_received_at"), table_name="alerts")
    op.drop_table("alerts")
