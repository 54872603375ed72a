"""Decisions remember the regions they were made in: the region the proposer served when they
proposed (``proposer_region``), the region the approver served when they approved
(``approver_region``), and the smallest region holding the people's residences at the proposal
(``people_region``). The public log publishes these, so a member moved to another region, or a
person who moves house, does not change the published history.

Decisions already held are filled from what is known now: each member's current region, each
person's current residence (what the log published until this revision).

Revision ID: p0015
Revises: p0011
Create Date: 2026-12-01 22:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from healthcode.core.safeguards import common_region

revision = "p0015"
down_revision = "p0011"
branch_labels = None
depends_on = None

_COLUMNS = ("proposer_region", "approver_region", "people_region")


def upgrade() -> None:
    with op.batch_alter_table("decisions") as batch:
        for name in _COLUMNS:
            batch.add_column(sa.Column(name, sa.String(6), nullable=True))
    _fill_held_decisions()


def _fill_held_decisions() -> None:
    decisions = sa.table(
        "decisions",
        sa.column("id", sa.String),
        sa.column("proposed_by", sa.String),
        sa.column("approved_by", sa.String),
        *(sa.column(name, sa.String) for name in _COLUMNS),
    )
    staff = sa.table("staff", sa.column("id", sa.String), sa.column("region_code", sa.String))
    subjects = sa.table(
        "decision_subjects", sa.column("decision_id", sa.String), sa.column("pseudonym", sa.String)
    )
    people = sa.table(
        "people", sa.column("pseudonym", sa.String), sa.column("residence_region", sa.String)
    )

    def served(by: sa.ColumnElement[str]) -> sa.ScalarSelect[str]:
        return sa.select(staff.c.region_code).where(staff.c.id == by).scalar_subquery()

    bind = op.get_bind()
    bind.execute(
        sa.update(decisions).values(
            proposer_region=served(decisions.c.proposed_by),
            approver_region=served(decisions.c.approved_by),
        )
    )
    residences: dict[str, list[str | None]] = {}
    for decision_id, residence in bind.execute(
        sa.select(subjects.c.decision_id, people.c.residence_region).outerjoin(
            people, people.c.pseudonym == subjects.c.pseudonym
        )
    ):
        residences.setdefault(decision_id, []).append(residence)
    for decision_id, held in residences.items():
        bind.execute(
            sa.update(decisions)
            .where(decisions.c.id == decision_id)
            .values(people_region=common_region(held))
        )


def downgrade() -> None:
    with op.batch_alter_table("decisions") as batch:
        for name in reversed(_COLUMNS):
            batch.drop_column(name)
