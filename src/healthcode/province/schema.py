"""Run the province's own Alembic migrations (apart from the hub's: its own version table).

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

__all__ = ["VERSION_TABLE", "alembic_config", "current_revision", "head_revision", "upgrade"]

#: The province's revision is kept apart from the hub's ``alembic_version``.
VERSION_TABLE = "province_alembic_version"


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", "healthcode.province:migrations")
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
    """Migrate the province's ``db`` up to ``revision`` (default: the newest)."""
    _run(db, "upgrade", revision)


def downgrade(db: Database, revision: str) -> None:
    _run(db, "downgrade", revision)


def current_revision(db: Database) -> str | None:
    def read(conn: object) -> str | None:
        ctx = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE})  # type: ignore[arg-type]
        return ctx.get_current_revision()

    if db.connection is not None:
        return read(db.connection)
    assert db.engine is not None
    with db.engine.connect() as conn:
        return read(conn)
