"""A venue's acceptance rules on the checkpoint's scanner page in headless Chromium: the venue
chooses "negative NAT within 48 h" from the published rules, a valid green code without a
recent NAT then stops with the rule's words (the checkpoint process decides, not the page), one
with it passes; the choice survives a reload; the language switch; accessibility."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx
import pytest
from live_pages import Pages, screenshot, serious_violations
from playwright.sync_api import Page, expect


@pytest.fixture
def venue(net: Pages) -> Iterator[str]:
    """The checkpoint's venue rules, none again after the test."""
    url = net.url("checkpoint") + "/v1/venue"
    yield url
    httpx.put(url, json={"rules": []})


def _check(page: Page, code: str) -> None:
    page.get_by_label("或粘贴码文本 / 截图").fill(code)
    page.get_by_role("button", name="核验文本").click()
    expect(page.get_by_role("alertdialog")).to_be_visible()


def test_a_nat_48h_venue_stops_a_valid_green_code_without_a_recent_nat(
    net: Pages, open_page: Callable[..., Page], venue: str
) -> None:
    page = open_page(net.url("checkpoint") + "/")
    expect(page.locator("#venue-state")).to_have_text("无额外要求：按码的颜色通行")
    page.get_by_label("48小时内核酸阴性").check()
    expect(page.locator("#venue-state")).to_have_text("当前要求：48小时内核酸阴性")
    assert httpx.get(venue).json()["chosen"] == ["NAT-48H"]
    _check(page, net.issue("440000", "green"))
    expect(page.get_by_role("alertdialog")).to_have_class("answer stop")
    expect(page.locator("#verdict")).to_have_text("停止")
    expect(page.locator("#reason")).to_have_text("本场所要求48小时内核酸阴性")
    expect(page.locator("#answer-colour")).to_have_text("绿码")
    expect(page.locator("#answer-venue")).to_have_text("当前要求：48小时内核酸阴性")
    screenshot(page, "checkpoint-venue-stop-phone")
    page.get_by_role("button", name="继续扫描").click()
    _check(page, net.issue("440000", "green", badges=("nat-24h",)))
    expect(page.get_by_role("alertdialog")).to_have_class("answer pass")
    page.keyboard.press("Escape")
    page.reload()
    expect(page.get_by_label("48小时内核酸阴性")).to_be_checked()
    page.get_by_role("button", name="Switch to English").click()
    expect(page.locator("#venue-state")).to_have_text("Now asked: Negative NAT within 48 h")
    page.get_by_label("Or paste the code text / a screenshot").fill(net.issue("110000", "green"))
    page.get_by_role("button", name="Check text").click()
    expect(page.locator("#reason")).to_have_text("This venue needs a negative NAT within 48 h")
    page.keyboard.press("Escape")
    page.get_by_label("Negative NAT within 48 h").uncheck()
    expect(page.locator("#venue-state")).to_have_text("No extra rule: the code's colour decides")
    assert httpx.get(venue).json()["chosen"] == []


def test_no_serious_accessibility_violation_with_venue_rules(
    net: Pages, open_page: Callable[..., Page], venue: str
) -> None:
    httpx.put(venue, json={"rules": ["GREEN-ONLY", "NAT-48H"]})
    page = open_page(net.url("checkpoint") + "/", bypass_csp=True)
    expect(page.get_by_label("只接受绿码")).to_be_checked()
    assert serious_violations(page) == []
    _check(page, net.issue("440000", "green"))
    assert serious_violations(page) == []
