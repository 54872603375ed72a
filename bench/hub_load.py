"""The hub under concurrent load on loopback: single-record submissions and status queries.

    .venv/bin/python -m bench.hub_load [--workers 2] [--clients 32] [--seconds 10]
        [--max-requests 20000] [--reps 2] [--people 2000]
        [--url postgresql://postgres@127.0.0.1:5432/test]

Starts ``healthcode hub serve --workers N`` (uvicorn) on a free 127.0.0.1 port with a fresh
PostgreSQL schema (dropped at the end), and drives it with ``--clients`` concurrent httpx async
clients in this process. Each phase stops by itself after ``--seconds`` or ``--max-requests``
requests, whichever comes first:

- ``submit``: ``POST /v1/records/nat``, one new valid NAT result per request (a lab's token);
- ``status/serial``: ``GET /v1/status/{serial}`` (a checkpoint's token) over ``--people``
  reported codes;
- ``status/pseudonym``: ``GET /v1/status?pseudonym=...`` over the same people.

Reported per phase: requests/s (completed with 200), p50 and p99 latency, errors. The load
generator shares the 2 cores with the server and PostgreSQL, so these figures are a floor.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from bench.hub_common import (
    DEFAULT_URL,
    ENV,
    hub_server,
    nat_records,
    percentile,
    pg_schema,
    schema_url,
)
from healthcode.config import Settings
from healthcode.hub.services import Hub
from healthcode.store.db import Database
from healthcode.store.migrate import upgrade

Request = Callable[[httpx.AsyncClient, int], Any]


def prepare(url: str, people: int) -> tuple[dict[str, str], list[str], list[str]]:
    """Organisations (tokens by kind), and ``people`` registered people with a reported code:
    their serials and pseudonyms."""
    db = Database.from_url(url)
    upgrade(db)
    hub = Hub.build(settings=Settings.from_env({**ENV, "HEALTHCODE_DATABASE_URL": url}), db=db)
    tokens = {}
    for kind, region in (("lab", "440106"), ("province", "440000"), ("checkpoint", "110000")):
        _, tokens[kind] = hub.orgs.add(kind=kind, region_code=region, name=f"bench {kind}")
    province = hub.orgs.authenticate(tokens["province"])
    # Any valid ID numbers: a province may register people from anywhere.
    numbers = [r["id_number"] for r in nat_records(people, seed=7)]
    pseudonyms = hub.status.register(province, [{"id_number": n} for n in numbers])
    since = datetime.now(UTC) - timedelta(days=1)
    serials = [f"GD-{i:08d}" for i in range(len(pseudonyms))]
    reports = [
        {
            "serial": serial,
            "pseudonym": p,
            "colour": random.Random(i).choice(("green", "green", "green", "yellow", "red")),
            "since": since.isoformat(),
            "until": (since + timedelta(days=7)).isoformat(),
            "ruleset_version": "bench-1",
        }
        for i, (serial, p) in enumerate(zip(serials, pseudonyms, strict=True))
    ]
    for lo in range(0, len(reports), 500):
        hub.status.report(province, reports[lo : lo + 500])
    db.dispose()
    return tokens, serials, pseudonyms


async def phase(
    base: str, make: Request, *, clients: int, seconds: float, max_requests: int
) -> dict[str, Any]:
    latencies: list[float] = []
    errors = 0
    issued = 0
    deadline = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:

        async def worker() -> None:
            nonlocal issued, errors
            while issued < max_requests and time.perf_counter() < deadline:
                i = issued
                issued += 1
                start = time.perf_counter()
                try:
                    response = await make(client, i)
                    ok = response.status_code == 200
                except httpx.HTTPError:
                    ok = False
                if ok:
                    latencies.append(time.perf_counter() - start)
                else:
                    errors += 1

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(clients)))
        elapsed = time.perf_counter() - start
    latencies.sort()
    return {
        "rate": len(latencies) / elapsed,
        "p50": percentile(latencies, 0.50) * 1000,
        "p99": percentile(latencies, 0.99) * 1000,
        "ok": len(latencies),
        "errors": errors,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--clients", type=int, default=32)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--max-requests", type=int, default=20_000)
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("--people", type=int, default=2_000)
    ap.add_argument("--url", default=DEFAULT_URL)
    args = ap.parse_args()

    records = nat_records(args.max_requests * args.reps, seed=11, prefix="L")
    sent = 0
    with pg_schema(args.url) as schema:
        url = schema_url(args.url, schema)
        tokens, serials, pseudonyms = prepare(url, args.people)
        lab = {"Authorization": f"Bearer {tokens['lab']}"}
        checkpoint = {"Authorization": f"Bearer {tokens['checkpoint']}"}
        rng = random.Random(3)

        def submit(client: httpx.AsyncClient, i: int) -> Any:
            nonlocal sent
            record = records[sent]
            sent += 1
            return client.post("/v1/records/nat", json=record, headers=lab)

        def by_serial(client: httpx.AsyncClient, i: int) -> Any:
            return client.get(f"/v1/status/{rng.choice(serials)}", headers=checkpoint)

        def by_pseudonym(client: httpx.AsyncClient, i: int) -> Any:
            return client.get(
                "/v1/status", params={"pseudonym": rng.choice(pseudonyms)}, headers=checkpoint
            )

        phases: dict[str, Request] = {
            "submit": submit,
            "status/serial": by_serial,
            "status/pseudonym": by_pseudonym,
        }
        results: dict[str, list[dict[str, Any]]] = {name: [] for name in phases}
        print(
            f"hub serve --workers {args.workers}; {args.clients} clients; phases of at most "
            f"{args.seconds:g} s or {args.max_requests:,} requests; {len(serials):,} codes"
        )
        with hub_server(url, workers=args.workers) as base:
            for rep in range(args.reps):
                order = list(phases) if rep % 2 == 0 else list(reversed(phases))
                for name in order:
                    r = asyncio.run(
                        phase(
                            base,
                            phases[name],
                            clients=args.clients,
                            seconds=args.seconds,
                            max_requests=args.max_requests,
                        )
                    )
                    results[name].append(r)
                    print(
                        f"rep {rep + 1} {name:<17}: {r['rate']:>7,.0f} req/s  p50 "
                        f"{r['p50']:6.1f} ms  p99 {r['p99']:6.1f} ms  ({r['ok']:,} ok, "
                        f"{r['errors']} errors)"
                    )
        for name, rs in results.items():
            print(
                f"{name:<17}: median {statistics.median(r['rate'] for r in rs):>7,.0f} req/s,"
                f" p50 {statistics.median(r['p50'] for r in rs):.1f} ms,"
                f" p99 {statistics.median(r['p99'] for r in rs):.1f} ms,"
                f" errors {sum(r['errors'] for r in rs)}"
            )


if __name__ == "__main__":
    main()
