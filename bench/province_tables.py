"""Stand-in province tables for the batch re-evaluation tests and benchmark.

The provincial service owns the real ``person_summaries``, ``visits`` and ``colours`` tables;
these have the same names and columns (the shared plan of issue 10), on a metadata of their
own, so that ``healthcode.batch.reevaluate`` can be tested and measured before and apart from
the service.
"""

from __future__ import annotations

from sqlalchemy import JSON, Column, Index, Integer, MetaData, String, Table
from sqlalchemy.dialects.postgresql import JSONB

from healthcode.batch.reevaluate import ProvinceTables
from healthcode.core.rules import SUMMARY_FIELDS
from healthcode.store.base import NAMING_CONVENTION, BigId, UTCDateTime

__all__ = ["make_tables"]

_TYPES = {"time": UTCDateTime, "str": lambda: String(200), "int": Integer}


def make_tables(metadata: MetaData | None = None) -> ProvinceTables:
    """The three tables on ``metadata`` (a new one by default)."""
    md = metadata if metadata is not None else MetaData(naming_convention=NAMING_CONVENTION)
    json = JSON().with_variant(JSONB(), "postgresql")
    summaries = Table(
        "person_summaries",
        md,
        Column("pseudonym", String(64), primary_key=True),
        *(
            Column(name, _TYPES[kind](), nullable=kind != "int")
            for name, (kind, _) in SUMMARY_FIELDS.items()
        ),
        Column("updated_at", UTCDateTime(), nullable=True),
    )
    visits = Table(
        "visits",
        md,
        Column("id", BigId, primary_key=True, autoincrement=True),
        Column("pseudonym", String(64), nullable=False, index=True),
        Column("region_code", String(6), nullable=False),
        Column("at", UTCDateTime(), nullable=False),
        Column("source", String(24), nullable=False),
        Index("ix_visits_region_code_at", "region_code", "at"),
    )
    colours = Table(
        "colours",
        md,
        Column("pseudonym", String(64), primary_key=True),
        Column("colour", String(8), nullable=False),
        Column("reasons", json, nullable=False),
        Column("badges", json, nullable=False),
        Column("until", UTCDateTime(), nullable=True, index=True),
        Column("ruleset_digest", String(80), nullable=False),  # "sha256:" + 64 hex
        Column("evaluated_at", UTCDateTime(), nullable=False),
    )
    return ProvinceTables(summaries, visits, colours)
