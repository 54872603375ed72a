"""The grid: units below the county, address assignments, risk persons' tasks and their
events, the hand-over outbox.

Revision ID: p0008
Revises: p0004
Create Date: 2026-12-01 17:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from healthcode.store.base import Json, UTCDateTime

revision = "p0008"
down_revision = "p0004"
branch_labels = None
depends_on = None

_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "grid_units",
        sa.Column("grid_id", sa.String(32), nullable=False),
        sa.Column("region_code", sa.String(6), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("grid_id", name=op.f("pk_grid_units")),
    )
    op.create_index(op.f("ix_grid_units_region_code"), "grid_units", ["region_code"])
    op.create_table(
        "grid_assignments",
        sa.Column("pseudonym", sa.String(64), nullable=False),
        sa.Column("grid_id", sa.String(32), nullable=False),
        sa.Column("assigned_by", sa.String(24), nullable=False),
        sa.Column("assigned_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("pseudonym", name=op.f("pk_grid_assignments")),
    )
    _tasks()
    op.create_table(
        "grid_task_events",
        sa.Column("id", _BIG_ID, autoincrement=True, nullable=False),
        sa.Column("task_id", sa.String(24), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("staff_id", sa.String(24), nullable=True),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("from_state", sa.String(16), nullable=True),
        sa.Column("to_state", sa.String(16), nullable=True),
        sa.Column("note", sa.String(500), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grid_task_events")),
    )
    op.create_index(op.f("ix_grid_task_events_task_id"), "grid_task_events", ["task_id"])
    op.create_table(
        "grid_handover_outbox",
        sa.Column("id", _BIG_ID, autoincrement=True, nullable=False),
        sa.Column("task_id", sa.String(24), nullable=False),
        sa.Column("payload", Json, nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grid_handover_outbox")),
    )


def _tasks() -> None:
    stamp = UTCDateTime()
    op.create_table(
        "grid_tasks",
        sa.Column("id", sa.String(24), nullable=False),
        sa.Column("pseudonym", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("rule", sa.String(64), nullable=False),
        sa.Column("colour", sa.String(8), nullable=False),
        sa.Column("asks", Json, nullable=False),
        sa.Column("residence_region", sa.String(6), nullable=False),
        sa.Column("county", sa.String(6), nullable=False),
        sa.Column("grid_id", sa.String(32), nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("source_province", sa.String(6), nullable=True),
        sa.Column("source_task", sa.String(24), nullable=True),
        sa.Column("handed_to", sa.String(6), nullable=True),
        sa.Column("fact_at", stamp, nullable=True),
        sa.Column("changed_at", stamp, nullable=False),
        sa.Column("created_at", stamp, nullable=False),
        sa.Column("contacted_at", stamp, nullable=True),
        sa.Column("isolated_at", stamp, nullable=True),
        sa.Column("closed_at", stamp, nullable=True),
        sa.Column("contact_due", stamp, nullable=False),
        sa.Column("isolation_due", stamp, nullable=True),
        sa.Column("escalated_at", stamp, nullable=True),
        sa.Column("state_at", stamp, nullable=False),
        sa.Column("state_by", sa.String(24), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grid_tasks")),
        sa.UniqueConstraint(
            "source_province", "source_task", name=op.f("uq_grid_tasks_source_province_source_task")
        ),
    )
    op.create_index("ix_grid_tasks_grid_id_state", "grid_tasks", ["grid_id", "state"])
    op.create_index("ix_grid_tasks_county_state", "grid_tasks", ["county", "state"])
    op.create_index("ix_grid_tasks_pseudonym_kind", "grid_tasks", ["pseudonym", "kind"])


def downgrade() -> None:
    for table in ("grid_handover_outbox", "grid_task_events", "grid_tasks"):
        op.drop_table(table)
    op.drop_table("grid_assignments")
    op.drop_table("grid_units")
