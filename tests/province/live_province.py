"""A hub and provinces running as their own processes on free ports (real HTTP)."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
from live import CLI, cli, env_for, free_port
from province_testdata import PROVINCE_KEY
from sqlalchemy import create_engine, text

from healthcode.store.db import normalise_url


class LiveProvince:
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
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.db_path = folder / f"province-{region}.db"
        self.db_url = db_url or f"sqlite:///{self.db_path}"
        self.log = folder / f"province-{region}.log"
        self.env = env_for(
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
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [*CLI, "province", "serve", "--port", str(self.port)],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.log.read_text()
            try:
                if httpx.get(self.url + "/v1/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise AssertionError("province did not start: " + self.log.read_text())

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill9()

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
