"""Transcoding latency: from a fact accepted at the hub to the new colour at the province.

The hub (``healthcode hub serve``, PostgreSQL in a schema made and dropped here) and one
province (``healthcode province serve --region 440000``, its own SQLite file) run as separate
processes on loopback. A steady ingest load of other people's NAT results goes to the hub
(``--rate`` records a second, in batches every 0.1 s, from every county of the country: those
of Guangdong reach the province's feed too). Meanwhile, one probe after another: a positive
NAT of a person the province holds is submitted (``POST /v1/records/nat``); the latency runs
from the hub's answer to the first ``GET /v1/me`` of the person at the province that shows red
(polled every ``--poll-ms``). The province reads its feed with the long poll
(``HEALTHCODE_PROVINCE_FEED_WAIT_SECONDS``, ``--feed-wait``), or, with ``--feed-wait 0``, by
polling (``HEALTHCODE_PROVINCE_PULL_SECONDS``, ``--pull-seconds``); ``--modes`` runs both in
turn for a side-by-side figure.

    .venv/bin/python -m bench.transcoding --probes 60 --rate 500 --modes long-poll,poll
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from bench.hub_common import (
    DEFAULT_URL,
    ENV,
    free_port,
    hub_process,
    nat_records,
    percentile,
)
from bench.scratch import pg_schema, schema_url
from healthcode.config import Settings
from healthcode.core.identity import check_digit
from healthcode.hub.services import Hub
from healthcode.store.db import Database

PROVINCE_KEY = "ZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXp7fH1+f4CBgoM="  # 32 bench bytes, base64
ROOT = Path(__file__).resolve().parents[1]


def _tokens(url: str) -> dict[str, str]:
    db = Database.from_url(url)
    try:
        hub = Hub.build(settings=Settings.from_env({**ENV, "HEALTHCODE_DATABASE_URL": url}), db=db)
        kinds = {"lab": ("lab", "440106"), "load": ("lab", "110105"), "gd": ("province", "440000")}
        return {
            name: hub.orgs.add(kind=k, region_code=r, name=f"bench {name}")[1]
            for name, (k, r) in kinds.items()
        }
    finally:
        db.dispose()


def _province(folder: Path, hub_url: str, token: str, mode: str, args: Any) -> tuple[Any, str]:
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT / "src"),
        "HEALTHCODE_PROVINCE_REGION": "440000",
        "HEALTHCODE_PROVINCE_FIELD_KEY": PROVINCE_KEY,
        "HEALTHCODE_PROVINCE_DATABASE_URL": f"sqlite:///{folder / f'province-{mode}.db'}",
        "HEALTHCODE_PROVINCE_HUB_URL": hub_url,
        "HEALTHCODE_PROVINCE_HUB_TOKEN": token,
        "HEALTHCODE_PROVINCE_FEED_WAIT_SECONDS": str(args.feed_wait if mode == "long-poll" else 0),
        "HEALTHCODE_PROVINCE_PULL_SECONDS": str(args.pull_seconds),
        "HEALTHCODE_PROVINCE_RULES_SECONDS": "3600",
    }
    log = (folder / f"province-{mode}.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "healthcode.cli.main", "province", "serve", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(url + "/v1/health").status_code == 200:
                return proc, url
        except httpx.HTTPError:
            if time.monotonic() > deadline or proc.poll() is not None:
                raise
            time.sleep(0.1)


def _load(hub_url: str, token: str, rate: int, stop: threading.Event, sent: list[int]) -> None:
    """``rate`` records a second, a batch every 0.1 s, until ``stop``."""
    per_batch = max(1, rate // 10)
    pool = nat_records(per_batch * 50, seed=random.randrange(1 << 30), prefix="L")
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=hub_url, headers=headers, timeout=60) as client:
        n = 0
        next_at = time.monotonic()
        while not stop.is_set():
            start = (n * per_batch) % len(pool)
            batch = [
                {**r, "record_id": f"L{n}-{j}"}
                for j, r in enumerate(pool[start : start + per_batch])
            ]
            n += 1
            r = client.post("/v1/records/nat/batch", json=batch)
            if r.status_code in (200, 201):
                sent[0] += len(batch)
            next_at += 0.1
            stop.wait(max(0.0, next_at - time.monotonic()))


def _probe_people(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    out = set()
    while len(out) < n:
        body = f"440106{rng.randint(1950, 2005)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
        body += f"{rng.randint(0, 999):03d}"
        out.add(body + check_digit(body))
    return sorted(out)


def run_mode(folder: Path, hub_url: str, tokens: dict[str, str], mode: str, args: Any) -> None:
    proc, url = _province(folder, hub_url, tokens["gd"], mode, args)
    stop = threading.Event()
    sent = [0]
    loader = threading.Thread(
        target=_load, args=(hub_url, tokens["load"], args.rate, stop, sent), daemon=True
    )
    try:
        people = []
        for number in _probe_people(args.probes, seed=hash(mode) & 0xFFFF):
            body = {
                "id_number": number,
                "name": "张三丰",
                "phone": "13812345678",
                "residence_region": "440106",
            }
            people.append((number, httpx.post(url + "/v1/applications", json=body).json()))
        loader.start()
        time.sleep(2)  # the load in its stride
        started, sent_before = time.monotonic(), sent[0]
        latencies = [
            _probe(hub_url, url, tokens["lab"], n, p, i, mode, args)
            for i, (n, p) in enumerate(people)
        ]
        elapsed = time.monotonic() - started
    finally:
        stop.set()
        loader.join(30)
        proc.terminate()
        proc.wait(30)
    latencies.sort()
    how = f"feed wait {args.feed_wait} s" if mode == "long-poll" else f"pause {args.pull_seconds} s"
    print(
        f"{mode:9s} ({how}): "
        f"{len(latencies)} probes, p50 {percentile(latencies, 0.5) * 1e3:.0f} ms, "
        f"p99 {percentile(latencies, 0.99) * 1e3:.0f} ms, max {latencies[-1] * 1e3:.0f} ms; "
        f"ingest load {(sent[0] - sent_before) / max(elapsed, 1e-9):,.0f} records/s"
    )


def _probe(
    hub_url: str,
    url: str,
    lab: str,
    number: str,
    person: dict[str, Any],
    i: int,
    mode: str,
    args: Any,
) -> float:
    sampled = (datetime.now(UTC) - timedelta(hours=1)).isoformat(timespec="seconds")
    record = {
        "record_id": f"P-{mode}-{i}",
        "id_number": number,
        "sampled_at": sampled,
        "result": "positive",
    }
    me = {"Authorization": f"Bearer {person['token']}"}
    with httpx.Client(timeout=30) as client:
        r = client.post(
            hub_url + "/v1/records/nat", json=record, headers={"Authorization": f"Bearer {lab}"}
        )
        accepted = time.perf_counter()
        assert r.status_code in (200, 201), r.text
        while True:
            if client.get(url + "/v1/me", headers=me).json()["colour"] == "red":
                latency = time.perf_counter() - accepted
                break
            if time.perf_counter() - accepted > 60:
                raise AssertionError("no red within 60 s")
            time.sleep(args.poll_ms / 1000)
    time.sleep(args.gap)
    return latency


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--probes", type=int, default=60)
    parser.add_argument("--rate", type=int, default=500, help="records a second of other load")
    parser.add_argument("--feed-wait", type=float, default=2.0)
    parser.add_argument("--pull-seconds", type=float, default=0.2)
    parser.add_argument("--poll-ms", type=float, default=5.0)
    parser.add_argument("--gap", type=float, default=0.2, help="seconds between probes")
    parser.add_argument("--modes", default="long-poll,poll")
    parser.add_argument("--url", default=DEFAULT_URL)
    args = parser.parse_args()
    with ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="hc-transcode-")))
        url = schema_url(args.url, stack.enter_context(pg_schema(args.url, prefix="bench_tc")))
        hub = stack.enter_context(hub_process(url))
        tokens = _tokens(url)
        print(f"hub {hub.base} (PostgreSQL), province 440000 (SQLite), loopback")
        for mode in args.modes.split(","):
            run_mode(folder, hub.base, tokens, mode, args)


if __name__ == "__main__":
    main()
