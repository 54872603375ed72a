"""Risk areas: ``cancelled_at`` (a designation cancelled before it came into force).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 20:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("risk_areas") as batch:
        batch.add_column(sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("risk_areas") as batch:
        batch.drop_column("cancelled_at")
