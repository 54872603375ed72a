"""Grid workers' actions carry a client-generated id (``grid_task_events.action_id``), unique
per task: an action sent again (a phone that lost the answer, a queue replayed after being
offline) is recognised as the same action and not applied twice.

Revision ID: p0012
Revises: p0006
Create Date: 2026-12-01 19:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "p0012"
down_revision = "p0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("grid_task_events") as batch:
        batch.add_column(sa.Column("action_id", sa.String(64), nullable=True))
        batch.create_unique_constraint(
            op.f("uq_grid_task_events_task_id_action_id"), ["task_id", "action_id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("grid_task_events") as batch:
        batch.drop_constraint(op.f("uq_grid_task_events_task_id_action_id"), type_="unique")
        batch.drop_column("action_id")
