"""Citizens' sign-in: one-time code challenges, the throttle per ID and address, sessions.

Revision ID: p0010
Revises: p0007
Create Date: 2026-12-01 17:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from healthcode.store.base import UTCDateTime

revision = "p0010"
down_revision = "p0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sign_in_challenges",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("id_digest", sa.String(64), nullable=False),
        sa.Column("pseudonym", sa.String(64), nullable=True),
        sa.Column("code_digest", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("used_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sign_in_challenges")),
    )
    op.create_index(op.f("ix_sign_in_challenges_expires_at"), "sign_in_challenges", ["expires_at"])
    op.create_table(
        "sign_in_throttle",
        sa.Column("key", sa.String(96), nullable=False),
        sa.Column("window_start", UTCDateTime(), nullable=False),
        sa.Column("codes", sa.Integer(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("locked_until", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_sign_in_throttle")),
    )
    op.create_table(
        "citizen_sessions",
        sa.Column("token_digest", sa.String(64), nullable=False),
        sa.Column("pseudonym", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("token_digest", name=op.f("pk_citizen_sessions")),
    )
    op.create_index(op.f("ix_citizen_sessions_pseudonym"), "citizen_sessions", ["pseudonym"])


def downgrade() -> None:
    op.drop_index(op.f("ix_citizen_sessions_pseudonym"), table_name="citizen_sessions")
    op.drop_table("citizen_sessions")
    op.drop_table("sign_in_throttle")
    op.drop_index(op.f("ix_sign_in_challenges_expires_at"), table_name="sign_in_challenges")
    op.drop_table("sign_in_challenges")
