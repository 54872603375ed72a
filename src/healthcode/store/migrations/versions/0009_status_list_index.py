"""Token Status List: each reported colour state may carry its index in its province's status
list (``status_index``, unique per province) and its status there (``list_status``: 0 valid,
1 invalid, 3 superseded).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 16:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("code_status") as batch:
        batch.add_column(sa.Column("status_index", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("list_status", sa.Integer(), nullable=False, server_default="0"))
        batch.create_check_constraint(
            op.f("ck_code_status_list_status"), "list_status BETWEEN 0 AND 3"
        )
        batch.create_unique_constraint(
            op.f("uq_code_status_province_status_index"), ["province", "status_index"]
        )


def downgrade() -> None:
    with op.batch_alter_table("code_status") as batch:
        batch.drop_constraint(op.f("uq_code_status_province_status_index"), type_="unique")
        batch.drop_constraint(op.f("ck_code_status_list_status"), type_="check")
        batch.drop_column("list_status")
        batch.drop_column("status_index")
