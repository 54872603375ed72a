"""What a server process itself adds to a request's latency, seen from inside the process.

    BENCH_TIMING_DIR=/tmp/t uvicorn bench.server_timing:hub --workers 2   # the hub
    BENCH_TIMING_DIR=/tmp/t uvicorn bench.server_timing:raw --workers 2   # bench/status_raw.py

``Timed`` wraps an ASGI app and keeps, per worker process, cumulative histograms of:

- **app**: from the moment the app is called with a request to the moment the last byte of
  its answer is handed to the server (the work of the request, and its waits for a database
  connection and for the event loop while other requests run);
- **lag**: how late a timer set every ``TICK`` seconds fires (the event loop busy with
  something else: other requests, a blocking call, a garbage collection); a request that
  arrives meanwhile waits that long before anyone reads it;
- **gc**: each garbage collection's pause, by generation (``gc.callbacks``).

Each worker writes its figures to ``$BENCH_TIMING_DIR/<pid>.json`` every ``FLUSH`` seconds
(atomically); a benchmark reads every file before and after a phase and subtracts
(``read_totals``, ``difference``). The load generator's latency minus these is the time spent
outside the process: the sockets, and the generator's own scheduling on shared cores.

``BENCH_GC_FREEZE=1`` calls ``gc.freeze()`` at the first request (the objects of start-up out
of the collector's sight), to measure what that does before the hub does it itself.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import gc
import json
import os
import time
from pathlib import Path
from typing import Any

__all__ = ["BOUNDS_MS", "Timed", "difference", "line", "quantile", "read_totals", "summary", "top"]

#: Upper bounds of the histograms' buckets, milliseconds (the last bucket is everything above).
BOUNDS_MS = [
    *(0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1.0, 1.25, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0),
    *(10.0, 12.5, 15.0, 20.0, 25.0, 30.0, 40.0, 50.0, 60.0, 80.0, 100.0, 150.0, 200.0),
    *(300.0, 500.0, 1000.0),
]
TICK = 0.005
FLUSH = 0.5


class _Histogram:
    def __init__(self) -> None:
        self.counts = [0] * (len(BOUNDS_MS) + 1)
        self.total_ms = 0.0
        self.max_ms = 0.0

    def add(self, ms: float) -> None:
        self.counts[bisect.bisect_left(BOUNDS_MS, ms)] += 1
        self.total_ms += ms
        self.max_ms = max(self.max_ms, ms)

    def as_dict(self) -> dict[str, Any]:
        return {"counts": self.counts, "total_ms": self.total_ms, "max_ms": self.max_ms}


class Timed:
    """ASGI middleware keeping the figures of the module docstring for ``app``."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.hist = {"app": _Histogram(), "lag": _Histogram()}
        self.gc = {g: _Histogram() for g in (0, 1, 2)}
        self._gc_started = 0.0
        self._started = False
        self._watcher: asyncio.Task[None] | None = None
        gc.callbacks.append(self._on_gc)

    def _on_gc(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._gc_started = time.perf_counter()
        else:
            self.gc[info["generation"]].add((time.perf_counter() - self._gc_started) * 1000)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if not self._started:
            self._start()
        started = time.perf_counter()

        async def timed_send(message: Any) -> None:
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body"):
                self.hist["app"].add((time.perf_counter() - started) * 1000)

        await self.app(scope, receive, timed_send)

    def _start(self) -> None:
        self._started = True
        if os.environ.get("BENCH_GC_FREEZE") == "1":
            gc.collect()
            gc.freeze()
        self._watcher = asyncio.get_running_loop().create_task(self._watch())

    async def _watch(self) -> None:
        folder = Path(os.environ.get("BENCH_TIMING_DIR", "/tmp/bench_timing"))
        folder.mkdir(parents=True, exist_ok=True)
        out, flushed = folder / f"{os.getpid()}.json", time.perf_counter()
        while True:
            planned = time.perf_counter() + TICK
            await asyncio.sleep(TICK)
            now = time.perf_counter()
            self.hist["lag"].add(max(0.0, now - planned) * 1000)
            if now - flushed >= FLUSH:
                flushed = now
                self._write(out)

    def _write(self, out: Path) -> None:
        figures = {name: h.as_dict() for name, h in self.hist.items()}
        figures.update({f"gc{g}": h.as_dict() for g, h in self.gc.items()})
        tmp = out.with_suffix(".tmp")
        tmp.write_text(json.dumps(figures))
        tmp.replace(out)


def read_totals(folder: Path) -> dict[str, dict[str, Any]]:
    """The figures of every worker in ``folder``, added up (max: the largest)."""
    total: dict[str, dict[str, Any]] = {}
    for path in folder.glob("*.json"):
        with contextlib.suppress(OSError, ValueError):
            for name, h in json.loads(path.read_text()).items():
                t = total.setdefault(
                    name, {"counts": [0] * len(h["counts"]), "total_ms": 0.0, "max_ms": 0.0}
                )
                t["counts"] = [a + b for a, b in zip(t["counts"], h["counts"], strict=True)]
                t["total_ms"] += h["total_ms"]
                t["max_ms"] = max(t["max_ms"], h["max_ms"])
    return total


def difference(
    after: dict[str, dict[str, Any]], before: dict[str, dict[str, Any]]
) -> dict[str, dict[str, Any]]:
    """``after`` less ``before`` (a phase's own figures; its max is the run's so far)."""
    out = {}
    for name, h in after.items():
        b = before.get(name, {"counts": [0] * len(h["counts"]), "total_ms": 0.0})
        counts = [x - y for x, y in zip(h["counts"], b["counts"], strict=True)]
        total = h["total_ms"] - b["total_ms"]
        out[name] = {"counts": counts, "total_ms": total, "max_ms": h["max_ms"]}
    return out


def quantile(h: dict[str, Any], q: float) -> float:
    """The upper bound (ms) of the bucket holding the ``q`` quantile; inf past the last."""
    n = sum(h["counts"])
    if n == 0:
        return float("nan")
    seen = 0
    for i, c in enumerate(h["counts"]):
        seen += c
        if seen >= q * n:
            return BOUNDS_MS[i] if i < len(BOUNDS_MS) else float("inf")
    return float("inf")


def _hub() -> Any:
    from healthcode.cli.hub import app_from_env

    return Timed(app_from_env())


def _raw() -> Any:
    from bench.status_raw import app

    return Timed(app)


def __getattr__(name: str) -> Any:  # the app is built when uvicorn asks for it, not at import
    if name == "hub":
        return _hub()
    if name == "raw":
        return _raw()
    raise AttributeError(name)


def top(h: dict[str, Any]) -> float:
    """The upper bound (ms) of the highest bucket with a count (0 if none; inf past the last)."""
    for i in range(len(h["counts"]) - 1, -1, -1):
        if h["counts"][i]:
            return BOUNDS_MS[i] if i < len(BOUNDS_MS) else float("inf")
    return 0.0


def summary(figures: dict[str, dict[str, Any]], requests: int) -> dict[str, float]:
    """A phase's figures as numbers: app time p50/p99/max, loop lag p99/max, collections of
    each generation (count, total ms a 1,000 requests, longest)."""
    out: dict[str, float] = {}
    if "app" not in figures:
        return out
    app, lag = figures["app"], figures["lag"]
    out |= {"app_p50": quantile(app, 0.5), "app_p99": quantile(app, 0.99)}
    out |= {"app_max": top(app), "lag_p99": quantile(lag, 0.99), "lag_max": top(lag)}
    for g in (0, 1, 2):
        h = figures[f"gc{g}"]
        out[f"gc{g}_n"] = sum(h["counts"])
        out[f"gc{g}_ms_per_1k"] = h["total_ms"] / max(requests, 1) * 1000
        out[f"gc{g}_max"] = top(h)
    return out


def line(r: dict[str, float]) -> str:
    """The server-side part of a bench line."""
    return (
        f"[in process: app p50 <={r['app_p50']:g} p99 <={r['app_p99']:g} max <={r['app_max']:g} ms;"
        f" loop lag p99 <={r['lag_p99']:g} max <={r['lag_max']:g} ms; gc2 {r['gc2_n']:.0f}x max"
        f" <={r['gc2_max']:g} ms, gc1 {r['gc1_n']:.0f}x max <={r['gc1_max']:g}, gc all"
        f" {r['gc0_ms_per_1k'] + r['gc1_ms_per_1k'] + r['gc2_ms_per_1k']:.1f} ms/1k req]\n    "
    )
