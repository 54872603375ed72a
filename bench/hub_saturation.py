"""The hub driven past saturation: does throughput hold, and are the errors 503s, not timeouts?

    PYTHONPATH=src:. .venv/bin/python -m bench.hub_saturation [--workers 2]
        [--connections 32,512] [--seconds 10] [--limit 64] [--timeout 2]
        [--retry-after 1]

One ``hub serve --workers N`` per setting of ``HEALTHCODE_MAX_IN_FLIGHT`` (``--limit``, the
default 64, and ``--no-limit``'s 1,000,000, i.e. no shedding), on the same data as
bench/hub_load.py (2,000 people with a reported code), side by side. Each is driven with
``GET /v1/status/{serial}`` over each number of keep-alive ``--connections`` (closed loop,
one checkpoint token standing for many checkpoints, so the caller's share is set to the limit;
bench/http_load.py pinned to its own CPU) for ``--seconds``. Reported per run: answers 200 a
second, 503 OVERLOADED (and other statuses) a second, connection failures, p50/p99 of the 200
answers, and how many 200 answers came later than ``--timeout`` seconds (a checkpoint's
online timeout, ``HEALTHCODE_CHECKPOINT_ONLINE_TIMEOUT``: such an answer is a timeout to it).
A connection answered 503 waits ``--retry-after`` seconds before its next request, as a client
honouring ``Retry-After`` does (0: it asks again at once, the worst client).

``--flood N`` runs a client that ignores ``Retry-After`` beside well-behaved ones instead: one
checkpoint organisation asking over N connections and again at once after any refusal (429 or
503), in a process of its own pinned to the generator's CPU, while ``--polite K``
organisations of their own share each ``--connections`` and wait ``--retry-after`` after a
refusal. Each is run against a hub with the default share of a client
(``HEALTHCODE_MAX_IN_FLIGHT_PER_CLIENT``, web/admission.py) and one whose share is the whole
limit (no share: the process's limit alone); reported per side: answers 200 a second, p50/p99,
refusals by status.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import os
import random
from urllib.parse import quote

import psycopg

from bench.http_load import PhaseResult, drive, request_bytes, run
from bench.hub_common import DEFAULT_URL, ENV, hub_process, percentile
from bench.hub_load import prepare
from bench.scratch import pg_schema, schema_url
from healthcode.config import Settings
from healthcode.hub.services import Hub
from healthcode.store.db import Database


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--connections", default="32,512")
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--limit", type=int, default=64, help="HEALTHCODE_MAX_IN_FLIGHT")
    ap.add_argument("--timeout", type=float, default=2.0, help="a checkpoint's online timeout")
    ap.add_argument("--retry-after", type=float, default=1.0, help="a 503's pause (s)")
    ap.add_argument("--flood", type=int, default=0, help="a flooding client's connections")
    ap.add_argument("--polite", type=int, default=3, help="well-behaved clients beside it")
    ap.add_argument("--url", default=DEFAULT_URL)
    args = ap.parse_args()
    if args.flood:
        flooded(args)
        return
    cpus = sorted(os.sched_getaffinity(0))
    rng = random.Random(5)
    with pg_schema(args.url) as schema, psycopg.connect(args.url, autocommit=True):
        url = schema_url(args.url, schema)
        tokens, serials, _ = prepare(url, 2_000)
        headers = [("Authorization", f"Bearer {tokens['checkpoint']}")]
        for limit in (args.limit, 1_000_000):
            # one token stands for many checkpoints here: no caller's share, the process's limit
            # alone (a share equal to the limit would refuse first, 429 after its pause)
            env = {
                "HEALTHCODE_MAX_IN_FLIGHT": str(limit),
                "HEALTHCODE_MAX_IN_FLIGHT_PER_CLIENT": str(limit + 1),
            }
            with hub_process(url, workers=args.workers, env=env) as hub:
                os.sched_setaffinity(0, {cpus[-1]})
                host = f"{hub.host}:{hub.port}"
                for clients in (int(c) for c in args.connections.split(",")):
                    requests = [
                        request_bytes(
                            "GET",
                            f"/v1/status/{quote(rng.choice(serials))}",
                            host=host,
                            headers=headers,
                        )
                        for _ in range(int(40_000 * args.seconds / 10) + clients * 200)
                    ]
                    r = run(
                        hub.host,
                        hub.port,
                        requests,
                        clients=clients,
                        seconds=args.seconds,
                        pause_after_503=args.retry_after,
                    )
                    late = sum(1 for t in r.latencies if t > args.timeout)
                    others = ", ".join(
                        f"{status}: {n / r.elapsed:,.0f}/s" for status, n in sorted(r.other.items())
                    )
                    print(
                        f"limit {limit:>9,} connections {clients:>5}: {r.ok / r.elapsed:7,.0f} "
                        f"ok/s  p50 {percentile(r.latencies, 0.5) * 1000:7.1f} ms  p99 "
                        f"{percentile(r.latencies, 0.99) * 1000:7.1f} ms  later than "
                        f"{args.timeout:g} s: {late:,}  others: {others or 'none'}  "
                        f"failed: {r.failed}",
                        flush=True,
                    )
                os.sched_setaffinity(0, set(cpus))


def checkpoint_tokens(url: str, n: int) -> list[str]:
    """``n`` checkpoint organisations of their own: one token each."""
    db = Database.from_url(url)
    hub = Hub.build(settings=Settings.from_env({**ENV, "HEALTHCODE_DATABASE_URL": url}), db=db)
    tokens = [
        hub.orgs.add(kind="checkpoint", region_code="110000", name=f"cp {i}")[1] for i in range(n)
    ]
    db.dispose()
    return tokens


def _line(label: str, r: PhaseResult) -> str:
    refused = ", ".join(
        f"{status}: {n / r.elapsed:,.0f}/s" for status, n in sorted(r.other.items())
    )
    return (
        f"{label}: {r.ok / r.elapsed:7,.0f} ok/s  p50 {percentile(r.latencies, 0.5) * 1000:7.1f} ms"
        f"  p99 {percentile(r.latencies, 0.99) * 1000:7.1f} ms  refused: {refused or 'none'}"
        f"  failed: {r.failed}"
    )


def _flood(
    host: str, port: int, requests: list[bytes], clients: int, seconds: float, cpu: int
) -> PhaseResult:
    os.sched_setaffinity(0, {cpu})
    return run(host, port, requests, clients=clients, seconds=seconds, pause_after_503=0.0)


async def _polite(
    host: str, port: int, sides: list[list[bytes]], clients: int, args: argparse.Namespace
) -> list[PhaseResult]:
    return list(
        await asyncio.gather(
            *(
                drive(
                    host,
                    port,
                    requests,
                    clients=clients,
                    seconds=args.seconds,
                    pause_after_503=args.retry_after,
                )
                for requests in sides
            )
        )
    )


def flooded(args: argparse.Namespace) -> None:
    """``--flood``: the flooding client beside ``--polite`` well-behaved ones (module docstring)."""
    cpus = sorted(os.sched_getaffinity(0))
    rng = random.Random(5)
    with pg_schema(args.url) as schema:
        url = schema_url(args.url, schema)
        _, serials, _ = prepare(url, 2_000)
        flooder, *polite = checkpoint_tokens(url, 1 + args.polite)
        n = int(40_000 * args.seconds / 10)

        def requests(token: str, host: str, count: int) -> list[bytes]:
            headers = [("Authorization", f"Bearer {token}")]
            targets = (f"/v1/status/{quote(rng.choice(serials))}" for _ in range(count))
            return [request_bytes("GET", t, host=host, headers=headers) for t in targets]

        for share in (None, args.limit):
            env = {"HEALTHCODE_MAX_IN_FLIGHT": str(args.limit)}
            if share is not None:
                env["HEALTHCODE_MAX_IN_FLIGHT_PER_CLIENT"] = str(share)
            label = "share default" if share is None else f"share {share} (none)"
            with hub_process(url, workers=args.workers, env=env) as hub:
                host = f"{hub.host}:{hub.port}"
                for clients in (int(c) for c in args.connections.split(",")):
                    each = max(1, clients // len(polite))
                    sides = [requests(t, host, n) for t in polite]
                    flood = requests(flooder, host, n * 4)
                    with concurrent.futures.ProcessPoolExecutor(1) as pool:
                        job = pool.submit(
                            _flood, hub.host, hub.port, flood, args.flood, args.seconds, cpus[-1]
                        )
                        os.sched_setaffinity(0, {cpus[-1]})
                        results = asyncio.run(_polite(hub.host, hub.port, sides, each, args))
                        os.sched_setaffinity(0, set(cpus))
                        flood_result = job.result()
                    print(
                        f"limit {args.limit}, {label}; {len(polite)} polite x {each} "
                        f"connections, flooder {args.flood}:",
                        flush=True,
                    )
                    for i, r in enumerate(results):
                        print("  " + _line(f"polite {i + 1}", r), flush=True)
                    print("  " + _line("flooder ", flood_result), flush=True)


if __name__ == "__main__":
    main()
