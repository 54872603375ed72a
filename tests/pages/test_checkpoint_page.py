"""The checkpoint's scanner page in headless Chromium: an image of a red code stops with the
reason and the masked identity; a pasted green code passes; a rolled-back trust list file is
refused and the held list stays; the language switch; accessibility; local /docs."""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from live_pages import DESKTOP, PHONE, Pages, screenshot, serious_violations
from playwright.sync_api import Page, expect

from healthcode.core.codes.qr import render_png


def _scanner(net: Pages, open_page: Callable[..., Page], **kw: object) -> Page:
    page = open_page(net.url("checkpoint") + "/", **kw)
    expect(page.locator("#trust-state")).to_contain_text("第")
    return page


def test_an_image_of_a_red_code_shows_stop_with_the_reason(
    net: Pages, open_page: Callable[..., Page], tmp_path: Path
) -> None:
    image = tmp_path / "red.png"
    image.write_bytes(render_png(net.issue("440000", "red")))
    page = _scanner(net, open_page)
    screenshot(page, "checkpoint-phone")
    page.locator("#upload").set_input_files(image)
    answer = page.get_by_role("alertdialog")
    expect(answer).to_be_visible()
    expect(answer).to_have_class("answer stop")
    expect(page.locator("#verdict")).to_have_text("停止")
    expect(page.locator("#reason")).to_have_text("红码：不得通行")
    expect(page.locator("#identity")).to_have_text("张*丰  4401**********1231")
    expect(page.locator("#answer-trust")).to_contain_text("版")
    expect(page.get_by_role("button", name="继续扫描")).to_be_focused()
    screenshot(page, "checkpoint-stop-phone")
    page.keyboard.press("Escape")
    expect(answer).to_be_hidden()


def test_a_pasted_green_code_passes(net: Pages, open_page: Callable[..., Page]) -> None:
    page = _scanner(net, open_page, viewport=DESKTOP)
    screenshot(page, "checkpoint-desktop")
    page.get_by_label("或粘贴码文本 / 截图").fill(net.issue("110000", "green"))
    page.get_by_role("button", name="核验文本").click()
    expect(page.get_by_role("alertdialog")).to_have_class("answer pass")
    expect(page.locator("#verdict")).to_have_text("通行")
    expect(page.locator("#issuer")).to_have_text("110000")
    expect(page.locator("#answer-online")).to_have_text("未联网核查")
    screenshot(page, "checkpoint-pass-desktop")


def test_the_online_check_is_asked_when_chosen(net: Pages, open_page: Callable[..., Page]) -> None:
    page = _scanner(net, open_page)
    page.get_by_label("联网核查（向国家平台确认是否已转码）").check()
    page.get_by_label("或粘贴码文本 / 截图").fill(net.issue("440000", "green"))
    page.get_by_role("button", name="核验文本").click()
    expect(page.get_by_role("alertdialog")).to_be_visible()
    expect(page.locator("#answer-online")).not_to_have_text("未联网核查")


def test_a_tampered_code_stops_with_the_failing_check(
    net: Pages, open_page: Callable[..., Page]
) -> None:
    code = net.issue("440000", "green")
    page = _scanner(net, open_page)
    page.get_by_label("或粘贴码文本 / 截图").fill(
        code[:-6] + ("A" if code[-6] != "A" else "B") + code[-5:]
    )
    page.get_by_role("button", name="核验文本").click()
    expect(page.get_by_role("alertdialog")).to_have_class("answer stop")
    expect(page.locator("#reason")).not_to_have_text("")


def test_a_rolled_back_trust_list_is_refused_and_the_held_one_stays(
    net: Pages, open_page: Callable[..., Page], tmp_path: Path
) -> None:
    hub = net.url("hub")
    old = tmp_path / "trust-list.cose"
    old.write_bytes(
        httpx.get(hub + "/v1/published/trust-list", headers=net.token("checkpoint")).content
    )
    net.network().revoke_serial(
        secrets.token_bytes(12), until=datetime.now(UTC) + timedelta(days=1)
    )
    page = _scanner(net, open_page)
    held = httpx.get(net.url("checkpoint") + "/v1/trust").json()["trust_list"]["sequence"]
    page.get_by_role("button", name="从国家平台更新").click()
    expect(page.locator("#trust-state")).to_have_attribute("data-taken", re.compile(r"\d+"))
    newer = httpx.get(net.url("checkpoint") + "/v1/trust").json()["trust_list"]["sequence"]
    assert newer > held
    expect(page.locator("#trust-state")).to_contain_text(f"第 {newer} 版")
    page.locator("#trust-file").set_input_files(old)
    expect(page.locator("#trust-result")).to_have_text("拒绝：该信任列表比本机持有的旧（防回滚）")
    expect(page.locator("#trust-state")).to_contain_text(f"第 {newer} 版")
    assert httpx.get(net.url("checkpoint") + "/v1/trust").json()["trust_list"]["sequence"] == newer


def test_the_language_switch_on_the_scanner(net: Pages, open_page: Callable[..., Page]) -> None:
    page = _scanner(net, open_page)
    page.get_by_role("button", name="Switch to English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", name="Scan the person's health code")).to_be_visible()
    page.get_by_label("Or paste the code text / a screenshot").fill(net.issue("440000", "yellow"))
    page.get_by_role("button", name="Check text").click()
    expect(page.locator("#verdict")).to_have_text("STOP")
    expect(page.locator("#reason")).to_have_text("Yellow code: do not let through")
    page.get_by_role("button", name="Next scan").click()
    page.get_by_role("button", name="切换到中文").click()
    expect(page.get_by_role("heading", name="扫描被查验人的健康码")).to_be_visible()


def test_the_scanner_looks_nothing_like_the_citizen_page(
    net: Pages, open_page: Callable[..., Page]
) -> None:
    scanner = _scanner(net, open_page)
    citizen = open_page(net.url("440000") + "/sign-in")
    dark = scanner.evaluate("getComputedStyle(document.body).backgroundColor")
    light = citizen.evaluate("getComputedStyle(document.body).backgroundColor")
    assert (dark, light) == ("rgb(16, 20, 24)", "rgb(246, 247, 249)")
    expect(scanner.get_by_text("CHECKPOINT", exact=True)).to_be_visible()


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_no_serious_accessibility_violation_on_the_scanner(
    net: Pages, open_page: Callable[..., Page], viewport: dict[str, int]
) -> None:
    page = _scanner(net, open_page, viewport=viewport, bypass_csp=True)
    assert serious_violations(page) == []
    page.get_by_label("或粘贴码文本 / 截图").fill(net.issue("440000", "red"))
    page.get_by_role("button", name="核验文本").click()
    expect(page.get_by_role("alertdialog")).to_be_visible()
    assert serious_violations(page) == []


@pytest.mark.parametrize("service", ["hub", "440000", "checkpoint"])
def test_the_api_docs_load_from_the_service_itself(
    net: Pages, open_page: Callable[..., Page], service: str
) -> None:
    page = open_page(net.url(service) + "/docs", viewport=DESKTOP)
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("healthcode")
