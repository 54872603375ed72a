"""The hub driven past saturation: does throughput hold, and are the errors 503s, not timeouts?

    PYTHONPATH=src:. .venv/bin/python -m bench.hub_saturation [--workers 2]
        [--connections 32,512] [--seconds 10] [--limit 64] [--timeout 2]
        [--retry-after 1]

One ``hub serve --workers N`` per setting of ``HEALTHCODE_MAX_IN_FLIGHT`` (``--limit``, the
default 64, and ``--no-limit``'s 1,000,000, i.e. no shedding), on the same data as
bench/hub_load.py (2,000 people with a reported code), side by side. Each is driven with
``GET /v1/status/{serial}`` over each number of keep-alive ``--connections`` (closed loop,
bench/http_load.py pinned to its own CPU) for ``--seconds``. Reported per run: answers 200 a
second, 503 OVERLOADED (and other statuses) a second, connection failures, p50/p99 of the 200
answers, and how many 200 answers came later than ``--timeout`` seconds (a checkpoint's
online timeout, ``HEALTHCODE_CHECKPOINT_ONLINE_TIMEOUT``: such an answer is a timeout to it).
A connection answered 503 waits ``--retry-after`` seconds before its next request, as a client
honouring ``Retry-After`` does (0: it asks again at once, the worst client).
"""

from __future__ import annotations

import argparse
import os
import random
from urllib.parse import quote

import psycopg

from bench.http_load import request_bytes, run
from bench.hub_common import DEFAULT_URL, hub_process, percentile, pg_schema, schema_url
from bench.hub_load import prepare


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--connections", default="32,512")
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--limit", type=int, default=64, help="HEALTHCODE_MAX_IN_FLIGHT")
    ap.add_argument("--timeout", type=float, default=2.0, help="a checkpoint's online timeout")
    ap.add_argument("--retry-after", type=float, default=1.0, help="a 503's pause (s)")
    ap.add_argument("--url", default=DEFAULT_URL)
    args = ap.parse_args()
    cpus = sorted(os.sched_getaffinity(0))
    rng = random.Random(5)
    with pg_schema(args.url) as schema, psycopg.connect(args.url, autocommit=True):
        url = schema_url(args.url, schema)
        tokens, serials, _ = prepare(url, 2_000)
        headers = [("Authorization", f"Bearer {tokens['checkpoint']}")]
        for limit in (args.limit, 1_000_000):
            env = {"HEALTHCODE_MAX_IN_FLIGHT": str(limit)}
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


if __name__ == "__main__":
    main()
