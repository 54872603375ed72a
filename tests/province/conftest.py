"""Province fixtures: a hub in-process on the test database, a province on its own database
(SQLite, and PostgreSQL when configured) reaching the hub through an in-process transport,
a fixed clock shared by both."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "hub"))

from hub_testdata import ENV, NOW, ASGISyncTransport
from province_testdata import pg_schema, province_settings

from healthcode.config import Settings
from healthcode.core.clock import FixedClock
from healthcode.hub.app import create_app as create_hub_app
from healthcode.hub.services import Hub
from healthcode.province.schema import upgrade
from healthcode.province.service import ProvinceService
from healthcode.store.db import Database


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def hub(db: Database, clock: FixedClock) -> Hub:
    return Hub.build(settings=Settings.from_env(ENV), db=db, clock=clock)


@pytest.fixture
def org(hub: Hub) -> Callable[..., str]:
    """``org("lab", "440106")`` -> the token of a new organisation."""

    def make(kind: str, region: str = "440000") -> str:
        _, token = hub.orgs.add(kind=kind, region_code=region, name=f"{kind} {region}")
        return token

    return make


@pytest.fixture(scope="session")
def province_migrated(
    migrated_db: Database, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Database]:
    """The province's own database on the backend of the hub's test database, migrated."""
    if migrated_db.dialect == "sqlite":
        database = Database.from_url(
            f"sqlite:///{tmp_path_factory.mktemp('province') / 'province.db'}"
        )
        upgrade(database)
        yield database
        database.dispose()
        return
    with pg_schema() as url:
        database = Database.from_url(url)
        upgrade(database)
        yield database
        database.dispose()


@pytest.fixture
def province_db(province_migrated: Database) -> Iterator[Database]:
    """The province's database in one transaction, rolled back after the test."""
    assert province_migrated.engine is not None
    connection = province_migrated.engine.connect()
    transaction = connection.begin()
    try:
        yield Database.on_connection(connection)
    finally:
        transaction.rollback()
        connection.close()


@pytest.fixture
def province(
    hub: Hub, province_db: Database, clock: FixedClock, org: Callable[..., str]
) -> Iterator[ProvinceService]:
    """Guangdong's service over the in-process hub."""
    service = ProvinceService.build(
        settings=province_settings(org("province", "440000")),
        db=province_db,
        clock=clock,
        transport=ASGISyncTransport(create_hub_app(hub)),
    )
    yield service
    service.hub.close()
