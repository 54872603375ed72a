"""Grid task latency: from a fact accepted at the hub to the risk person's task in their grid.

The hub (``healthcode hub serve``, PostgreSQL in a schema made and dropped here) and one
province (``healthcode province serve --region 440000``, its own SQLite file, the feed's long
poll) run as separate processes on loopback, with a grid unit for 440106 and one grid worker.
One probe after another: a close contact of a person the province holds (living in 440106) is
submitted to the hub (``POST /v1/records/contact``); from the hub's answer the probe polls,
every ``--poll-ms``, the person's ``GET /v1/me`` until it shows red (the baseline: the colour
change, as ``bench.transcoding`` measures it) and the grid worker's ``GET /v1/grid/tasks``
until the task is listed, both in the same loop, so the two latencies come from the same
probes. The task is made in the transaction of the colour change, so the difference is the
poll and the task list's read.

    .venv/bin/python -m bench.grid_tasks --probes 40
"""

from __future__ import annotations

import argparse
import tempfile
import time
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from bench.hub_common import DEFAULT_URL, hub_process, percentile
from bench.scratch import pg_schema, schema_url
from bench.transcoding import _probe_people, _province, _tokens
from healthcode.core.clock import SystemClock
from healthcode.province.grid.units import Unit, load_units
from healthcode.province.staff import StaffService
from healthcode.store.db import Database
from healthcode.store.retry import run_write


def _grid(folder: Path) -> str:
    """A grid unit for 440106 and its worker in the province's database; the worker's token."""
    db = Database.from_url(f"sqlite:///{folder / 'province-long-poll.db'}")
    try:
        now = SystemClock().now()
        run_write(db, lambda s: load_units(s, [Unit("440106", "TH-01", "天河一")], now))
        staff = StaffService(db=db, clock=SystemClock(), province="440000")
        _, token = staff.add(
            name="网格员", roles=["grid-worker"], region_code="440106", grid_id="TH-01"
        )
        return token
    finally:
        db.dispose()


def _probe(hub_url: str, url: str, cdc: str, worker: str, number: str, person: Any, i: int,
           args: Any) -> tuple[float, float]:  # fmt: skip
    """(fact -> red at /v1/me, fact -> task listed) in seconds."""
    now = datetime.now(UTC)
    record = {
        "record_id": f"G-{i}",
        "id_number": number,
        "kind": "close",
        "last_exposure_at": (now - timedelta(hours=6)).isoformat(timespec="seconds"),
        "identified_at": (now - timedelta(minutes=1)).isoformat(timespec="seconds"),
    }
    me = {"Authorization": f"Bearer {person['token']}"}
    grid = {"Authorization": f"Bearer {worker}"}
    red = task = None
    with httpx.Client(timeout=30) as client:
        r = client.post(hub_url + "/v1/records/contact", json=record,
                        headers={"Authorization": f"Bearer {cdc}"})  # fmt: skip
        accepted = time.perf_counter()
        assert r.status_code in (200, 201), r.text
        while red is None or task is None:
            if red is None and client.get(url + "/v1/me", headers=me).json()["colour"] == "red":
                red = time.perf_counter() - accepted
            if task is None:
                listed = client.get(url + "/v1/grid/tasks", headers=grid).json()["tasks"]
                if any(t["pseudonym"] == person["pseudonym"] for t in listed):
                    task = time.perf_counter() - accepted
            if time.perf_counter() - accepted > 60:
                raise AssertionError("no red or no task within 60 s")
            time.sleep(args.poll_ms / 1000)
    time.sleep(args.gap)
    return red, task


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--probes", type=int, default=40)
    parser.add_argument("--poll-ms", type=float, default=5.0)
    parser.add_argument("--gap", type=float, default=0.2, help="seconds between probes")
    parser.add_argument("--url", default=DEFAULT_URL)
    args = parser.parse_args()
    args.feed_wait, args.pull_seconds = 2.0, 0.2
    with ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="hc-grid-")))
        url = schema_url(args.url, stack.enter_context(pg_schema(args.url, prefix="bench_grid")))
        hub = stack.enter_context(hub_process(url))
        tokens = _tokens(url)
        cdc = _org(url, "disease-control", "440106")
        proc, province = _province(folder, hub.base, tokens["gd"], "long-poll", args)
        try:
            worker = _grid(folder)
            people = []
            for number in _probe_people(args.probes, seed=7):
                body = {"id_number": number, "name": "张三丰", "phone": "13812345678",
                        "residence_region": "440106"}  # fmt: skip
                people.append((number, httpx.post(province + "/v1/applications", json=body).json()))
            pairs = [_probe(hub.base, province, cdc, worker, n, p, i, args)
                     for i, (n, p) in enumerate(people)]  # fmt: skip
        finally:
            proc.terminate()
            proc.wait(30)
    reds, tasks = sorted(r for r, _ in pairs), sorted(t for _, t in pairs)
    p50r, p50t = percentile(reds, 0.5), percentile(tasks, 0.5)
    print(f"hub {hub.base} (PostgreSQL), province 440000 (SQLite, long poll), loopback")
    print(f"fact -> red at /v1/me   : {len(reds)} probes, p50 {p50r * 1e3:.0f} ms, "
          f"p99 {percentile(reds, 0.99) * 1e3:.0f} ms, max {reds[-1] * 1e3:.0f} ms")  # fmt: skip
    print(f"fact -> task in the grid: {len(tasks)} probes, p50 {p50t * 1e3:.0f} ms, "
          f"p99 {percentile(tasks, 0.99) * 1e3:.0f} ms, max {tasks[-1] * 1e3:.0f} ms")  # fmt: skip
    print(f"task / red: p50 {p50t / p50r:.2f}x, "
          f"p99 {percentile(tasks, 0.99) / percentile(reds, 0.99):.2f}x")  # fmt: skip


def _org(url: str, kind: str, region: str) -> str:
    from bench.hub_common import ENV
    from healthcode.config import Settings
    from healthcode.hub.services import Hub

    db = Database.from_url(url)
    try:
        hub = Hub.build(settings=Settings.from_env({**ENV, "HEALTHCODE_DATABASE_URL": url}), db=db)
        return hub.orgs.add(kind=kind, region_code=region, name=f"bench {kind}")[1]
    finally:
        db.dispose()


if __name__ == "__main__":
    main()
