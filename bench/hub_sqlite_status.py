"""The hub's status queries on its embedded default (SQLite), against the same statements run
by a raw ASGI app and alone.

Issue 13 asks the embedded default to get the status queries' treatment where it applies.
In one run, on one SQLite file in a temporary folder (people registered and their codes
reported through the hub's own services, ``bench/hub_load.py``'s ``prepare``):

- **hub**: ``healthcode hub serve`` on the file (one process), ``GET /v1/status?pseudonym=``
  and ``GET /v1/status/{serial}`` over HTTP, closed loop, keep-alive (``bench/http_load.py``);
- **raw**: ``bench/status_raw_sqlite.py``, a raw ASGI app answering the same statements with
  ``sqlite3``, served by uvicorn the way the hub is;
- **statement**: the same statements alone, in this process, with ``sqlite3``; the hub's
  ``StatusQuery.query`` in this process (its SQLAlchemy read and its answer, no HTTP), and the
  driver path the event loop takes (``store/sqlite_reader.py``) where the sources have it.

Before/after: run it with ``PYTHONPATH`` naming another tree's ``src`` first (the servers
inherit it).

Servers are pinned to CPU 0 and the generator to the last CPU; phases alternate. Figures:
answers/s, p50/p99, and server CPU a request (the server process, from /proc).

    PYTHONPATH=src:. .venv/bin/python -m bench.hub_sqlite_status --seconds 4 --reps 2
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from bench.http_load import request_bytes, run
from bench.hub_common import ENV, HubProcess, hub_process, percentile
from bench.hub_load import prepare, session_cpu
from bench.status_raw_sqlite import SQLITE_BY_PSEUDONYM, SQLITE_BY_SERIAL
from healthcode.config import Settings
from healthcode.hub.services import Hub
from healthcode.store.db import Database

PHASES = ("status/pseudonym", "status/serial")


def _per_call(fn: Callable[[int], object], n: int) -> float:
    """CPU µs a call of ``fn(i)`` over ``n`` calls (after ``n // 10`` to warm up)."""
    for i in range(n // 10):
        fn(i)
    started = time.process_time()
    for i in range(n):
        fn(i)
    return (time.process_time() - started) / n * 1e6


def alone(
    url: str, path: Path, token: str, serials: list[str], pseudonyms: list[str], n: int
) -> None:
    """The statements alone (sqlite3) and the hub's ``StatusQuery.query``, CPU µs a call."""
    conn = sqlite3.connect(path)
    settings = Settings.from_env({**ENV, "HEALTHCODE_DATABASE_URL": url})
    hub = Hub.build(settings=settings, db=Database.from_url(url))
    checkpoint = hub.orgs.authenticate(token)
    k = len(serials)
    figures = {
        "statement by pseudonym": lambda i: conn.execute(
            SQLITE_BY_PSEUDONYM, {"pseudonym": pseudonyms[i % k]}
        ).fetchall(),
        "statement by serial": lambda i: conn.execute(
            SQLITE_BY_SERIAL, {"serial": serials[i % k]}
        ).fetchall(),
        "StatusQuery.query by pseudonym": lambda i: hub.status.queries.query(
            checkpoint, pseudonym=pseudonyms[i % k]
        ),
        "StatusQuery.query by serial": lambda i: hub.status.queries.query(
            checkpoint, serial=serials[i % k]
        ),
    }
    queries, inline = hub.status.queries, getattr(hub.status.queries, "_query_inline", None)
    if inline is not None and queries.lite is not None:  # the driver path (since 2026-12-02)
        figures["driver path by pseudonym"] = lambda i: inline(
            checkpoint, serial=None, pseudonym=pseudonyms[i % k]
        )
        figures["driver path by serial"] = lambda i: inline(
            checkpoint, serial=serials[i % k], pseudonym=None
        )
    for label, fn in figures.items():
        print(f"in process {label:<31}: {_per_call(fn, n):7.1f} CPU-µs a call")
    conn.close()
    hub.db.dispose()


def phase(
    server: HubProcess, requests: list[bytes], clients: int, seconds: float
) -> dict[str, float]:
    time.sleep(0.5)
    cpu = session_cpu(server.pid)
    result = run(server.host, server.port, requests, clients=clients, seconds=seconds)
    n = max(result.answered, 1)
    lat = result.latencies
    return {
        "rate": result.ok / result.elapsed,
        "p50": percentile(lat, 0.50) * 1000,
        "p99": percentile(lat, 0.99) * 1000,
        "server_us": (session_cpu(server.pid) - cpu) / n * 1e6,
        "ok": result.ok,
        "errors": result.failed + sum(result.other.values()),
    }


def _line(r: dict[str, float]) -> str:
    return (
        f"{r['rate']:7,.0f} req/s  p50 {r['p50']:6.1f} ms  p99 {r['p99']:6.1f} ms  "
        f"server {r['server_us']:5.0f} CPU-µs/req  ({r['ok']:,.0f} ok, {r['errors']:,.0f} errors)"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--clients", type=int, default=32)
    ap.add_argument("--seconds", type=float, default=4.0)
    ap.add_argument("--max-requests", type=int, default=20_000)
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("--people", type=int, default=2_000)
    ap.add_argument("--calls", type=int, default=20_000, help="in-process calls a figure")
    args = ap.parse_args()
    rng = random.Random(3)
    cpus = sorted(os.sched_getaffinity(0))
    with tempfile.TemporaryDirectory(prefix="hub_sqlite_") as tmp, contextlib.ExitStack() as stack:
        path = Path(tmp) / "hub.db"
        url = f"sqlite:///{path}"
        tokens, serials, pseudonyms = prepare(url, args.people)
        alone(url, path, tokens["checkpoint"], serials, pseudonyms, args.calls)
        servers = {
            "hub": stack.enter_context(hub_process(url, cpus="0")),
            "raw": stack.enter_context(
                hub_process(
                    url,
                    cpus="0",
                    app="bench.status_raw_sqlite:app",
                    env={"BENCH_RAW_SQLITE": str(path)},
                )
            ),
        }
        os.sched_setaffinity(0, {cpus[-1]})
        headers = {"Authorization": f"Bearer {tokens['checkpoint']}"}

        def requests(name: str, server: HubProcess) -> list[bytes]:
            host = f"{server.host}:{server.port}"
            targets = (
                f"/v1/status/{quote(rng.choice(serials))}"
                if name == "status/serial"
                else "/v1/status?" + urlencode({"pseudonym": rng.choice(pseudonyms)})
                for _ in range(args.max_requests)
            )
            return [request_bytes("GET", t, host=host, headers=headers.items()) for t in targets]

        print(
            f"SQLite, one server process each on CPU 0, generator on CPU {cpus[-1]}, "
            f"{args.clients} connections, phases of at most {args.seconds:g} s; "
            f"{len(serials):,} codes"
        )
        results: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for rep in range(args.reps):
            labels = ["hub", "raw"] if rep % 2 == 0 else ["raw", "hub"]
            for name in PHASES:
                for label in labels:
                    server = servers[label]
                    r = phase(server, requests(name, server), args.clients, args.seconds)
                    results.setdefault((label, name), []).append(r)
                    print(f"rep {rep + 1} {label:<4} {name:<17}: {_line(r)}")
        print("medians:")
        for (label, name), rs in results.items():
            med = {k: statistics.median(r[k] for r in rs) for k in rs[0]}
            print(f"{label:<4} {name:<17}: {_line(med)}")


if __name__ == "__main__":
    main()
