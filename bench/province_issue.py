"""Code issuing through the province's service path, against a raw ES256 signature.

A person request: the person's token to the signed code text (``PersonTokens.pseudonym_of``,
then ``CodeService.issue``: what the person's colour state says, kept (``province/kept.py``)
or read in one statement and prepared, then the kept ``CodeIssuer`` signs; nothing written).
Both the kept path and the plain one (``states_kept`` 0: a read every request) are measured,
and ``issue_kept`` (what ``province/me_reads.py`` runs on the event loop for a kept person),
in-process, and, as a second figure, over HTTP against
``healthcode province serve`` in its own process (``GET /v1/me/code``, closed loop, keep-alive,
the load generator of ``bench/http_load.py``); with ``--app``, the same request through the
province's app called as ASGI in this process (its CPU time: the app's part of a request).
Beside them, in the same run: a raw ES256 sign of a code's Sig_structure with the same key
through the same library (``cryptography``), and the parts of the path (the signature with the
kept issuer and content, and through each state's template; the read and preparation alone).

Everything runs on loopback in a temporary folder: a hub database (SQLite) holding the trust
state and the key home, the province's own database (SQLite by default, or PostgreSQL with
``--province-url``, in a schema made and dropped here), people applied through the province's
own application service over an in-process hub.

    .venv/bin/python -m bench.province_issue --people 100 --seconds 1 --http-seconds 5 --cpu --app
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from datetime import timedelta
from pathlib import Path
from typing import Any

import anyio
import httpx
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from bench.http_load import request_bytes, run
from bench.hub_common import DEFAULT_URL, ENV, free_port
from bench.scratch import pg_schema, schema_url
from healthcode.config import ProvinceSettings, Settings
from healthcode.core.clock import FixedClock, SystemClock
from healthcode.core.codes.base45 import b45decode
from healthcode.core.codes.cose import sign1_decode
from healthcode.core.codes.native import PREFIX
from healthcode.core.identity import check_digit
from healthcode.core.trust.network import Network
from healthcode.hub.app import create_app as create_hub_app
from healthcode.hub.services import Hub
from healthcode.province.codes import CodeService
from healthcode.province.schema import upgrade as province_upgrade
from healthcode.province.service import ProvinceService
from healthcode.store.db import Database
from healthcode.store.migrate import upgrade as hub_upgrade
from healthcode.store.trust_state import SqlStateStore

PROVINCE_KEY = "ZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXp7fH1+f4CBgoM="  # 32 bench bytes, base64
ROOT = Path(__file__).resolve().parents[1]


class _InProcessHub(httpx.BaseTransport):
    """The hub's app called in-process from the province's synchronous client."""

    def __init__(self, app: Any) -> None:
        self._transport = httpx.ASGITransport(app=app)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        async def call() -> httpx.Response:
            response = await self._transport.handle_async_request(request)
            body = await response.aread()
            return httpx.Response(response.status_code, headers=response.headers, content=body)

        return anyio.run(call)


def _id_number(rng: random.Random) -> str:
    body = f"440106{rng.randint(1950, 2005)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
    body += f"{rng.randint(0, 999):03d}"
    return body + check_digit(body)


def best_rate(
    fns: dict[str, Callable[[int], object]],
    n: int,
    seconds: float,
    timer: Callable[[], float] = time.perf_counter,
) -> dict[str, float]:
    """Calls per second of each ``fn(i)``: batches of ``n`` in turn for about ``seconds`` each;
    the fastest batch of each counts (noise on a shared machine hits them alike). ``timer``:
    wall time, or this process's CPU time (``--cpu``: the in-process path runs no other thread,
    so other processes' load does not count)."""
    best = dict.fromkeys(fns, 0.0)
    spent = 0.0
    while spent < seconds * len(fns):
        for name, fn in fns.items():
            start = timer()
            for i in range(n):
                fn(i)
            elapsed = timer() - start
            spent += elapsed
            best[name] = max(best[name], n / elapsed)
    return best


def _province_env(folder: Path, url: str, hub_db: str, token: str) -> dict[str, str]:
    return {
        "HEALTHCODE_PROVINCE_REGION": "440000",
        "HEALTHCODE_PROVINCE_FIELD_KEY": PROVINCE_KEY,
        "HEALTHCODE_PROVINCE_DATABASE_URL": url,
        "HEALTHCODE_PROVINCE_HUB_URL": f"http://127.0.0.1:{free_port()}",  # nobody: loops idle
        "HEALTHCODE_PROVINCE_HUB_TOKEN": token,
        "HEALTHCODE_PROVINCE_TRUST_DATABASE_URL": hub_db,
        "HEALTHCODE_PROVINCE_RULES_SECONDS": "3600",
        "HEALTHCODE_HOME": str(folder / "keys"),
    }


def setup(folder: Path, province_url: str, people: int) -> tuple[ProvinceService, list[str], dict]:
    """The hub (trust state, key home), the province, ``people`` applied; their tokens."""
    hub_url = f"sqlite:///{folder / 'hub.db'}"
    hub_db = Database.from_url(hub_url)
    hub_upgrade(hub_db)
    clock = SystemClock()
    home = folder / "keys"
    start = FixedClock(clock.now() - timedelta(hours=1))
    Network.init(home, store=SqlStateStore(hub_db, clock=start), provinces=["440000"], clock=start)
    settings = Settings.from_env({**ENV, "HEALTHCODE_HOME": str(home)})
    hub = Hub.build(settings=settings, db=hub_db, clock=clock)
    _, token = hub.orgs.add(kind="province", region_code="440000", name="Guangdong")
    env = _province_env(folder, province_url, hub_url, token)
    db = Database.from_url(province_url, threads=8)
    province_upgrade(db)
    service = ProvinceService.build(
        settings=ProvinceSettings.from_env(env),
        db=db,
        clock=clock,
        transport=_InProcessHub(create_hub_app(hub)),
    )
    rng = random.Random(7)
    tokens = []
    for _ in range(people):
        answer = service.applications.apply(
            {
                "id_type": "resident_id",
                "id_number": _id_number(rng),
                "name": "张三丰",
                "phone": "13812345678",
                "residence_region": "440106",
            }
        )
        tokens.append(answer["token"])
    return service, tokens, env


def _plain(service: ProvinceService) -> CodeService:
    """The province's code service reading on every request (``states_kept`` 0)."""
    kept = service.codes
    return CodeService(
        db=kept.db,
        clock=kept.clock,
        signers=kept.signers,
        serials=kept.serials,
        evaluate=kept.evaluate,
        ruleset_label=kept.ruleset_label,
        ruleset_digest=kept.ruleset_digest,
        detail=kept.detail,
        states_kept=0,
    )


def in_process(
    service: ProvinceService, tokens: list[str], seconds: float, timer: Callable[[], float]
) -> dict[str, float]:
    codes, plain = service.codes, _plain(service)
    pseudonyms = [service.tokens.pseudonym_of(t) for t in tokens]
    sample = codes.issue(pseudonyms[0])["code"]
    data = b45decode(sample[len(PREFIX) :])
    to_sign = sign1_decode(data).to_be_signed()
    signer = service.signers.current()
    ecdsa = ec.ECDSA(hashes.SHA256())
    issuer = codes._issuer()
    clock = service.clock
    prepared = [codes.prepared(p, clock.now()) for p in pseudonyms]
    n = len(tokens)
    return best_rate(
        {
            "raw ES256 sign": lambda i: signer.private_key.sign(to_sign, ecdsa),
            "sign (kept issuer, content)": lambda i: issuer.issue(
                prepared[i].content, clock=clock, serial=prepared[i].serial
            ),
            **_templated(issuer, prepared, clock),
            "read + prepare (plain)": lambda i: plain.prepared(pseudonyms[i], clock.now()),
            "service path, plain": lambda i: plain.issue(service.tokens.pseudonym_of(tokens[i])),
            "service path, kept": lambda i: codes.issue(service.tokens.pseudonym_of(tokens[i])),
            **kept_inline(service, tokens),
        },
        n,
        seconds,
        timer,
    )


def _templated(issuer: Any, prepared: list[Any], clock: Any) -> dict[str, Callable[[int], object]]:
    """The signature through the kept issuer and each state's template (``issue_templated``;
    none in a tree without it)."""
    if not hasattr(issuer, "issue_templated"):
        return {}
    templates = [issuer.template(p.content, serial=p.serial, status=p.status) for p in prepared]
    return {
        "sign, template (kept)": lambda i: issuer.issue_templated(templates[i], clock=clock),
    }


def _cpu_seconds(pid: int) -> float:
    """The CPU time (user + system) process ``pid`` has used so far (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def kept_inline(service: ProvinceService, tokens: list[str]) -> dict[str, Callable[[int], object]]:
    """``issue_kept``, what ``province/me_reads.py`` runs on the event loop for a kept person
    (none in a tree without it). The lines before it in each round choose the signer again
    (``SignerSource.current``), so it always signs."""
    codes = service.codes
    if not hasattr(codes, "issue_kept"):
        return {}

    def kept(i: int) -> object:
        answer = codes.issue_kept(service.tokens.pseudonym_of(tokens[i]))
        assert answer is not None, "the signer's choice lapsed: nothing signed"
        return answer

    return {"service path, issue_kept": kept}


def through_app(service: ProvinceService, tokens: list[str], batches: int = 7) -> float:
    """CPU seconds of one kept ``GET /v1/me/code`` through the province's app, ASGI called
    directly (no socket, no server loop: the app's own part of a request); best batch of
    2,000 requests, round robin over the people."""
    from healthcode.province.app import create_app

    app = create_app(service)
    scopes = [
        {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": "/v1/me/code",
            "raw_path": b"/v1/me/code",
            "query_string": b"",
            "root_path": "",
            "headers": [(b"host", b"bench"), (b"authorization", f"Bearer {t}".encode())],
            "client": ("127.0.0.1", 1),
            "server": ("127.0.0.1", 80),
        }
        for t in tokens
    ]
    statuses: set[int] = set()

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.add(message["status"])

    async def batches_of(n: int) -> float:
        best = float("inf")
        for _ in range(batches):
            start = time.process_time()
            for i in range(n):
                await app(scopes[i % len(scopes)], receive, send)
            best = min(best, (time.process_time() - start) / n)
        return best

    anyio.run(batches_of, 200)  # warm
    best = anyio.run(batches_of, 2000)
    assert statuses == {200}, statuses
    return best


def over_http(env: dict[str, str], tokens: list[str], seconds: float, clients: int) -> Any:
    """``GET /v1/me/code`` against ``healthcode province serve`` in its own process; the
    phase's result and the CPU seconds the server spent in it (other processes' load on a
    shared machine slows the server's wall time, not its CPU time per request)."""
    port = free_port()
    log = open(os.devnull, "wb")  # noqa: SIM115 (closed with the process)
    proc = subprocess.Popen(
        [sys.executable, "-m", "healthcode.cli.main", "province", "serve", "--port", str(port)],
        env={**os.environ, **env, "PYTHONPATH": str(ROOT / "src")},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 180  # a loaded machine starts it slowly
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/v1/health").status_code == 200:
                    break
            except httpx.HTTPError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.1)
        host = f"127.0.0.1:{port}"
        requests = [
            request_bytes(
                "GET", "/v1/me/code", host=host, headers=[("Authorization", f"Bearer {t}")]
            )
            for t in tokens
        ] * 2000
        run("127.0.0.1", port, requests[: len(tokens) * 5], clients=clients, seconds=2)  # warm
        before = _cpu_seconds(proc.pid)
        result = run("127.0.0.1", port, requests, clients=clients, seconds=seconds)
        return result, _cpu_seconds(proc.pid) - before
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
        log.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=2.0, help="per measure, in-process")
    parser.add_argument("--http-seconds", type=float, default=5.0)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--cpu", action="store_true", help="in-process: CPU time, not wall")
    parser.add_argument(
        "--app", action="store_true", help="also GET /v1/me/code through the app, no socket"
    )
    parser.add_argument("--province-url", default="", help="postgresql (a schema made here)")
    args = parser.parse_args()
    with ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="hc-issue-")))
        url = f"sqlite:///{folder / 'province.db'}"
        if args.province_url:
            base = args.province_url or DEFAULT_URL
            url = schema_url(base, stack.enter_context(pg_schema(base, prefix="bench_prov")))
        service, tokens, env = setup(folder, url, args.people)
        stack.callback(service.close)
        print(f"province database: {service.db.dialect}; {len(tokens)} people, round robin")
        timer = time.process_time if args.cpu else time.perf_counter
        rates = in_process(service, tokens, args.seconds, timer)
        raw = rates["raw ES256 sign"]
        for name, rate in rates.items():
            print(
                f"  {name:28s} {rate:9,.0f}/s  {1e6 / rate:7.1f} µs a person request"
                f"  {raw / rate:5.2f}x raw"
            )
        if args.app:
            per = through_app(service, tokens) * 1e6
            print(
                f"  through the app (ASGI, CPU)    {per:7.1f} µs a request"
                f"  {per * raw / 1e6:5.2f}x raw"
            )
        if args.http_seconds > 0:
            result, cpu = over_http(env, tokens, args.http_seconds, args.clients)
            rate = result.ok / result.elapsed
            lat = result.latencies
            print(
                f"  over HTTP ({args.clients} clients)  {rate:9,.0f}/s  "
                f"p50 {lat[len(lat) // 2] * 1e3:.1f} ms  p99 {lat[int(len(lat) * 0.99)] * 1e3:.1f}"
                f" ms  {raw / rate:5.2f}x raw (one core's raw sign rate)"
                f"  other answers {result.other}, failed {result.failed}"
            )
            per = cpu / result.ok * 1e6
            print(
                f"  over HTTP, server CPU          {per:7.1f} µs a request  {per * raw / 1e6:5.2f}x"
                " raw (the server process's CPU time over the phase / answers)"
            )


if __name__ == "__main__":
    main()
