"""The database the batch tests fill: a ``Database`` holding the province's three tables."""

from __future__ import annotations

from healthcode.batch.reevaluate import ProvinceTables
from healthcode.store.db import Database


class Province:
    """A database holding the three tables, and a way to empty them."""

    def __init__(self, db: Database, tables: ProvinceTables) -> None:
        self.db = db
        self.tables = tables

    def clear(self) -> None:
        with self.db.write() as session:
            for t in (self.tables.colours, self.tables.visits, self.tables.summaries):
                session.execute(t.delete())
