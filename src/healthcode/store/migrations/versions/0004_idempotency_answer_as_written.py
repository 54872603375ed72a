"""Idempotency keys: the stored answer as ``json`` on PostgreSQL (``jsonb`` reordered its keys,
so a replayed answer was the same object but not the same bytes).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 21:55:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column(
            "idempotency_keys",
            "response",
            type_=sa.JSON(),
            existing_type=postgresql.JSONB(),
            postgresql_using="response::json",
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column(
            "idempotency_keys",
            "response",
            type_=postgresql.JSONB(),
            existing_type=sa.JSON(),
            postgresql_using="response::jsonb",
        )
