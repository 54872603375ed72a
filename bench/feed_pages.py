"""Feed pages over HTTP against reading the same rows with psycopg, side by side.

    .venv/bin/python -m bench.feed_pages [--entries 50000] [--page 500] [--clients 2]
        [--seconds 5] [--reps 3] [--workers 2] [--server LABEL=SRC ...]
        [--url postgresql://postgres@127.0.0.1:5432/test]

A fresh PostgreSQL schema gets ``--entries`` feed entries of one province (the feed data of
real NAT records, as ingest appends them). Then, each phase bounded by ``--seconds``, on
``--clients`` connections walking the feed a page (``--page`` entries) at a time:

- ``http`` (one per ``--server``): ``GET /v1/feeds/440000?after=..&limit=..`` from
  ``healthcode hub serve --workers N`` (bench/http_load.py, pinned to the last CPU);
- ``psycopg``: the same rows, ``SELECT seq, kind, ref_id, created_at, payload ... ORDER BY seq
  LIMIT ..`` with psycopg (rows as tuples, ``jsonb`` parsed, times as datetimes), in threads
  of this process (pinned to the same CPU);
- ``pg-json``: the page's JSON written by PostgreSQL (``store/feed_pages.py``), fetched as text.

Reported: entries/s of each, and http / psycopg (the goal of issue 13: at least 0.5x).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import psycopg
from sqlalchemy import create_engine

from bench.http_load import request_bytes, run
from bench.hub_common import DEFAULT_URL, ENV, hub_process, nat_records
from bench.hub_load import Server, _check_sources, _parse_server
from bench.scratch import pg_schema, schema_url
from healthcode.config import Settings
from healthcode.hub.feeds import NewEntry
from healthcode.hub.services import Hub
from healthcode.store.db import Database, normalise_url
from healthcode.store.feed_pages import json_page
from healthcode.store.migrate import upgrade

PROVINCE = "440000"
_ROWS = (
    "SELECT seq, kind, ref_id, created_at, payload FROM feed_entries"
    " WHERE province = %s AND seq > %s ORDER BY seq LIMIT %s"
)


def fill(url: str, entries: int) -> str:
    """The schema migrated, ``entries`` entries in PROVINCE's feed; a province's token."""
    db = Database.from_url(url)
    upgrade(db)
    hub = Hub.build(settings=Settings.from_env({**ENV, "HEALTHCODE_DATABASE_URL": url}), db=db)
    _, token = hub.orgs.add(kind="province", region_code=PROVINCE, name="bench province")
    now = datetime.now(UTC)
    for lo in range(0, entries, 5_000):
        records = nat_records(min(5_000, entries - lo), seed=lo, prefix=f"P{lo}")
        parsed = [
            hub.ingest.parser.parse("nat", r, defaults={"lab": "lab"}, now=now) for r in records
        ]
        with db.write() as s:
            hub.feeds.append(
                s,
                [
                    NewEntry(PROVINCE, "record", lo + i, p.feed_data(lo + i))
                    for i, p in enumerate(parsed)
                ],
                now=now,
            )
    db.dispose()
    return token


def _walk(entries: int, page: int) -> list[int]:
    return list(range(0, entries - page + 1, page))


def threaded(
    clients: int,
    seconds: float,
    cursors: list[int],
    read: Callable[[Any, int], int],
    connect: Callable[[], Any],
) -> float:
    """Entries/s of ``clients`` threads reading pages at ``cursors`` in turn until time is up."""
    total = [0] * clients
    deadline = time.perf_counter() + seconds

    def worker(k: int) -> None:
        with connect() as conn:
            i = k
            while time.perf_counter() < deadline:
                total[k] += read(conn, cursors[i % len(cursors)])
                i += clients

    start = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(k,)) for k in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(total) / (time.perf_counter() - start)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--entries", type=int, default=50_000)
    ap.add_argument("--page", type=int, default=500)
    ap.add_argument("--clients", type=int, default=2)
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--server", type=_parse_server, action="append", dest="servers")
    ap.add_argument("--url", default=DEFAULT_URL)
    args = ap.parse_args()
    servers: list[Server] = args.servers or [Server(label="this", src=None)]
    cursors = _walk(args.entries, args.page)
    with pg_schema(args.url) as schema, contextlib.ExitStack() as stack:
        url = schema_url(args.url, schema)
        token = fill(url, args.entries)
        for server in servers:
            server.hub = stack.enter_context(
                hub_process(url, workers=args.workers, pythonpath=server.src)
            )
            print(f"server {server.label}: {_check_sources(server)}")
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[-1]})
        engine = create_engine(normalise_url(url), pool_size=args.clients)
        stack.callback(engine.dispose)
        page: int = args.page

        def rows(conn: psycopg.Connection[Any], after: int) -> int:
            return len(conn.execute(_ROWS, (PROVINCE, after, page)).fetchall())

        def built(conn: Any, after: int) -> int:
            return min(json_page(conn, PROVINCE, after=after, limit=page).fetched, page)

        def http(server: Server) -> float:
            assert server.hub is not None
            host = f"{server.hub.host}:{server.hub.port}"
            headers = [("Authorization", f"Bearer {token}")]
            target = f"/v1/feeds/{PROVINCE}?limit={page}&after="
            reqs = [
                request_bytes("GET", f"{target}{c}", host=host, headers=headers) for c in cursors
            ]
            reqs = reqs * 50
            r = run(
                server.hub.host, server.hub.port, reqs, clients=args.clients, seconds=args.seconds
            )
            assert not r.other and not r.failed, (r.other, r.failed)
            return float(r.ok * page / r.elapsed)

        phases: dict[str, Callable[[], float]] = {
            "psycopg": lambda: threaded(
                args.clients,
                args.seconds,
                cursors,
                rows,
                lambda: psycopg.connect(url, autocommit=True),
            ),
            "pg-json": lambda: threaded(args.clients, args.seconds, cursors, built, engine.connect),
        }
        for server in servers:
            phases[f"http {server.label}"] = lambda server=server: http(server)  # type: ignore[misc]
        print(
            f"{args.entries:,} entries, pages of {page}, {args.clients} connections, "
            f"phases of {args.seconds:g} s, hub serve --workers {args.workers}"
        )
        results: dict[str, list[float]] = {}
        for rep in range(args.reps):
            names = list(phases) if rep % 2 == 0 else list(phases)[::-1]
            for name in names:
                time.sleep(0.5)
                rate = phases[name]()
                results.setdefault(name, []).append(rate)
                print(f"rep {rep + 1} {name:<14}: {rate:>9,.0f} entries/s")
        print("medians:")
        base = statistics.median(results["psycopg"])
        for name, rates in results.items():
            med = statistics.median(rates)
            print(f"{name:<14}: {med:>9,.0f} entries/s  {med / base:5.2f}x psycopg")


if __name__ == "__main__":
    main()
