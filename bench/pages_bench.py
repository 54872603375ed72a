"""The pages, measured in the browser (Debian's headless Chromium driven by Playwright).

1. The checkpoint's scan-to-answer time: from a decoded QR text handed to the scanner page
   (``hcCheckpoint.check``, what the camera, an upload or a paste call once they have decoded)
   to the full-screen answer painted (two animation frames after it is in the DOM), offline:
   the checkpoint has no hub at all, the online check is off. Baseline in the same run: the
   page's bare ``fetch('/v1/check')`` round trip, nothing rendered. Both also with the CPU
   slowed 4x (a mid-range phone used as the scanner).
2. The citizen's code page load on loopback with a mid-range phone profile (CDP: 150 ms round
   trip, 1.6 Mbit/s down, 750 kbit/s up, CPU 4x slower: Lighthouse's mobile "slow 4G"
   profile): from navigation start to the QR shown (``performance.mark('hc-code-shown')``,
   set when the first signed code is on the page), a fresh browser context (empty cache) each
   time. Baseline in the same run: the same load unthrottled.

Everything runs in this process on free loopback ports (hub, Guangdong's province, the
checkpoint), in a temporary folder.

    .venv/bin/python -m bench.pages_bench --checks 60 --loads 10
"""

from __future__ import annotations

import argparse
import logging
import re
import statistics
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Browser, Page, sync_playwright

from healthcode.checkpoint.service import Checkpoint
from healthcode.core.clock import SystemClock
from healthcode.core.identity import check_digit
from healthcode.core.trust.issue import issue_code
from healthcode.core.trust.network import Network
from healthcode.network.datadir import DataDir
from healthcode.network.init import init_network
from healthcode.network.runner import NetworkRunner
from healthcode.network.serve import checkpoint_service, hub_service, province_service
from healthcode.store.db import Database
from healthcode.store.trust_state import SqlStateStore

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from live_network import free_base_port

ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PHONE = {"width": 390, "height": 844}
#: Lighthouse's mobile throttling ("slow 4G", a mid-range phone).
SLOW_4G = {
    "offline": False,
    "latency": 150,
    "downloadThroughput": 1_600_000 / 8,
    "uploadThroughput": 750_000 / 8,
}
CPU_SLOWDOWN = 4


class _Codes(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.codes: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.codes += re.findall(r"\b(\d{6})\b", record.getMessage())[:1]


@contextmanager
def network(root: Path) -> Iterator[tuple[DataDir, dict[str, Any]]]:
    folder = init_network(root, base_port=free_base_port()).folder
    runner = NetworkRunner()
    services = {}
    try:
        for service in (
            hub_service(folder),
            province_service(folder, "440000"),
            checkpoint_service(folder),
        ):
            runner.start(service)
            services[service.name] = service
        yield folder, services
    finally:
        runner.stop()


def _issue(folder: DataDir, colour: str) -> str:
    db = Database.from_url(folder.database_url("hub.db"))
    clock = SystemClock()
    net = Network.open(folder.keys, store=SqlStateStore(db, clock=clock))
    text = issue_code(
        signer=net.active_signer("440000", at=clock.now()),
        subject="ab" * 32,
        colour=colour,
        rule_set="national-baseline",
        masked_name="张*丰",
        masked_id="4401**********1231",
        clock=clock,
    )
    db.dispose()
    return text


def _session(url: str, codes: _Codes) -> str:
    body = "440106" + "19900101" + "123"
    person = {
        "id_number": body + check_digit(body),
        "name": "张三丰",
        "phone": "13812345678",
        "residence_region": "440106",
    }
    assert httpx.post(url + "/v1/applications", json=person, timeout=30).status_code == 200
    who = {"id_number": person["id_number"], "phone": person["phone"]}
    challenge = httpx.post(url + "/v1/sign-in/code", json=who).json()["challenge"]
    done = httpx.post(url + "/v1/sign-in", json={"challenge": challenge, "code": codes.codes[-1]})
    return str(done.json()["session"])


def _slowed(page: Page, *, network: bool, cpu: bool) -> None:
    cdp = page.context.new_cdp_session(page)
    if network:
        cdp.send("Network.enable")
        cdp.send("Network.emulateNetworkConditions", SLOW_4G)
    if cpu:
        cdp.send("Emulation.setCPUThrottlingRate", {"rate": CPU_SLOWDOWN})


def scan_to_answer(
    browser: Browser, url: str, texts: list[str], n: int, cpu: bool
) -> dict[str, list[float]]:
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    page.goto(url + "/")
    page.wait_for_selector("#trust-state:not(:empty)")
    _slowed(page, network=False, cpu=cpu)
    full, fetch_only = [], []
    for i in range(n + 5):
        text = texts[i % len(texts)]
        ms = page.evaluate("t => hcCheckpoint.check(t)", text)
        page.evaluate("document.getElementById('next').click()")
        bare = page.evaluate(
            """async t => { const s = performance.now();
               const r = await fetch('/v1/check', {method: 'POST',
                 headers: {'Content-Type': 'application/json'},
                 body: JSON.stringify({code: t, online: false})});
               await r.json(); return performance.now() - s; }""",
            text,
        )
        if i >= 5:  # the first few warm the page and the server up
            full.append(float(ms))
            fetch_only.append(float(bare))
    context.close()
    return {"answer shown": full, "fetch only": fetch_only}


def code_page_load(
    browser: Browser, url: str, token: str, n: int, slow: bool, answered: list[float] | None = None
) -> list[float]:
    """Navigation start to the QR shown, ``n`` times; ``answered`` gets the times the code's
    answer reached the page's script (``hc-code-answer``: the rest is the page drawing it)."""
    out = []
    for _ in range(n):
        context = browser.new_context(viewport=PHONE)
        page = context.new_page()
        page.goto(url + "/sign-in")
        page.evaluate("t => sessionStorage.setItem('hc-session', t)", token)
        _slowed(page, network=slow, cpu=slow)
        page.goto(url + "/code")
        page.wait_for_function(
            "() => performance.getEntriesByName('hc-code-shown').length > 0", timeout=30_000
        )
        out.append(
            float(page.evaluate("performance.getEntriesByName('hc-code-shown')[0].startTime"))
        )
        if answered is not None:
            answered.append(
                float(page.evaluate("performance.getEntriesByName('hc-code-answer')[0].startTime"))
            )
        context.close()
    return out


def _line(name: str, values: list[float], base: list[float] | None = None) -> str:
    values = sorted(values)
    p50, p95 = statistics.median(values), values[int(0.95 * (len(values) - 1))]
    ratio = f"  ({p50 / statistics.median(base):.2f}x the baseline)" if base else ""
    return f"  {name:34s} p50 {p50:7.1f} ms  p95 {p95:7.1f} ms  n={len(values)}{ratio}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--checks", type=int, default=60)
    parser.add_argument("--loads", type=int, default=10)
    args = parser.parse_args(argv)
    codes = _Codes()
    logging.getLogger("healthcode.province.sms").addHandler(codes)
    logging.getLogger("healthcode.province.sms").propagate = False
    with tempfile.TemporaryDirectory() as tmp, network(Path(tmp)) as (folder, services):
        checkpoint: Checkpoint = services["checkpoint"].loops
        checkpoint.stop()
        checkpoint.hub_url = ""  # offline: no hub to ask, nothing leaves the checkpoint
        texts = [_issue(folder, c) for c in ("green", "red", "yellow")]
        token = _session(services["440000"].url, codes)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
            report(browser, services, texts, token, args)
            browser.close()


def report(
    browser: Browser, services: dict[str, Any], texts: list[str], token: str, args: Any
) -> None:
    say: Callable[[str], None] = print
    say("checkpoint scan-to-answer (decoded text to the answer painted), offline:")
    for cpu in (False, True):
        runs = scan_to_answer(browser, services["checkpoint"].url, texts, args.checks, cpu)
        label = f"CPU {CPU_SLOWDOWN}x slower" if cpu else "CPU as is"
        say(_line(f"fetch only ({label})", runs["fetch only"]))
        say(_line(f"answer shown ({label})", runs["answer shown"], runs["fetch only"]))
    say("citizen code page, navigation start to the QR shown, fresh context each:")
    base = code_page_load(browser, services["440000"].url, token, args.loads, slow=False)
    say(_line("loopback, unthrottled", base))
    answered: list[float] = []
    slow = code_page_load(browser, services["440000"].url, token, args.loads, True, answered)
    say(_line("slow 4G + CPU 4x (mid-range phone)", slow, base))
    say(_line("  of which: the code's answer in", answered))


if __name__ == "__main__":
    main()
