"""The hub under concurrent load on loopback: single-record submissions and status queries.

    .venv/bin/python -m bench.hub_load [--workers 2] [--clients 32] [--seconds 10]
        [--max-requests 20000] [--reps 3] [--people 2000] [--generator raw|httpx]
        [--generator-cpu N] [--server-cpus LIST] [--server LABEL=SRC ...] [--raw]
        [--codes N] [--url postgresql://postgres@127.0.0.1:5432/test]

Starts ``healthcode hub serve --workers N`` (uvicorn) on a free 127.0.0.1 port with a fresh
PostgreSQL schema (dropped at the end) and drives it with ``--clients`` concurrent keep-alive
connections from this process. Each phase stops by itself after ``--seconds`` or
``--max-requests`` requests, whichever comes first:

- ``submit``: ``POST /v1/records/nat``, one new valid NAT result per request (a lab's token);
  ``submit/keyed`` the same, each request with an ``Idempotency-Key`` of its own;
- ``status/serial``: ``GET /v1/status/{serial}`` (a checkpoint's token) over ``--people``
  reported codes;
- ``status/pseudonym``: ``GET /v1/status?pseudonym=...`` over the same people;
- ``floor``: the statements and commit of one submission driven by pgbench on the same schema
  and connections (bench/submit_floor.py), once a rep, labelled ``pgbench``.

``--warm-up S`` first sends each server S seconds of keyed submissions and then runs
``ANALYZE``, so that the phases measure tables that hold rows and statistics.

The load generator (``--generator raw``, the default) is bench/http_load.py: pre-built
requests and a minimal response reader on uvloop, a few tens of CPU-µs a request; ``httpx``
is the older httpx async client, kept for comparison. The generator is pinned to one CPU
(``--generator-cpu``, default the last; -1 leaves it free), the server to ``--server-cpus``
(default: not pinned).

Reported per phase: requests/s (answered 200), p50 and p99 latency, errors, and CPU per
request: **server** (user + system time of the ``hub serve`` processes, from /proc/<pid>/stat),
**pg** (the PostgreSQL backends of this server's connections, found by ``application_name`` in
``pg_stat_activity``), **pg other** (every other ``postgres`` process: WAL writer,
checkpointer, ..., and whatever else uses the database server meanwhile), and **client** (this
process). CPU per request holds up on a shared machine where requests/s do not.

``--server LABEL=SRC`` (repeatable) starts one server per label with ``PYTHONPATH=SRC`` (e.g. a
``git worktree`` of the base commit for "before"), all on the same data; each phase runs on
each server in turn (order alternating), so before and after are measured side by side.

``--raw`` adds the status queries' baseline, served the same way beside the hub (uvicorn,
``--workers``): ``bench/status_raw.py``, a raw ASGI app answering the same queries with async
psycopg and prepared statements (it takes no part in ``submit``). ``--codes N`` fills the
tables with more codes (each of a registered person) by ``generate_series`` in SQL, up to N
in all, before the servers start: the queries should cost the same at 10 thousand codes and
at 10 million.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import psycopg

from bench import server_timing, submit_floor
from bench.http_load import PhaseResult, request_bytes, run
from bench.hub_common import (
    DEFAULT_URL,
    ENV,
    HubProcess,
    hub_process,
    nat_records,
    percentile,
)
from bench.scratch import pg_schema, schema_url
from healthcode.config import Settings
from healthcode.hub.services import Hub
from healthcode.store.db import Database
from healthcode.store.migrate import upgrade

PHASES = ("submit", "submit/keyed", "status/serial", "status/pseudonym", "floor")
_TICK = os.sysconf("SC_CLK_TCK")


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


def fill(url: str, codes: int, have: int) -> None:
    """Registered people with a reported code, by ``generate_series``, up to ``codes`` codes in
    all (``have`` there already), then ANALYZE."""
    n = codes - have
    if n <= 0:
        return
    started = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as conn:
        org = conn.execute("SELECT min(id) FROM organisations").fetchone()
        params = {"n": n, "org": org[0] if org else None}
        person = "'f' || lpad(to_hex(g), 63, '0')"
        conn.execute(
            "INSERT INTO registrations (pseudonym, province, org_id, reason, registered_at) "
            f"SELECT {person}, '440000', %(org)s, 'residence', now() "
            "FROM generate_series(1, %(n)s) g",
            params,
        )
        conn.execute(
            "INSERT INTO code_status (serial, province, pseudonym, colour, since, until, "
            "ruleset_version, reported_at, list_status) "
            f"SELECT 'FILL-' || g, '440000', {person}, 'green', now() - interval '1 day', "
            "now() + interval '6 days', 'fill-1', now(), 0 FROM generate_series(1, %(n)s) g",
            params,
        )
        conn.execute("ANALYZE registrations")
        conn.execute("ANALYZE code_status")
        size = conn.execute(
            "SELECT pg_total_relation_size('code_status') + pg_total_relation_size('registrations')"
        ).fetchone()
    mib = (size[0] if size else 0) / 2**20
    print(
        f"filled {n:,} more codes in {time.perf_counter() - started:.0f} s; tables {mib:,.0f} MiB"
    )


# -- CPU time from /proc -----------------------------------------------------------------------


def _stat(pid: int) -> list[str] | None:
    """The fields of /proc/<pid>/stat after the command name (index 0 is field 3, state)."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return raw[raw.rindex(")") + 2 :].split()


def _all_pids() -> Iterator[int]:
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            yield int(entry.name)


def cpu_seconds(pid: int, *, children: bool = False) -> float:
    """User + system CPU time of a process (all its threads), with its reaped children's if
    ``children``; 0 for a process that is gone."""
    fields = _stat(pid)
    if fields is None:
        return 0.0
    ticks = int(fields[11]) + int(fields[12])  # utime, stime
    if children:
        ticks += int(fields[13]) + int(fields[14])  # cutime, cstime
    return ticks / _TICK


def session_cpu(sid: int) -> float:
    """CPU time of every process of session ``sid`` (a ``hub serve`` and its workers), with
    the children the leader has reaped."""
    total = 0.0
    for pid in _all_pids():
        fields = _stat(pid)
        if fields is not None and int(fields[3]) == sid:
            total += cpu_seconds(pid, children=pid == sid)
    return total


def postgres_pids() -> set[int]:
    out = set()
    for pid in _all_pids():
        with contextlib.suppress(OSError):
            if Path(f"/proc/{pid}/comm").read_text().strip() == "postgres":
                out.add(pid)
    return out


@dataclass
class CpuSnapshot:
    server: float
    backends: dict[int, float]  # this server's PostgreSQL backends
    postgres: dict[int, float]  # every postgres process


def snapshot(hub: HubProcess, admin: psycopg.Connection[Any], app_name: str) -> CpuSnapshot:
    backends = {
        int(pid): cpu_seconds(int(pid))
        for (pid,) in admin.execute(
            "SELECT pid FROM pg_stat_activity WHERE application_name = %s", (app_name,)
        )
    }
    return CpuSnapshot(
        server=session_cpu(hub.pid),
        backends=backends,
        postgres={pid: cpu_seconds(pid) for pid in postgres_pids()},
    )


def cpu_delta(before: CpuSnapshot, after: CpuSnapshot) -> tuple[float, float, float]:
    """Server, this server's backends, other postgres processes: CPU seconds between two
    snapshots. A backend that appeared in between counts whole (it connected meanwhile)."""
    backends = sum(cpu - before.backends.get(pid, 0.0) for pid, cpu in after.backends.items())
    postgres = sum(
        cpu - before.postgres.get(pid, 0.0)
        for pid, cpu in after.postgres.items()
        if pid not in after.backends
    )
    return after.server - before.server, backends, postgres


# -- the httpx generator (for comparison) ------------------------------------------------------


def run_httpx(
    base: str, requests: Sequence[tuple[str, str, dict[str, str], bytes | None]], **kw: Any
) -> PhaseResult:
    import asyncio

    import httpx

    from bench.http_load import _cpu

    async def drive(clients: int, seconds: float) -> PhaseResult:
        latencies: list[float] = []
        other: dict[int, int] = {}
        failed = issued = 0
        deadline = time.perf_counter() + seconds
        limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
        async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:

            async def worker() -> None:
                nonlocal issued, failed
                while issued < len(requests) and time.perf_counter() < deadline:
                    method, target, headers, body = requests[issued]
                    issued += 1
                    start = time.perf_counter()
                    try:
                        r = await client.request(method, target, headers=headers, content=body)
                    except httpx.HTTPError:
                        failed += 1
                        continue
                    if r.status_code == 200:
                        latencies.append(time.perf_counter() - start)
                    else:
                        other[r.status_code] = other.get(r.status_code, 0) + 1

            cpu0, start = _cpu(), time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(clients)))
            elapsed, cpu = time.perf_counter() - start, _cpu() - cpu0
        latencies.sort()
        return PhaseResult(latencies, other, failed, elapsed, cpu)

    return asyncio.run(drive(kw["clients"], kw["seconds"]))


# -- the benchmark -----------------------------------------------------------------------------

#: One request as (method, target, headers, body).
Spec = tuple[str, str, dict[str, str], bytes | None]


@dataclass
class Server:
    label: str
    src: str | None
    app: str | None = None  # an ASGI app served instead of the hub (the baseline)
    app_name: str = ""
    hub: HubProcess | None = None
    baseline: bool = False  # bench/status_raw.py: status queries only
    env: dict[str, str] = field(default_factory=dict)
    timing: Path | None = None  # its workers' server_timing figures


def _configure(server: Server, args: Any) -> None:
    """``--set`` settings of ``server``, and with ``--timing`` its app wrapped by
    bench/server_timing.py (the hub served by uvicorn as ``hub serve`` serves it)."""
    for item in args.set:
        label, _, setting = item.partition(":")
        key, sep, value = setting.partition("=")
        if not sep:
            raise SystemExit(f"--set {item}: give LABEL:KEY=VALUE")
        if label == server.label:
            server.env[key] = value
    if args.timing:
        server.timing = Path(tempfile.mkdtemp(prefix=f"timing_{server.label}_"))
        server.env["BENCH_TIMING_DIR"] = str(server.timing)
        server.app = "bench.server_timing:raw" if server.baseline else "bench.server_timing:hub"


def _parse_server(raw: str) -> Server:
    label, sep, src = raw.partition("=")
    if not sep or not label or not src:
        raise argparse.ArgumentTypeError("give --server LABEL=SRC, e.g. before=/tmp/base/src")
    return Server(label=label, src=str(Path(src).resolve()))


def _check_sources(server: Server) -> str:
    """Where ``import healthcode`` leads with this server's PYTHONPATH (printed, to be sure)."""
    env = {**os.environ, **({"PYTHONPATH": server.src} if server.src else {})}
    done = subprocess.run(
        [sys.executable, "-c", "import healthcode; print(healthcode.__file__)"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--clients", type=int, default=32)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--max-requests", type=int, default=20_000)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--people", type=int, default=2_000)
    ap.add_argument("--generator", choices=("raw", "httpx"), default="raw")
    ap.add_argument("--generator-cpu", type=int, default=None, help="default the last CPU")
    ap.add_argument("--server-cpus", default=None, help="taskset -c list; default not pinned")
    ap.add_argument("--server", type=_parse_server, action="append", dest="servers")
    ap.add_argument("--phases", default=",".join(PHASES), help="comma-separated subset")
    ap.add_argument("--raw", action="store_true", help="serve bench/status_raw.py beside")
    ap.add_argument("--codes", type=int, default=0, help="fill up to N codes in all")
    ap.add_argument(
        "--warm-up",
        type=float,
        default=0.0,
        help="seconds of keyed submissions to each server first, then ANALYZE (not reported)",
    )
    ap.add_argument("--timing", action="store_true", help="server-side figures (server_timing)")
    ap.add_argument("--set", action="append", default=[], metavar="LABEL:KEY=VALUE")
    ap.add_argument("--url", default=DEFAULT_URL)
    args = ap.parse_args()
    servers: list[Server] = args.servers or [Server(label="this", src=None)]
    if args.raw:
        servers.append(Server(label="raw", src=None, app="bench.status_raw:app", baseline=True))
    for server in servers:
        _configure(server, args)
    phases = [p for p in args.phases.split(",") if p]
    if unknown := set(phases) - set(PHASES):
        ap.error(f"unknown phases {sorted(unknown)}")

    cpus = sorted(os.sched_getaffinity(0))
    generator_cpu = cpus[-1] if args.generator_cpu is None else args.generator_cpu
    submits = len([p for p in phases if p.startswith("submit")]) + (1 if args.warm_up else 0)
    n_records = args.max_requests * args.reps * len(servers) * submits
    records = [
        json.dumps(r, ensure_ascii=False).encode()
        for r in nat_records(n_records, seed=11, prefix="L")
    ]
    rng = random.Random(3)
    with (
        pg_schema(args.url) as schema,
        psycopg.connect(args.url, autocommit=True) as admin,
        contextlib.ExitStack() as stack,
    ):
        url = schema_url(args.url, schema)
        tokens, serials, pseudonyms = prepare(url, args.people)
        fill(url, args.codes, len(serials))
        lab = {"Authorization": f"Bearer {tokens['lab']}", "Content-Type": "application/json"}
        checkpoint = {"Authorization": f"Bearer {tokens['checkpoint']}"}
        sent = 0

        def specs(name: str) -> list[Spec]:
            nonlocal sent
            n = args.max_requests
            if name.startswith("submit"):
                first, chunk, sent = sent, records[sent : sent + n], sent + n
                if name == "submit":
                    return [("POST", "/v1/records/nat", lab, body) for body in chunk]
                return [
                    ("POST", "/v1/records/nat", {**lab, "Idempotency-Key": f"k-{first + i}"}, body)
                    for i, body in enumerate(chunk)
                ]
            if name == "status/serial":
                return [
                    ("GET", f"/v1/status/{quote(rng.choice(serials))}", checkpoint, None)
                    for _ in range(n)
                ]
            targets = (
                "/v1/status?" + urlencode({"pseudonym": rng.choice(pseudonyms)}) for _ in range(n)
            )
            return [("GET", target, checkpoint, None) for target in targets]

        for server in servers:
            server.app_name = f"{schema}_{server.label}"[:63]
            server_url = f"{url}&application_name={quote(server.app_name)}"
            server.hub = stack.enter_context(
                hub_process(
                    server_url,
                    workers=args.workers,
                    pythonpath=server.src,
                    cpus=args.server_cpus,
                    app=server.app,
                    env={
                        "BENCH_RAW_DATABASE_URL": server_url.split("+psycopg", 1)[-1],
                        **server.env,
                    },
                )
            )
            if server.timing is not None:
                stack.callback(shutil.rmtree, server.timing, True)
            print(f"server {server.label}: {_check_sources(server)}")
        if generator_cpu >= 0:
            os.sched_setaffinity(0, {generator_cpu})
        print(
            f"hub serve --workers {args.workers} (CPUs {args.server_cpus or 'not pinned'}); "
            f"generator {args.generator}, {args.clients} connections, CPU "
            f"{generator_cpu if generator_cpu >= 0 else 'not pinned'} of {cpus}; phases of at "
            f"most {args.seconds:g} s or {args.max_requests:,} requests; "
            f"{max(args.codes, len(serials)):,} codes"
        )
        if args.warm_up:
            _warm_up(servers, admin, specs, args)
        results: dict[tuple[str, str], list[dict[str, float]]] = {}
        floor = submit_floor.script(url, tokens["lab"]) if "floor" in phases else ""
        for rep in range(args.reps):
            order = phases if rep % 2 == 0 else phases[::-1]
            for name in order:
                if name == "floor":
                    time.sleep(0.5)
                    r = submit_floor.pgbench_phase(
                        args.url,
                        schema,
                        floor,
                        clients=args.clients,
                        seconds=args.seconds,
                        cpu=generator_cpu,
                    )
                    results.setdefault(("pgbench", name), []).append(r)
                    print(f"rep {rep + 1} {'pgbench':<8} {name:<17}: {_line(r)}")
                    continue
                for server in servers if rep % 2 == 0 else servers[::-1]:
                    if server.baseline and name.startswith("submit"):
                        continue
                    r = _phase(server, admin, specs(name), args)
                    results.setdefault((server.label, name), []).append(r)
                    print(f"rep {rep + 1} {server.label:<8} {name:<17}: {_line(r)}")
        print("medians:")
        for (label, name), rs in results.items():
            med = {k: statistics.median(r[k] for r in rs) for k in rs[0]}
            med["errors"] = sum(r["errors"] for r in rs)
            print(f"{label:<8} {name:<17}: {_line(med)}")


def _warm_up(servers: list[Server], admin: psycopg.Connection[Any], specs: Any, args: Any) -> None:
    """Keyed submissions to each server for ``--warm-up`` seconds, then ``ANALYZE``: the
    measured phases start on tables that hold rows and statistics, as a running hub's do, and
    not on fresh ones, whose plans (prepared while a table is nearly empty) grow with it until
    autovacuum's first analyze."""
    measured = args.seconds
    args.seconds = args.warm_up
    try:
        for server in servers:
            if not server.baseline:
                r = _phase(server, admin, specs("submit/keyed"), args)
                print(f"warm-up {server.label}: {r['ok']:,.0f} keyed submissions")
    finally:
        args.seconds = measured
    admin.execute("ANALYZE")


def _phase(
    server: Server, admin: psycopg.Connection[Any], specs: list[Spec], args: Any
) -> dict[str, float]:
    assert server.hub is not None
    hub = server.hub
    host = f"{hub.host}:{hub.port}"
    built = [request_bytes(m, t, host=host, headers=h.items(), body=b) for m, t, h, b in specs]
    time.sleep(0.5)  # let the previous phase's stragglers finish
    before = snapshot(hub, admin, server.app_name)
    timing = server_timing.read_totals(server.timing) if server.timing else {}
    if args.generator == "raw":
        result = run(hub.host, hub.port, built, clients=args.clients, seconds=args.seconds)
    else:
        result = run_httpx(hub.base, specs, clients=args.clients, seconds=args.seconds)
    after = snapshot(hub, admin, server.app_name)
    server_cpu, pg_cpu, pg_other = cpu_delta(before, after)
    n = max(result.answered, 1)
    lat = result.latencies
    figures = {}
    if server.timing:
        time.sleep(server_timing.FLUSH * 2)
        figures = server_timing.summary(
            server_timing.difference(server_timing.read_totals(server.timing), timing), n
        )
    return {
        **figures,
        "rate": result.ok / result.elapsed,
        "p50": percentile(lat, 0.50) * 1000,
        "p99": percentile(lat, 0.99) * 1000,
        "ok": result.ok,
        "errors": result.failed + sum(result.other.values()),
        "server_us": server_cpu / n * 1e6,
        "pg_us": pg_cpu / n * 1e6,
        "pg_other_us": pg_other / n * 1e6,
        "client_us": result.client_cpu / n * 1e6,
    }


def _line(r: dict[str, float]) -> str:
    inside = server_timing.line(r) if "app_p99" in r else ""
    return inside + (
        f"{r['rate']:>7,.0f} req/s  p50 {r['p50']:6.1f} ms  p99 {r['p99']:6.1f} ms  "
        f"CPU-µs/req server {r['server_us']:5,.0f} pg {r['pg_us']:4,.0f} "
        f"pg-other {r['pg_other_us']:4,.0f} client {r['client_us']:4,.0f}  "
        f"({r['ok']:,.0f} ok, {r['errors']:.0f} errors)"
    )


if __name__ == "__main__":
    main()
