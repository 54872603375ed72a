"""The province's own Alembic migrations (apart from the hub's: its own version table), run by
the store's one runner (``store/migrate.py``).

>>> from healthcode.store.db import Database
>>> db = Database.from_url("sqlite://")
>>> upgrade(db)
>>> current_revision(db) == head_revision()
True
"""

from __future__ import annotations

from healthcode.store.migrate import Migrations

__all__ = ["VERSION_TABLE", "alembic_config", "current_revision", "head_revision", "upgrade"]

#: The province's revision is kept apart from the hub's ``alembic_version``.
VERSION_TABLE = "province_alembic_version"

PROVINCE = Migrations("healthcode.province:migrations", VERSION_TABLE)

alembic_config = PROVINCE.alembic_config
head_revision = PROVINCE.head_revision
upgrade = PROVINCE.upgrade
downgrade = PROVINCE.downgrade
current_revision = PROVINCE.current_revision
