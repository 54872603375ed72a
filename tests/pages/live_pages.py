"""What the browser tests of the pages share: Debian's headless Chromium
(``/usr/bin/chromium``, installed by ``.ci/run``) driven by Playwright's Python package (never
``playwright install``) over a network served in the test process (hub, Guangdong's province,
a checkpoint) on free loopback ports.

Every page is loaded with its content security policy in force and every request recorded: a
request to any other origin fails the test (nothing may come from the internet). Only the
accessibility check bypasses the policy, to inject axe-core (from npm, ``node_modules``).
"""

from __future__ import annotations

import logging
import re
import sys
import time
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Page

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "province"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "hub"))

from province_testdata import applicant

from healthcode.web.assets import assets_built
from live_network import LiveNetwork

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = ROOT / "docs" / "screenshots"
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
DESKTOP = {"width": 1280, "height": 800}

MISSING = (
    "no /usr/bin/chromium (apt-get install chromium; .ci/run does)"
    if not CHROMIUM.exists()
    else "web assets not built (make install: npm ci; npm run build)"
    if not assets_built() or not AXE.is_file()
    else None
)


class SmsLog(logging.Handler):
    """Reads the one-time codes the province's default sender writes to the server log."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())

    def code(self, after: int, timeout: float = 10) -> str:
        """The code of the first message logged after the first ``after`` ones."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = re.findall(r"\b(\d{6})\b", self.lines[after]) if len(self.lines) > after else []
            if found:
                return str(found[0])
            time.sleep(0.05)
        raise AssertionError("no one-time code in the log")


class Pages(LiveNetwork):
    """The live network with its province, a person who applied, the SMS log."""

    sms: SmsLog

    def url(self, name: str) -> str:
        return self.services[name].url

    def applied(self, seq: str) -> dict[str, Any]:
        """Someone who applied at Guangdong (a new ``seq`` for each test: the codes asked per
        ID are limited)."""
        person = applicant(seq=seq)
        r = httpx.post(self.url("440000") + "/v1/applications", json=person, timeout=30)
        assert r.status_code == 200, r.text
        return person

    def session(self, person: dict[str, Any]) -> str:
        """A session for ``person`` through the API, the code read from the log."""
        seen = len(self.sms.lines)
        who = {"id_number": person["id_number"], "phone": person["phone"]}
        r = httpx.post(self.url("440000") + "/v1/sign-in/code", json=who)
        assert r.status_code == 200, r.text
        body = {"challenge": r.json()["challenge"], "code": self.sms.code(seen)}
        done = httpx.post(self.url("440000") + "/v1/sign-in", json=body)
        assert done.status_code == 200, done.text
        return str(done.json()["session"])


def screenshot(page: Page, name: str, *, full_page: bool = False) -> None:
    """``docs/screenshots/<name>.png`` (shown in the README); the whole page if asked."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=full_page)


def serious_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's WCAG 2.1 A/AA violations of impact serious or critical on the page as it is."""
    page.add_script_tag(path=str(AXE))
    result: dict[str, Any] = page.evaluate(
        """async () => await axe.run(document, {
            runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})"""
    )
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]]}
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]
