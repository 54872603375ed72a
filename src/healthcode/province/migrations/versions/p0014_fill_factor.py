"""Room on each page for updated rows: ``person_summaries`` and ``colours`` keep a fill factor
below 100 on PostgreSQL, so that a re-evaluation's new row version can stay on its page (a HOT
update: no new entry in the primary key's index, and in ``colours``' ``until`` index when the
until did not change). Only pages written from now on get the room; SQLite has no such setting.

Revision ID: p0014
Revises: p0006
Create Date: 2026-12-01 20:00:00
"""

from __future__ import annotations

from alembic import op

revision = "p0014"
down_revision = "p0006"
branch_labels = None
depends_on = None

_TABLES = ("person_summaries", "colours")
FILL_FACTOR = 70  # as ``healthcode.province.models.FILL_FACTOR`` when this was written


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in _TABLES:
            op.execute(f"ALTER TABLE {table} SET (fillfactor = {FILL_FACTOR})")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in _TABLES:
            op.execute(f"ALTER TABLE {table} RESET (fillfactor)")
