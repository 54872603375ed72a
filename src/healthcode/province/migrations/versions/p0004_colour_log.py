"""The colour log: every colour change a leaf of the province's Merkle log (heads, leaves,
tiles, signed checkpoints; ``store/audit_log.py``, docs/audit.md).

Revision ID: p0004
Revises: p0009
Create Date: 2026-12-01 17:00:00
"""

from __future__ import annotations

from alembic import op

from healthcode.store.audit_log import create_log_tables

revision = "p0004"
down_revision = "p0009"
branch_labels = None
depends_on = None

_PREFIX = "colour_log"


def upgrade() -> None:
    create_log_tables(op, _PREFIX)


def downgrade() -> None:
    for table in ("leaves", "tiles", "checkpoints", "heads"):
        op.drop_table(f"{_PREFIX}_{table}")
