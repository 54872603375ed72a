"""Manual colour decisions: the decisions, the people each names (when it acts on them), and
the alerts for the hub.

Revision ID: p0005
Revises: p0010
Create Date: 2026-12-01 17:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from healthcode.store.base import Json, UTCDateTime

revision = "p0005"
down_revision = "p0010"
branch_labels = None
depends_on = None

_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "decisions",
        sa.Column("id", sa.String(24), nullable=False),
        sa.Column("colour", sa.String(8), nullable=False),
        sa.Column("legal_basis", sa.String(32), nullable=False),
        sa.Column("evidence", Json, nullable=False),
        sa.Column("note", sa.String(500), nullable=True),
        sa.Column("subjects", sa.Integer(), nullable=False),
        sa.Column("bulk", sa.Boolean(), nullable=False),
        sa.Column("renews", sa.String(24), nullable=True),
        sa.Column("state", sa.String(12), nullable=False),
        sa.Column("proposed_by", sa.String(24), nullable=False),
        sa.Column("proposer_roles", Json, nullable=False),
        sa.Column("proposed_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("approved_by", sa.String(24), nullable=True),
        sa.Column("approver_roles", Json, nullable=True),
        sa.Column("approved_at", UTCDateTime(), nullable=True),
        sa.Column("closed_by", sa.String(24), nullable=True),
        sa.Column("closed_at", UTCDateTime(), nullable=True),
        sa.Column("close_reason", sa.String(500), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_decisions")),
    )
    op.create_index(op.f("ix_decisions_state"), "decisions", ["state"])
    op.create_index(op.f("ix_decisions_proposed_at"), "decisions", ["proposed_at"])
    op.create_table(
        "decision_subjects",
        sa.Column("decision_id", sa.String(24), nullable=False),
        sa.Column("pseudonym", sa.String(64), nullable=False),
        sa.Column("colour", sa.String(8), nullable=False),
        sa.Column("starts_at", UTCDateTime(), nullable=True),
        sa.Column("ends_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("decision_id", "pseudonym", name=op.f("pk_decision_subjects")),
    )
    op.create_index(
        "ix_decision_subjects_pseudonym_ends_at", "decision_subjects", ["pseudonym", "ends_at"]
    )
    op.create_table(
        "decision_alerts",
        sa.Column("id", _BIG_ID, autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("body", Json, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_decision_alerts")),
    )


def downgrade() -> None:
    op.drop_table("decision_alerts")
    op.drop_index("ix_decision_subjects_pseudonym_ends_at", table_name="decision_subjects")
    op.drop_table("decision_subjects")
    op.drop_index(op.f("ix_decisions_proposed_at"), table_name="decisions")
    op.drop_index(op.f("ix_decisions_state"), table_name="decisions")
    op.drop_table("decisions")
