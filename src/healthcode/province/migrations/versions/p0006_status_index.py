"""Token Status List indexes: each colour state reported takes the next index of the province's
counter (``status_index_counter``, one row; on PostgreSQL the sequence ``status_index_seq``,
which never holds a lock until commit), kept on the person's colour (``colours``) for the
codes of that state and sent with its report (``status_outbox``).

Revision ID: p0006
Revises: p0005
Create Date: 2026-12-01 17:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "p0006"
down_revision = "p0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    counter = op.create_table(
        "status_index_counter",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("next_index", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_status_index_counter")),
    )
    op.bulk_insert(counter, [{"id": 1, "next_index": 0}])
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE SEQUENCE status_index_seq AS bigint MINVALUE 0 START 0")
    with op.batch_alter_table("colours") as batch:
        batch.add_column(sa.Column("status_index", sa.BigInteger(), nullable=True))
    with op.batch_alter_table("status_outbox") as batch:
        batch.add_column(sa.Column("status_index", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("status_outbox") as batch:
        batch.drop_column("status_index")
    with op.batch_alter_table("colours") as batch:
        batch.drop_column("status_index")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP SEQUENCE status_index_seq")
    op.drop_table("status_index_counter")
