"""No connection churn under load: a hub served by uvicorn on loopback opens no PostgreSQL
backend after its warm-up, whatever the concurrency of its clients.

The hub runs in this process (a real uvicorn server on 127.0.0.1, its own thread and event
loop), on its own schema, with its own ``application_name``; clients send a few hundred status
queries and single submissions at once from more threads than the hub has. A new backend is
seen twice: the engine's ``connect`` events (every connection the pool opens) and the pids of
``pg_stat_activity`` for the hub's ``application_name``, sampled while the load runs.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import timedelta
from typing import Any
from urllib.parse import quote

import httpx
import psycopg
import pytest
import uvicorn
from hub_testdata import ENV, NOW, ASGISyncTransport, nat, resident_id
from live import free_port
from sqlalchemy import event

from healthcode.config import Settings
from healthcode.core.clock import FixedClock
from healthcode.core.errors import ConfigError
from healthcode.hub.app import create_app
from healthcode.hub.services import Hub
from healthcode.store.db import Database, normalise_url
from healthcode.store.migrate import upgrade

PG_URL = os.environ.get("HEALTHCODE_TEST_DATABASE_URL", "")
pytestmark = pytest.mark.skipif(not PG_URL, reason="needs HEALTHCODE_TEST_DATABASE_URL")

CLIENTS = 32  # concurrent clients: more than the hub's threads (HEALTHCODE_WORKER_THREADS)
PEOPLE = 50


@contextmanager
def own_schema() -> Iterator[str]:
    """The test server's URL with ``search_path`` on a fresh schema, dropped at the end."""
    schema = f"churn_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_URL, autocommit=True) as admin:
        admin.execute(f'CREATE SCHEMA "{schema}"')
    try:
        sep = "&" if "?" in PG_URL else "?"
        yield normalise_url(f"{PG_URL}{sep}options={quote(f'-csearch_path={schema}')}")
    finally:
        with psycopg.connect(PG_URL, autocommit=True) as admin:
            admin.execute(f'DROP SCHEMA "{schema}" CASCADE')


def populated(url: str, **env: str) -> tuple[Hub, dict[str, str], dict[str, str], list[str]]:
    """A hub on ``url`` (migrated; ``env`` over the environment's settings) with a lab and a
    checkpoint (their headers) and PEOPLE reported codes (their serials)."""
    hub = Hub.from_settings(
        Settings.from_env({**os.environ, **ENV, **env, "HEALTHCODE_DATABASE_URL": url}),
        clock=FixedClock(NOW),
    )
    upgrade(hub.db)
    headers = {}
    for kind, region in (("lab", "440106"), ("checkpoint", "110000")):
        _, token = hub.orgs.add(kind=kind, region_code=region, name=kind)
        headers[kind] = {"Authorization": f"Bearer {token}"}
    _, token = hub.orgs.add(kind="province", region_code="440000", name="province")
    province = hub.orgs.authenticate(token)
    people = [{"id_number": resident_id(seq=f"{i:03d}")} for i in range(PEOPLE)]
    pseudonyms = hub.status.register(province, people)
    serials = [f"GD-{i:08d}" for i in range(PEOPLE)]
    reports = [
        {
            "serial": serial,
            "pseudonym": pseudonym,
            "colour": "green",
            "since": NOW.isoformat(),
            "until": (NOW + timedelta(days=7)).isoformat(),
            "ruleset_version": "churn-1",
        }
        for serial, pseudonym in zip(serials, pseudonyms, strict=True)
    ]
    hub.status.report(province, reports)
    return hub, headers["lab"], headers["checkpoint"], serials


@contextmanager
def served(hub: Hub) -> Iterator[str]:
    """``hub`` answering HTTP on a free 127.0.0.1 port until the block ends; its base URL."""
    port = free_port()
    config = uvicorn.Config(
        create_app(hub), host="127.0.0.1", port=port, log_level="warning", access_log=False
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


@contextmanager
def backends_seen(app_name: str) -> Iterator[set[int]]:
    """The pids of the backends named ``app_name``, sampled every few ms while the block runs."""
    seen: set[int] = set()
    done = threading.Event()

    def sample() -> None:
        with psycopg.connect(PG_URL, autocommit=True) as admin:
            while not done.is_set():
                rows = admin.execute(
                    "SELECT pid FROM pg_stat_activity WHERE application_name = %s", (app_name,)
                ).fetchall()
                seen.update(pid for (pid,) in rows)
                done.wait(0.005)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        yield seen
    finally:
        done.set()
        sampler.join(timeout=10)


def load(base: str, requests: list[tuple[str, str, dict[str, str], Any]]) -> list[int]:
    """Every request sent by CLIENTS keep-alive clients at once; the statuses answered."""
    local = threading.local()
    clients: list[httpx.Client] = []

    def send(spec: tuple[str, str, dict[str, str], Any]) -> int:
        client = getattr(local, "client", None)
        if client is None:
            client = local.client = httpx.Client(base_url=base, timeout=60)
            clients.append(client)
        method, path, headers, body = spec
        return client.request(method, path, headers=headers, json=body).status_code

    try:
        with ThreadPoolExecutor(CLIENTS) as pool:
            return list(pool.map(send, requests))
    finally:
        for client in clients:
            client.close()


def test_status_queries_and_submissions_open_no_backend_after_warm_up() -> None:
    app_name = f"churn_{uuid.uuid4().hex[:12]}"
    with own_schema() as url:
        hub, lab, checkpoint, serials = populated(f"{url}&application_name={app_name}")
        pseudonyms = [
            hub.status.query(hub.orgs.authenticate(checkpoint["Authorization"][7:]), serial=s)[
                "pseudonym"
            ]
            for s in serials
        ]
        engine = hub.db.engine
        reader = hub.status.reader  # status queries' connections on the event loop
        assert engine is not None and reader is not None
        opened: list[int] = []
        event.listen(engine, "connect", lambda *_: opened.append(1))
        records = iter(nat(f"C{i:04d}", resident_id(seq=f"{i % 1000:03d}")) for i in range(2000))

        def mix(n: int) -> list[tuple[str, str, dict[str, str], Any]]:
            """``n`` requests: two status queries (by serial, by pseudonym) a submission."""
            return [
                ("POST", "/v1/records/nat", lab, next(records))
                if i % 3 == 2
                else ("GET", f"/v1/status/{quote(serials[i % len(serials)])}", checkpoint, None)
                if i % 3 == 0
                else ("GET", f"/v1/status?pseudonym={pseudonyms[i % PEOPLE]}", checkpoint, None)
                for i in range(n)
            ]

        try:
            with served(hub) as base:
                # Warm-up: the pool opens every connection it may hold, the hub its caches.
                held = [engine.connect() for _ in range(engine.pool.size())]  # type: ignore[attr-defined]
                for conn in held:
                    conn.close()
                assert set(load(base, mix(120))) == {200}
                warm = len(opened)
                with backends_seen(app_name) as before:
                    time.sleep(0.05)
                with backends_seen(app_name) as during:
                    statuses = load(base, mix(600))
        finally:
            hub.db.dispose()
    assert set(statuses) == {200}
    assert len(opened) == warm, f"{len(opened) - warm} backends opened after warm-up"
    assert during <= before, f"new backends under load: {sorted(during - before)}"
    # the pool's, the event loop's and the feed listener's, all opened at start-up, none since
    assert len(before) == engine.pool.size() + reader.size + 1  # type: ignore[attr-defined]


def test_a_request_that_finds_no_free_connection_answers_503_database_busy() -> None:
    with own_schema() as url:
        env = {"HEALTHCODE_WORKER_THREADS": "1", "HEALTHCODE_DATABASE_BUSY_SECONDS": "0.2"}
        hub, _, checkpoint, serials = populated(url, **env)
        engine = hub.db.engine
        assert engine is not None
        held = [engine.connect() for _ in range(engine.pool.size())]  # type: ignore[attr-defined]
        try:
            transport = ASGISyncTransport(create_app(hub))
            with httpx.Client(transport=transport, base_url="http://hub.test") as client:
                answer = client.get(f"/v1/status/{serials[0]}", headers=checkpoint)
        finally:
            for conn in held:
                conn.close()
            hub.db.dispose()
    assert answer.status_code == 503
    assert answer.json()["error"]["code"] == "DATABASE_BUSY"
    assert answer.headers["Retry-After"] == "1"


def test_pools_that_do_not_fit_max_connections_refuse_to_start() -> None:
    with own_schema() as url:
        db = Database.from_url(url, threads=8)
        try:
            db.check_capacity(1)  # 10 connections fit any server's default of 100
            with pytest.raises(ConfigError, match=r"HEALTHCODE_WORKER_THREADS.*max_connections"):
                db.check_capacity(100_000)
        finally:
            db.dispose()
