"""Registrations: several provinces may hold one person. The primary key becomes (pseudonym,
province); a registration says why (``reason``: residence, stay or work; the rows stored before
are residences) and can end (``ended_at``).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 12:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_REASONS = "reason IN ('residence', 'stay', 'work')"


def upgrade() -> None:
    with op.batch_alter_table("registrations") as batch:
        batch.add_column(
            sa.Column("reason", sa.String(length=12), nullable=False, server_default="residence")
        )
        batch.add_column(sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("registrations", recreate="always") as batch:
        batch.alter_column("reason", server_default=None, existing_type=sa.String(length=12))
        batch.drop_constraint("pk_registrations", type_="primary")
        batch.create_primary_key("pk_registrations", ["pseudonym", "province"])
        batch.create_check_constraint(op.f("ck_registrations_reason"), _REASONS)


def downgrade() -> None:
    # One row per person again: ended registrations go; of several holders, the latest stays.
    op.execute("DELETE FROM registrations WHERE ended_at IS NOT NULL")
    op.execute(
        "DELETE FROM registrations WHERE EXISTS (SELECT 1 FROM registrations later"
        " WHERE later.pseudonym = registrations.pseudonym"
        " AND (later.registered_at, later.province)"
        " > (registrations.registered_at, registrations.province))"
    )
    with op.batch_alter_table("registrations", recreate="always") as batch:
        batch.drop_constraint(op.f("ck_registrations_reason"), type_="check")
        batch.drop_constraint("pk_registrations", type_="primary")
        batch.create_primary_key("pk_registrations", ["pseudonym"])
        batch.drop_column("ended_at")
        batch.drop_column("reason")
