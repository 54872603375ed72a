"""Alembic environment of the province's database: migrates the connection it is handed."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from healthcode.province.models import ProvinceBase
from healthcode.province.schema import VERSION_TABLE

config = context.config
target_metadata = ProvinceBase.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        version_table=VERSION_TABLE,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is None:  # pragma: no cover - the province always hands its connection
    raise RuntimeError("the province's migrations run on a connection (province/schema.py)")
_run(connection)
