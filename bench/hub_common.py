"""Shared parts of the hub benchmarks: valid NAT records and a ``healthcode hub serve``
subprocess on a free loopback port (a throw-away PostgreSQL schema is ``bench/scratch.py``).

Everything stays on the local machine: the database URL defaults to the test server
(``postgresql://postgres@127.0.0.1:5432/test``, or ``HEALTHCODE_TEST_DATABASE_URL``) and every
schema made here is dropped again; the server listens on 127.0.0.1 only.
"""

from __future__ import annotations

import base64
import contextlib
import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from healthcode.core import regions
from healthcode.core.identity import check_digit

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_URL = os.environ.get(
    "HEALTHCODE_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
#: Fixed bench keys (never used outside these benchmarks).
KEY = base64.b64encode(bytes(range(32))).decode()
ENV = {"HEALTHCODE_FIELD_KEY": KEY, "HEALTHCODE_PSEUDONYM_KEY": KEY}
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英"


def resident_id(rng: random.Random, counties: list[str]) -> str:
    """A valid 18-digit resident ID number: a real county, a birth date, a sequence, the check
    character of core.identity."""
    birth = datetime(1940, 1, 1) + timedelta(days=rng.randrange(0, 365 * 65))
    body = f"{rng.choice(counties)}{birth:%Y%m%d}{rng.randrange(1000):03d}"
    return body + check_digit(body)


def nat_records(n: int, *, seed: int = 1, prefix: str = "S") -> list[dict[str, Any]]:
    """``n`` valid NAT results of distinct people (sampled in the last 40 hours), as a lab would
    send them: sample id, ID number, name, phone, times, result, pooling."""
    rng = random.Random(seed)
    counties = [r.code for r in regions.all_regions("county")]
    now = datetime.now(UTC)
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    while len(out) < n:
        number = resident_id(rng, counties)
        if number in seen:
            continue
        seen.add(number)
        sampled = now - timedelta(minutes=rng.randrange(120, 2400))
        pooled = rng.random() < 0.3
        record: dict[str, Any] = {
            "record_id": f"{prefix}-{len(out):09d}",
            "id_number": number,
            "name": rng.choice(SURNAMES) + "".join(rng.choices(GIVEN, k=rng.choice((1, 2)))),
            "phone": f"1{rng.choice('3578')}{rng.randrange(10**9):09d}",
            "sampled_at": sampled.isoformat(timespec="seconds"),
            "resulted_at": (sampled + timedelta(minutes=rng.randrange(60, 110))).isoformat(
                timespec="seconds"
            ),
            "result": "positive" if rng.random() < 0.001 else "negative",
            "sample_type": "oropharyngeal",
            "pooling": "pooled" if pooled else "single",
        }
        if pooled:
            record["pool_size"] = rng.choice((5, 10, 20))
        out.append(record)
    return out


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class HubProcess:
    """A running ``hub serve``: its base URL, host, port, and the pid of its session leader
    (every worker process is in that session)."""

    base: str
    host: str
    port: int
    pid: int


@contextlib.contextmanager
def hub_process(
    database_url: str,
    *,
    workers: int = 1,
    timeout: float = 60.0,
    pythonpath: str | None = None,
    cpus: str | None = None,
    env: dict[str, str] | None = None,
    app: str | None = None,
) -> Iterator[HubProcess]:
    """``healthcode hub serve`` as a subprocess on 127.0.0.1:<free port>, in a session of its
    own; yields it once ``/v1/health`` answers, and stops it (SIGINT, then SIGKILL) at the end.

    ``pythonpath`` runs other sources (e.g. a worktree of an older commit) instead of the
    inherited ``PYTHONPATH``; ``cpus`` (a ``taskset -c`` list such as ``"0"``) pins the server
    and its workers to those CPUs; ``env`` adds settings. ``app`` (``module:attribute``) serves
    that ASGI app with uvicorn instead, with the options ``hub serve`` gives uvicorn (a
    baseline such as ``bench.status_raw:app``).
    """
    port = free_port()
    env = {**os.environ, **ENV, "HEALTHCODE_DATABASE_URL": database_url, **(env or {})}
    if pythonpath is not None:
        env["PYTHONPATH"] = pythonpath
    if app is None:
        cmd = [str(Path(sys.executable).parent / "healthcode"), "hub", "serve"]
    else:
        cmd = [sys.executable, "-m", "uvicorn", app, "--log-level", "warning", "--no-access-log"]
    cmd += ["--host", "127.0.0.1", "--port", str(port)]
    if workers != 1:
        cmd += ["--workers", str(workers)]
    if cpus is not None:
        cmd = ["taskset", "-c", cpus, *cmd]  # taskset execs the server: the pid stays
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"hub serve exited with {proc.returncode}")
            try:
                if httpx.get(f"{base}/v1/health", timeout=1.0).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("hub serve did not answer /v1/health in time")
            time.sleep(0.2)
        yield HubProcess(base=base, host="127.0.0.1", port=port, pid=proc.pid)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGINT)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


@contextlib.contextmanager
def hub_server(database_url: str, *, workers: int = 1, timeout: float = 60.0) -> Iterator[str]:
    """``hub_process`` that yields only the base URL."""
    with hub_process(database_url, workers=workers, timeout=timeout) as hub:
        yield hub.base


def percentile(sorted_values: list[float], q: float) -> float:
    """The ``q`` quantile (0..1) of already sorted values, nearest rank."""
    if not sorted_values:
        return float("nan")
    k = min(len(sorted_values) - 1, max(0, round(q * len(sorted_values) + 0.5) - 1))
    return sorted_values[k]
