"""Run the store's Alembic migrations (the environment ships inside the package).

>>> from healthcode.store.db import Database
>>> db = Database.from_url("sqlite://")
>>> upgrade(db)
>>> current_revision(db) == head_revision()
True
"""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from healthcode.store.db import Database

__all__ = ["alembic_config", "current_revision", "downgrade", "head_revision", "upgrade"]


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", "healthcode.store:migrations")
    return cfg


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def _run(db: Database, action: str, revision: str) -> None:
    cfg = alembic_config()
    if db.connection is not None:
        cfg.attributes["connection"] = db.connection
        getattr(command, action)(cfg, revision)
        return
    assert db.engine is not None
    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        getattr(command, action)(cfg, revision)


def upgrade(db: Database, revision: str = "head") -> None:
    """Migrate ``db`` up to ``revision`` (default: the newest)."""
    _run(db, "upgrade", revision)


def downgrade(db: Database, revision: str) -> None:
    _run(db, "downgrade", revision)


def current_revision(db: Database) -> str | None:
    if db.connection is not None:
        return MigrationContext.configure(db.connection).get_current_revision()
    assert db.engine is not None
    with db.engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()
