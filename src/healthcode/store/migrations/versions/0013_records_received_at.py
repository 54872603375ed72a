"""An index on ``records.received_at``: the national dashboard counts the records received
per department and hour over a range of it (``hub/ops.py``).

Revision ID: 0013
Revises: 0009
Create Date: 2026-12-01 19:30:00
"""

from __future__ import annotations

from alembic import op

revision = "0013"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_records_received_at", "records", ["received_at"])


def downgrade() -> None:
    op.drop_index("ix_records_received_at", "records")
