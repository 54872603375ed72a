"""The operators' dashboard: colour counts per region (``colour_moves`` written by the colour
listener, folded into ``colour_hours`` and ``colour_tallies``) and the rule-set versions used
(``ruleset_versions``). The tallies start from the colours held now, by residence region
(``""`` for a colour whose person applied elsewhere); the hours start empty.

Revision ID: p0013
Revises: p0006
Create Date: 2026-12-01 19:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from healthcode.store.base import BigId, Json, UTCDateTime

revision = "p0013"
down_revision = "p0012"
branch_labels = None
depends_on = None


def _figures() -> list[sa.Column[object]]:
    return [
        sa.Column("entered", sa.Integer(), nullable=False),
        sa.Column("left", sa.Integer(), nullable=False),
        sa.Column("changed", sa.Integer(), nullable=False),
        sa.Column("timed", sa.Integer(), nullable=False),
        sa.Column("seconds_sum", sa.Float(), nullable=False),
        sa.Column("seconds_max", sa.Float(), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "colour_moves",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("hour", UTCDateTime(), nullable=False),
        sa.Column("region_code", sa.String(6), nullable=False),
        sa.Column("colour", sa.String(8), nullable=False),
        *_figures(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_colour_moves")),
    )
    op.create_table(
        "colour_hours",
        sa.Column("hour", UTCDateTime(), nullable=False),
        sa.Column("region_code", sa.String(6), nullable=False),
        sa.Column("colour", sa.String(8), nullable=False),
        *_figures(),
        sa.PrimaryKeyConstraint("hour", "region_code", "colour", name=op.f("pk_colour_hours")),
    )
    op.create_table(
        "colour_tallies",
        sa.Column("region_code", sa.String(6), nullable=False),
        sa.Column("colour", sa.String(8), nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("region_code", "colour", name=op.f("pk_colour_tallies")),
    )
    op.execute(
        "INSERT INTO colour_tallies (region_code, colour, n) "
        "SELECT COALESCE(p.residence_region, ''), c.colour, COUNT(*) "
        "FROM colours c LEFT JOIN people p ON p.pseudonym = c.pseudonym "
        "GROUP BY COALESCE(p.residence_region, ''), c.colour"
    )
    op.create_table(
        "ruleset_versions",
        sa.Column("digest", sa.String(80), nullable=False),
        sa.Column("label", sa.String(200), nullable=False),
        sa.Column("national", Json, nullable=False),
        sa.Column("overlay", Json, nullable=True),
        sa.Column("first_used_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("digest", name=op.f("pk_ruleset_versions")),
    )
    op.create_index(
        op.f("ix_ruleset_versions_first_used_at"), "ruleset_versions", ["first_used_at"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_ruleset_versions_first_used_at"), "ruleset_versions")
    for table in ("ruleset_versions", "colour_tallies", "colour_hours", "colour_moves"):
        op.drop_table(table)
