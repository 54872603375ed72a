"""The citizen's pages in headless Chromium: sign in with the one-time code from the server
log, the code page (colour in words, masked identity, badges, reasons), its QR decoding to a
code the checkpoint's verifier passes, the QR renewing itself, the language switch, large
type, accessibility."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import httpx
from live_pages import DESKTOP, PHONE, Pages, screenshot, serious_violations
from playwright.sync_api import Page, expect

from healthcode.core.clock import CHINA_TZ
from healthcode.core.verify.qrimage import decode_image


def _signed_in(net: Pages, open_page: Callable[..., Page], seq: str, **kw: object) -> Page:
    """The code page of a new person, signed in through the API (the session put where the
    sign-in page puts it)."""
    token = net.session(net.applied(seq))
    page = open_page(net.url("440000") + "/sign-in", **kw)
    page.evaluate("t => sessionStorage.setItem('hc-session', t)", token)
    page.goto(net.url("440000") + "/code")
    expect(page.locator("#qr-image svg")).to_be_visible()
    return page


def test_sign_in_with_the_code_from_the_log_and_see_the_code(
    net: Pages, open_page: Callable[..., Page]
) -> None:
    person = net.applied("201")
    page = open_page(net.url("440000") + "/")
    expect(page).to_have_url(net.url("440000") + "/sign-in")  # no session: sign in first
    page.get_by_label("证件号码").fill(person["id_number"])
    page.get_by_label("手机号码").fill(person["phone"])
    screenshot(page, "sign-in-phone")
    seen = len(net.sms.lines)
    page.get_by_role("button", name="获取验证码").click()
    code = net.sms.code(seen)
    page.get_by_label("验证码（6 位数字）").fill(code)
    page.get_by_role("button", name="登录", exact=True).click()
    expect(page).to_have_url(net.url("440000") + "/code")
    expect(page.locator("#colour-words")).to_have_text("绿码 可以通行")
    expect(page.locator("body")).to_have_class("citizen green")
    expect(page.locator("#name")).to_have_text("张*丰")
    expect(page.locator("#id")).to_contain_text("*")
    expect(page.locator("#qr-image")).to_have_attribute("aria-label", "绿码二维码，供查验人员扫描")
    expect(page.locator("#validity")).to_contain_text("二维码有效至")
    expect(page.locator("#reasons li").first).to_be_visible()
    expect(page.locator("#until")).not_to_be_empty()
    screenshot(page, "code-phone")


def test_a_wrong_code_is_said_in_plain_words(net: Pages, open_page: Callable[..., Page]) -> None:
    person = net.applied("202")
    page = open_page(net.url("440000") + "/sign-in")
    page.get_by_label("证件号码").fill(person["id_number"])
    page.get_by_label("手机号码").fill(person["phone"])
    seen = len(net.sms.lines)
    page.get_by_role("button", name="获取验证码").click()
    right = net.sms.code(seen)
    page.get_by_label("验证码（6 位数字）").fill("000000" if right != "000000" else "111111")
    page.get_by_role("button", name="登录", exact=True).click()
    expect(page.get_by_role("alert")).to_have_text("验证码不正确或已过期，请重新输入或重新获取。")
    expect(page).to_have_url(net.url("440000") + "/sign-in")


def test_the_qr_on_the_page_decodes_to_a_code_the_verifier_passes(
    net: Pages, open_page: Callable[..., Page]
) -> None:
    page = _signed_in(net, open_page, "203")
    texts = decode_image(page.locator("#qr-image").screenshot())
    assert len(texts) == 1 and texts[0].startswith("CN1:")
    answer = net.check(texts[0])
    # the code's colour state is newer than the lists the checkpoint held: it fetches them once
    got = (answer["decision"], answer["issuer"], answer["colour"])
    assert got == ("pass", "440000", "green"), answer
    assert answer["identity"] == {"name": "张*丰", "id": page.locator("#id").inner_text()}


def test_the_qr_renews_itself_before_it_expires(net: Pages, open_page: Callable[..., Page]) -> None:
    token = net.session(net.applied("204"))
    page = open_page(net.url("440000") + "/sign-in")
    page.clock.install()
    page.evaluate("t => sessionStorage.setItem('hc-session', t)", token)
    page.goto(net.url("440000") + "/code")
    expect(page.locator("#qr-image svg")).to_be_visible()
    expect(page.locator("#qr-image")).to_have_attribute("data-renewals", "0")
    serial = page.locator("#qr-image").get_attribute("data-serial")
    page.clock.run_for("04:05")  # a screen code lives 5 minutes; renewed a minute before
    expect(page.locator("#qr-image")).to_have_attribute("data-renewals", "1")
    # the same colour state: the same serial, a new code
    expect(page.locator("#qr-image")).to_have_attribute("data-serial", serial or "")
    expect(page.locator("#card")).not_to_have_class("card expired")


def test_the_language_switch_and_large_type_on_every_citizen_page(
    net: Pages, open_page: Callable[..., Page]
) -> None:
    page = open_page(net.url("440000") + "/sign-in")
    page.get_by_role("button", name="Switch to English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", level=2)).to_have_text("Sign in to see your health code")
    expect(page.get_by_label("Phone number")).to_be_visible()
    code_page = _signed_in(net, open_page, "205")
    code_page.get_by_role("button", name="Switch to English").click()
    expect(code_page.locator("#colour-words")).to_have_text("Green code you may pass")
    expect(code_page.get_by_role("heading", name="Why this colour")).to_be_visible()
    code_page.reload()  # the choice is kept
    expect(code_page.locator("#colour-words")).to_have_text("Green code you may pass")
    code_page.get_by_role("button", name="切换到中文").click()
    expect(code_page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(code_page.locator("#colour-words")).to_have_text("绿码 可以通行")
    before = code_page.evaluate("getComputedStyle(document.documentElement).fontSize")
    code_page.get_by_role("button", name="大字").click()
    expect(code_page.get_by_role("button", name="标准字")).to_have_attribute("aria-pressed", "true")
    after = code_page.evaluate("getComputedStyle(document.documentElement).fontSize")
    assert float(after.removesuffix("px")) > float(before.removesuffix("px"))


def test_desktop_screenshots_and_the_paper_code(net: Pages, open_page: Callable[..., Page]) -> None:
    screenshot(open_page(net.url("440000") + "/sign-in", viewport=DESKTOP), "sign-in-desktop")
    page = _signed_in(net, open_page, "206", viewport=DESKTOP)
    screenshot(page, "code-desktop")
    page.evaluate("window.print = () => { window.printed = true; }")
    page.get_by_role("button", name="打印纸质码").click()
    expect(page.locator("#paper svg")).to_be_visible()
    assert page.evaluate("window.printed") is True
    texts = decode_image(page.locator("#paper svg").screenshot())
    answer = net.check(texts[0])
    assert answer["decision"] == "pass" and answer["expires_at"] is not None


def test_no_serious_accessibility_violation_on_the_citizen_pages(
    net: Pages, open_page: Callable[..., Page]
) -> None:
    sign_in = open_page(net.url("440000") + "/sign-in", bypass_csp=True)
    assert serious_violations(sign_in) == []
    sign_in.get_by_role("button", name="English").click()
    assert serious_violations(sign_in) == []
    for viewport in (PHONE, DESKTOP):
        page = _signed_in(
            net, open_page, f"20{7 if viewport is PHONE else 8}", viewport=viewport, bypass_csp=True
        )
        assert serious_violations(page) == []


def test_a_signed_out_session_leads_back_to_sign_in(
    net: Pages, open_page: Callable[..., Page]
) -> None:
    page = _signed_in(net, open_page, "209")
    token = page.evaluate("sessionStorage.getItem('hc-session')")
    page.get_by_role("button", name="退出登录").click()
    expect(page).to_have_url(net.url("440000") + "/sign-in")
    r = httpx.get(net.url("440000") + "/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 401 and r.json()["error"]["code"] == "SESSION_INVALID"


def _positive(net: Pages, person: dict[str, Any]) -> None:
    """A lab reports a positive NAT of ``person`` to the hub; waits until the province says red."""
    now = datetime.now(CHINA_TZ).replace(microsecond=0)
    record = {
        "record_id": f"PAGES-{person['id_number']}",
        "id_type": "resident_id",
        "id_number": person["id_number"],
        "name": person["name"],
        "phone": person["phone"],
        "sampled_at": (now - timedelta(hours=6)).isoformat(),
        "resulted_at": (now - timedelta(minutes=5)).isoformat(),
        "result": "positive",
        "lab": "广州金域医学检验中心",
    }
    r = httpx.post(net.url("hub") + "/v1/records/nat", json=record, headers=net.token("lab"))
    assert r.status_code < 300, r.text
    token = httpx.post(net.url("440000") + "/v1/applications", json=person).json()["token"]
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        me = httpx.get(net.url("440000") + "/v1/me", headers={"Authorization": f"Bearer {token}"})
        if me.json()["colour"] == "red":
            return
        time.sleep(0.1)
    raise AssertionError("the province did not turn the person red")


def test_a_red_code_says_why_and_what_to_do_in_both_languages(
    net: Pages, open_page: Callable[..., Page]
) -> None:
    person = net.applied("210")
    _positive(net, person)
    token = net.session(person)
    page = open_page(net.url("440000") + "/sign-in")
    page.evaluate("t => sessionStorage.setItem('hc-session', t)", token)
    page.goto(net.url("440000") + "/code")
    expect(page.locator("#colour-words")).to_have_text("红码 须隔离，不得通行")
    expect(page.locator("body")).to_have_class("citizen red")
    expect(page.locator("#qr-image")).to_have_attribute("aria-label", "红码二维码，供查验人员扫描")
    expect(page.locator("#reasons li").first).not_to_have_text("未命中任何转码规则。")
    expect(page.locator("#next li").first).to_contain_text("隔离")
    screenshot(page, "code-red-phone")
    page.get_by_role("button", name="Switch to English").click()
    expect(page.locator("#colour-words")).to_have_text("Red code isolate; do not pass")
    expect(page.locator("#next li").first).to_contain_text("isolate")
    texts = decode_image(page.locator("#qr-image").screenshot())
    answer = net.check(texts[0])
    assert (answer["decision"], answer["reason"]) == ("stop", "CODE_RED")
