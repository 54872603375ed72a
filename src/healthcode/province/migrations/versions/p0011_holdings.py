"""Family members holding codes: consent challenges and holdings.

Revision ID: p0011
Revises: p0006
Create Date: 2026-12-01 19:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from healthcode.store.base import UTCDateTime

revision = "p0011"
down_revision = "p0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "hold_challenges",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("holder", sa.String(64), nullable=False),
        sa.Column("held", sa.String(64), nullable=True),
        sa.Column("code_digest", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("used_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hold_challenges")),
    )
    op.create_index(op.f("ix_hold_challenges_expires_at"), "hold_challenges", ["expires_at"])
    op.create_table(
        "holdings",
        sa.Column("id", sa.String(24), nullable=False),
        sa.Column("holder", sa.String(64), nullable=False),
        sa.Column("held", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
        sa.Column("revoked_by", sa.String(8), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_holdings")),
    )
    op.create_index(op.f("ix_holdings_holder"), "holdings", ["holder"])
    op.create_index(op.f("ix_holdings_held"), "holdings", ["held"])


def downgrade() -> None:
    op.drop_index(op.f("ix_holdings_held"), table_name="holdings")
    op.drop_index(op.f("ix_holdings_holder"), table_name="holdings")
    op.drop_table("holdings")
    op.drop_index(op.f("ix_hold_challenges_expires_at"), table_name="hold_challenges")
    op.drop_table("hold_challenges")
