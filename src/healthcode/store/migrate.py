"""Run Alembic migrations whose environment ships inside the package: the hub's
(``store/migrations``, version table ``alembic_version``) and, through :class:`Migrations`, any
other service's set kept apart by its own version table (the province's, ``province/schema.py``).

>>> from healthcode.store.db import Database
>>> db = Database.from_url("sqlite://")
>>> upgrade(db)
>>> current_revision(db) == head_revision()
True
"""

from __future__ import annotations

from dataclasses import dataclass

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection

from healthcode.store.db import Database

__all__ = [
    "Migrations",
    "alembic_config",
    "current_revision",
    "downgrade",
    "head_revision",
    "upgrade",
]


@dataclass(frozen=True)
class Migrations:
    """One set of migrations: where its scripts are, and the table that records its revision."""

    script_location: str
    version_table: str = "alembic_version"

    def alembic_config(self) -> Config:
        cfg = Config()
        cfg.set_main_option("script_location", self.script_location)
        return cfg

    def head_revision(self) -> str | None:
        return ScriptDirectory.from_config(self.alembic_config()).get_current_head()

    def _run(self, db: Database, action: str, revision: str) -> None:
        cfg = self.alembic_config()
        if db.connection is not None:
            cfg.attributes["connection"] = db.connection
            getattr(command, action)(cfg, revision)
            return
        assert db.engine is not None
        with db.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            getattr(command, action)(cfg, revision)

    def upgrade(self, db: Database, revision: str = "head") -> None:
        """Migrate ``db`` up to ``revision`` (default: the newest)."""
        self._run(db, "upgrade", revision)

    def downgrade(self, db: Database, revision: str) -> None:
        self._run(db, "downgrade", revision)

    def current_revision(self, db: Database) -> str | None:
        def read(conn: Connection) -> str | None:
            opts = {"version_table": self.version_table}
            return MigrationContext.configure(conn, opts=opts).get_current_revision()

        if db.connection is not None:
            return read(db.connection)
        assert db.engine is not None
        with db.engine.connect() as conn:
            return read(conn)


#: The hub's migrations.
HUB = Migrations("healthcode.store:migrations")

alembic_config = HUB.alembic_config
head_revision = HUB.head_revision
upgrade = HUB.upgrade
downgrade = HUB.downgrade
current_revision = HUB.current_revision
