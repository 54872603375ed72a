"""Hub fixtures: a Hub on the test database (SQLite, and PostgreSQL when configured), a fixed
clock, organisations of every kind and an HTTP client."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx
import pytest
from hub_testdata import ENV, NOW, ASGISyncTransport

from healthcode.config import Settings
from healthcode.core.clock import FixedClock
from healthcode.hub.app import create_app
from healthcode.hub.services import Hub
from healthcode.store.db import Database


@pytest.fixture
def settings() -> Settings:
    return Settings.from_env(ENV)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def hub(db: Database, settings: Settings, clock: FixedClock) -> Hub:
    return Hub.build(settings=settings, db=db, clock=clock)


@pytest.fixture
def client(hub: Hub) -> Iterator[httpx.Client]:
    transport = ASGISyncTransport(create_app(hub))
    with httpx.Client(transport=transport, base_url="http://hub.test") as c:
        yield c


@pytest.fixture
def org(hub: Hub) -> Callable[..., dict[str, str]]:
    """``org("lab", "440106")`` -> authorisation headers of a new organisation."""

    def make(kind: str, region: str = "440000", name: str | None = None) -> dict[str, str]:
        _, token = hub.orgs.add(kind=kind, region_code=region, name=name or f"{kind} {region}")
        return {"Authorization": f"Bearer {token}"}

    return make


@pytest.fixture
def real_hub(fresh_db_url: str, settings: Settings, clock: FixedClock) -> Iterator[Hub]:
    """A hub on its own database with real, separate connections (not one test transaction):
    for writers that meet each other."""
    from healthcode.store.migrate import upgrade

    db = Database.from_url(fresh_db_url)
    upgrade(db)
    yield Hub.build(settings=settings, db=db, clock=clock)
    db.dispose()
