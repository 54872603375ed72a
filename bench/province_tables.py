"""The province's tables as the batch re-evaluation sees them, for its tests and benchmark.

``healthcode.province.models`` owns ``person_summaries``, ``visits`` and ``colours``;
:func:`make_tables` hands them to ``healthcode.batch.reevaluate`` as
:class:`~healthcode.batch.reevaluate.ProvinceTables`. ``create_all`` on their metadata makes
the province's whole schema.
"""

from __future__ import annotations

from sqlalchemy import Table

from healthcode.batch.reevaluate import ProvinceTables
from healthcode.province.models import Colour, Visit, person_summaries

__all__ = ["make_tables"]


def make_tables() -> ProvinceTables:
    """The province's three tables (one metadata, ``ProvinceBase.metadata``)."""
    visits, colours = Visit.__table__, Colour.__table__
    assert isinstance(visits, Table) and isinstance(colours, Table)
    return ProvinceTables(person_summaries, visits, colours)
