"""The risk-area fields of a person's facts document are derived, no longer stored.

``person_summaries`` loses ``high_area_last_visit``, ``medium_area_last_visit`` and
``coarse_risk_area_last_visit`` (``core.rules.AREA_FIELDS``): every reader derives them from
the person's counted visits and the risk areas held (``province/documents.py``,
``batch/reevaluate.py``), so the values held are dropped with nothing to convert. Going down
adds the columns back and fills them the same way from ``visits`` and ``risk_areas``, as the
earlier code expects them.

Revision ID: p0014
Revises: p0015
Create Date: 2026-12-01 23:00:00
"""

from __future__ import annotations

from datetime import datetime
from itertools import groupby
from typing import Any

import sqlalchemy as sa
from alembic import op

from healthcode.core.facts import ItineraryVisit, RiskAreaDesignation
from healthcode.core.rules import AREA_FIELDS, area_facts
from healthcode.store.base import UTCDateTime

revision = "p0014"
down_revision = "p0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("person_summaries") as batch:
        for name in AREA_FIELDS:
            batch.drop_column(name)


def downgrade() -> None:
    with op.batch_alter_table("person_summaries") as batch:
        for name in AREA_FIELDS:
            batch.add_column(sa.Column(name, UTCDateTime(), nullable=True))
    _fill_area_fields()


def _designations(bind: Any) -> list[RiskAreaDesignation]:
    areas = sa.table(
        "risk_areas",
        sa.column("region_code", sa.String),
        sa.column("level", sa.String),
        sa.column("effective_from", UTCDateTime()),
        sa.column("until", UTCDateTime()),
        sa.column("lifted_at", UTCDateTime()),
        sa.column("cancelled", sa.Boolean),
    )
    out = []
    for code, level, start, until, lifted in bind.execute(
        sa.select(
            areas.c.region_code,
            areas.c.level,
            areas.c.effective_from,
            areas.c.until,
            areas.c.lifted_at,
        ).where(areas.c.cancelled.is_(False))
    ):
        ends = [t for t in (until, lifted) if t is not None]
        end = min(ends) if ends else None
        if end is None or end > start:
            out.append(RiskAreaDesignation(code, level, start, end))
    return out


def _fill_area_fields() -> None:
    """Each person's risk-area fields from their counted visits and the risk areas held."""
    bind = op.get_bind()
    areas = _designations(bind)
    if not areas:
        return
    visits = sa.table(
        "visits",
        sa.column("pseudonym", sa.String),
        sa.column("region_code", sa.String),
        sa.column("at", UTCDateTime()),
        sa.column("source", sa.String),
        sa.column("flag", sa.String),
    )
    summaries = sa.table(
        "person_summaries",
        sa.column("pseudonym", sa.String),
        *(sa.column(name, UTCDateTime()) for name in AREA_FIELDS),
    )
    rows = bind.execute(
        sa.select(visits.c.pseudonym, visits.c.region_code, visits.c.at, visits.c.source)
        .where(visits.c.flag.is_(None))
        .order_by(visits.c.pseudonym)
    ).all()
    for pseudonym, group in groupby(rows, key=lambda r: r.pseudonym):
        mine = [ItineraryVisit(r.region_code, r.at, r.source) for r in group]
        facts = area_facts(mine, areas)
        if any(facts.values()):
            values = {k: None if v is None else _instant(v) for k, v in facts.items()}
            bind.execute(
                summaries.update().where(summaries.c.pseudonym == pseudonym).values(**values)
            )


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
