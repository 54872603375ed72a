"""A hub and provinces running as their own processes on free ports (real HTTP)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from live import LiveProcess, cli, env_for
from province_testdata import PROVINCE_KEY
from sqlalchemy import create_engine, text

from healthcode.store.db import normalise_url


class LiveProvince(LiveProcess):
    """``healthcode province serve`` in a subprocess, with its own database: a SQLite file in
    ``folder``, or ``db_url`` when given (e.g. a PostgreSQL schema of its own)."""

    def __init__(
        self,
        *,
        region: str,
        hub_url: str,
        hub_token: str,
        hub_db: str,
        home: Path,
        folder: Path,
        db_url: str | None = None,
        **extra: str,
    ) -> None:
        self.region = region
        self.db_path = folder / f"province-{region}.db"
        self.db_url = db_url or f"sqlite:///{self.db_path}"
        env = env_for(
            hub_db,
            HEALTHCODE_PROVINCE_REGION=region,
            HEALTHCODE_PROVINCE_FIELD_KEY=PROVINCE_KEY,
            HEALTHCODE_PROVINCE_DATABASE_URL=self.db_url,
            HEALTHCODE_PROVINCE_HUB_URL=hub_url,
            HEALTHCODE_PROVINCE_HUB_TOKEN=hub_token,
            HEALTHCODE_PROVINCE_TRUST_DATABASE_URL=hub_db,
            HEALTHCODE_HOME=str(home),
            **{
                "HEALTHCODE_PROVINCE_PULL_SECONDS": "0.05",
                "HEALTHCODE_PROVINCE_SWEEP_SECONDS": "0.1",
                "HEALTHCODE_PROVINCE_REPORT_SECONDS": "0.05",
                **extra,
            },
        )
        log = folder / f"province-{region}.log"
        super().__init__(f"province {region}", ["province", "serve"], env, log)

    def query(self, sql: str) -> list[Any]:
        """Rows of a read of the province's database (read from outside the process)."""
        engine = create_engine(normalise_url(self.db_url))
        try:
            with engine.connect() as conn:
                return list(conn.execute(text(sql)).all())
        finally:
            engine.dispose()

    def scalar(self, sql: str) -> Any:
        rows = self.query(sql)
        return rows[0][0] if rows else None


def keys_init(hub_db: str, home: Path) -> None:
    done = cli(hub_db, "keys", "init", "--provinces", "440000,110000", "--home", str(home))
    assert done.returncode == 0, done.stderr


def wait_for(what: str, check: Any, timeout: float = 60.0) -> Any:
    """Poll ``check()`` until it gives something true; fails after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")
