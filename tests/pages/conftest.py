"""Fixtures of the browser tests (``live_pages.py`` says how they run): the live network,
the browser, fresh pages that fail the test on any request leaving the service."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator

import pytest
from live_pages import ARGS, CHROMIUM, MISSING, PHONE, Pages, SmsLog
from playwright.sync_api import Browser, Page, sync_playwright

from healthcode.network.init import init_network
from healthcode.network.runner import NetworkRunner
from healthcode.network.serve import checkpoint_service, hub_service, province_service
from live_network import free_base_port, held_trust_list


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/pages/" in str(item.path).replace("\\", "/"):
            item.add_marker(pytest.mark.browser)
            if MISSING:
                item.add_marker(pytest.mark.skip(reason=MISSING))


@pytest.fixture(scope="session")
def net(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pages]:
    if MISSING:
        pytest.skip(MISSING)
    report = init_network(tmp_path_factory.mktemp("pages"), base_port=free_base_port())
    folder = report.folder
    runner = NetworkRunner()
    sms = SmsLog()
    logging.getLogger("healthcode.province.sms").addHandler(sms)
    try:
        services = {}
        for service in (
            hub_service(folder),
            province_service(folder, "440000"),
            checkpoint_service(folder),
        ):
            runner.start(service)
            services[service.name] = service
        held_trust_list(services["checkpoint"])
        pages = Pages(folder, runner, services)
        pages.sms = sms
        yield pages
    finally:
        runner.stop()
        logging.getLogger("healthcode.province.sms").removeHandler(sms)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Chromium for one test module: Playwright's synchronous API keeps an asyncio loop set on
    the main thread while it runs, which tests that run their own loop (anyio) cannot share,
    so it stops before the next module's tests."""
    if MISSING:
        pytest.skip(MISSING)
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def open_page(browser: Browser) -> Iterator[Callable[..., Page]]:
    """``open_page(url, viewport=PHONE)``: a fresh context (no storage) showing ``url``; a
    request to another origin fails the test."""
    contexts = []
    foreign: list[str] = []

    def make(url: str, *, viewport: dict[str, int] = PHONE, bypass_csp: bool = False) -> Page:
        origin = re.match(r"https?://[^/]+", url)
        assert origin is not None
        context = browser.new_context(viewport=viewport, bypass_csp=bypass_csp)  # type: ignore[arg-type]
        contexts.append(context)
        page = context.new_page()
        page.on(
            "request",
            lambda r: (
                None
                if r.url.startswith((origin.group(0), "data:", "blob:"))
                else foreign.append(r.url)
            ),
        )
        page.goto(url)
        return page

    yield make
    for context in contexts:
        context.close()
    assert foreign == [], f"requests left the service: {foreign}"
