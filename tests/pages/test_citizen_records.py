"""The citizen's history, appeals and family pages in headless Chromium: each colour change's
inclusion in the colour log verified in the page (and a tampered proof shown as not verified),
an appeal filed and its state, a family member's code held with their consent (the code sent
to their phone), shown and revoked; the language switch, large type, print, accessibility."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx
from live_pages import DESKTOP, PHONE, Pages, screenshot, serious_violations
from playwright.sync_api import Page, Route, expect
from province_testdata import applicant
from test_citizen_pages import _positive

from healthcode.core.verify.qrimage import decode_image


def _open(net: Pages, open_page: Callable[..., Page], token: str, path: str, **kw: Any) -> Page:
    page = open_page(net.url("440000") + "/sign-in", **kw)
    page.evaluate("t => sessionStorage.setItem('hc-session', t)", token)
    page.goto(net.url("440000") + path)
    return page


def _proved(net: Pages, token: str) -> dict[str, Any]:
    """The person's log once every leaf of theirs is in the published checkpoint."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        answer: dict[str, Any] = httpx.get(
            net.url("440000") + "/v1/me/log", headers={"Authorization": f"Bearer {token}"}
        ).json()
        if len(answer["leaves"]) >= 2 and all(e["proof"] is not None for e in answer["leaves"]):
            return answer
        time.sleep(0.2)
    raise AssertionError("the colour log did not publish the person's leaves")


def test_the_history_verifies_each_change_in_the_colour_log(
    net: Pages, open_page: Callable[..., Page]
) -> None:
    person = net.applied("301")
    _positive(net, person)
    token = net.session(person)
    _proved(net, token)
    page = _open(net, open_page, token, "/history")
    changes = page.locator("#changes > li")
    expect(changes).to_have_count(2)  # green when applying, red after the positive test
    expect(changes.first).to_have_attribute("data-state", "verified")
    expect(changes.nth(1)).to_have_attribute("data-state", "verified")
    expect(changes.first.locator(".change-head strong")).to_have_text("红码")
    expect(changes.first.locator(".proof")).to_contain_text("✓ 已验证")
    expect(changes.first.locator(".change-reasons li").first).to_contain_text("核酸检测阳性")
    screenshot(page, "history-phone")
    page.get_by_role("button", name="Switch to English").click()
    expect(changes.first.locator(".proof")).to_contain_text("Verified: in the colour log")
    expect(changes.first.locator(".change-reasons li").first).to_contain_text("positive NAT")
    desktop = _open(net, open_page, token, "/history", viewport=DESKTOP)
    expect(desktop.locator("#changes > li").first).to_have_attribute("data-state", "verified")
    screenshot(desktop, "history-desktop")


def _tamper(field: str) -> Callable[[Route], None]:
    """Changes one byte of the newest leaf's ``proof`` (its first hash) or ``data``."""

    def handle(route: Route) -> None:
        answer = route.fetch().json()
        entry = answer["leaves"][-1]
        if field == "proof":
            first = entry["proof"][0]
            entry["proof"][0] = ("B" if first[0] != "B" else "C") + first[1:]
        else:
            entry["data"] = entry["data"].replace("cmVk", "Z3Jl", 1)  # "red" -> "gre..."
        route.fulfill(json=answer)

    return handle


def test_a_tampered_proof_or_leaf_shows_not_verified(
    net: Pages, open_page: Callable[..., Page]
) -> None:
    person = net.applied("302")
    _positive(net, person)
    token = net.session(person)
    answer = _proved(net, token)
    assert answer["leaves"][-1]["proof"], "a tree of one leaf has an empty proof: nothing to tamper"
    for field in ("proof", "data"):
        page = open_page(net.url("440000") + "/sign-in")
        page.route("**/v1/me/log", _tamper(field))
        page.evaluate("t => sessionStorage.setItem('hc-session', t)", token)
        page.goto(net.url("440000") + "/history")
        newest = page.locator("#changes > li").first
        expect(newest).to_have_attribute("data-state", "failed")
        expect(newest.locator(".proof")).to_have_text("✗ 未通过验证：此记录与日志不符")
        expect(page.locator("#changes > li").nth(1)).to_have_attribute("data-state", "verified")


def test_an_appeal_is_filed_and_its_state_shown(net: Pages, open_page: Callable[..., Page]) -> None:
    token = net.session(net.applied("303"))
    page = _open(net, open_page, token, "/history")
    expect(page.locator("#appeals li")).to_have_text("暂无申诉。")
    page.get_by_role("button", name="提交申诉").click()
    expect(page.get_by_role("alert")).to_have_text("请填写所有项目。")  # no reason given
    page.get_by_label("申诉理由").fill("我没有去过该地区，行程记录有误。")
    page.get_by_label("证明材料编号（可选，每行一个）").fill("TICKET-20261201-7\n")
    page.get_by_role("button", name="提交申诉").click()
    expect(page.locator("#appeal-done")).to_contain_text("申诉已提交")
    expect(page.locator("#appeals li").first).to_contain_text("待处理")
    expect(page.locator("#appeals li").first).to_contain_text("我没有去过该地区")
    screenshot(page, "appeal-phone")
    page.reload()  # the state comes from the province
    expect(page.locator("#appeals li").first).to_contain_text("待处理")
    page.get_by_role("button", name="Switch to English").click()
    expect(page.locator("#appeals li").first).to_contain_text("Waiting for an answer")


def _parent(net: Pages) -> dict[str, Any]:
    person = applicant(seq="305", name="李秀英", phone="13900001111")
    r = httpx.post(net.url("440000") + "/v1/applications", json=person, timeout=30)
    assert r.status_code == 200, r.text
    return person


def test_a_family_members_code_is_held_with_their_consent_shown_and_revoked(
    net: Pages, open_page: Callable[..., Page]
) -> None:
    parent = _parent(net)
    token = net.session(net.applied("304"))
    page = _open(net, open_page, token, "/family")
    expect(page.locator("#held li")).to_have_text("尚未添加家人。")
    page.get_by_label("家人的证件号码").fill(parent["id_number"])
    page.get_by_label("家人申领时登记的手机号码").fill(parent["phone"])
    seen = len(net.sms.lines)
    page.get_by_role("button", name="向家人发送同意验证码").click()
    code = net.sms.code(seen)
    assert "139****1111" in net.sms.lines[seen] and "张*丰" in net.sms.lines[seen]
    wrong = "000000" if code != "000000" else "111111"
    page.get_by_label("家人告诉您的验证码（6 位数字）").fill(wrong)
    page.get_by_role("button", name="确认添加").click()
    expect(page.get_by_role("alert")).to_have_text("验证码不正确或已过期，请重新获取。")
    page.get_by_label("家人告诉您的验证码（6 位数字）").fill(code)
    page.get_by_role("button", name="确认添加").click()
    expect(page.locator("#held li")).to_have_count(1)
    expect(page.locator("#held li").first).to_contain_text("李*英")
    expect(page.get_by_role("link", name="出示 李*英 的健康码")).to_be_focused()
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(page, "family-phone")
    page.get_by_role("link", name="出示 李*英 的健康码").click()
    expect(page.locator("#held-for")).to_have_text("正在代 李*英 出示健康码")
    expect(page.locator("#name")).to_have_text("李*英")
    expect(page.locator("#qr-image svg")).to_be_visible()
    screenshot(page, "code-held-phone")
    texts = decode_image(page.locator("#qr-image").screenshot())
    answer = net.check(texts[0])
    assert answer["identity"]["name"] == "李*英"  # the checkpoint sees the parent, not the holder
    page.get_by_role("link", name="返回家人列表").click()
    page.get_by_role("button", name="不再代为出示 李*英 的健康码").click()
    expect(page.locator("#held li")).to_have_text("尚未添加家人。")


def test_the_held_person_sees_and_ends_the_holding(
    net: Pages, open_page: Callable[..., Page]
) -> None:
    parent = applicant(seq="306", name="王建国", phone="13900002222")
    assert httpx.post(net.url("440000") + "/v1/applications", json=parent).status_code == 200
    holder = net.session(net.applied("307"))
    seen = len(net.sms.lines)
    auth = {"Authorization": f"Bearer {holder}"}
    who = {"id_number": parent["id_number"], "phone": parent["phone"]}
    r = httpx.post(net.url("440000") + "/v1/me/held/code", json=who, headers=auth)
    body = {"challenge": r.json()["challenge"], "code": net.sms.code(seen)}
    holding = httpx.post(net.url("440000") + "/v1/me/held", json=body, headers=auth).json()
    page = _open(net, open_page, net.session(parent), "/family", viewport=DESKTOP)
    expect(page.locator("#holders li").first).to_contain_text("张*丰")
    screenshot(page, "family-desktop")
    page.get_by_role("button", name="取消 张*丰 代我出示").click()
    expect(page.locator("#holders li")).to_have_text("没有人代您出示健康码。")
    gone = httpx.get(
        net.url("440000") + f"/v1/me/held/{holding['id']}/code/qr", headers=auth
    ).json()
    assert gone["error"]["code"] == "HOLD_UNKNOWN"
    # the holder's page for that code says so and shows no QR
    held_page = _open(net, open_page, holder, f"/code?held={holding['id']}")
    expect(held_page.get_by_role("alert")).to_have_text("您已不再代此人出示健康码。")
    expect(held_page.locator("#qr-image svg")).to_have_count(0)


def test_large_type_is_remembered_across_pages_and_print_hides_the_controls(
    net: Pages, open_page: Callable[..., Page]
) -> None:
    token = net.session(net.applied("308"))
    page = _open(net, open_page, token, "/code")
    page.get_by_role("button", name="大字").click()
    page.get_by_role("link", name="记录与申诉").click()
    expect(page.locator("html")).to_have_class("large")
    expect(page.get_by_role("button", name="标准字")).to_have_attribute("aria-pressed", "true")
    screenshot(page, "history-large-phone")
    page.get_by_role("link", name="家人的码").click()
    expect(page.locator("html")).to_have_class("large")
    page.emulate_media(media="print")
    expect(page.locator("form#ask")).to_be_hidden()
    expect(page.locator(".bar")).to_be_hidden()


def test_times_in_china_standard_time_equal_the_intl_reference(
    net: Pages, open_page: Callable[..., Page]
) -> None:
    """``when`` (UTC+8 by hand) is ``whenByIntl`` (the browser's time zone data) for instants
    over 2000-2040 in both languages, midnights and month ends included."""
    page = open_page(net.url("440000") + "/sign-in")
    differ = page.evaluate(
        """async () => {
          const { when, whenByIntl } = await import('/static/i18n.js');
          const out = [];
          let seed = 14;
          const next = () => (seed = (seed * 1103515245 + 12345) % 2147483648);
          const instants = [Date.UTC(2026, 11, 31, 16, 0), Date.UTC(2024, 1, 28, 16, 30)];
          for (let i = 0; i < 3000; i++) instants.push(946684800000 + (next() % 1262304000) * 1000);
          for (const lang of ['zh', 'en']) {
            localStorage.setItem('hc-lang', lang);
            for (const ms of instants) {
              const iso = new Date(ms).toISOString();
              if (when(iso) !== whenByIntl(iso)) out.push([iso, lang, when(iso), whenByIntl(iso)]);
            }
          }
          return out.slice(0, 5);
        }"""
    )
    assert differ == []


def test_no_serious_accessibility_violation_on_the_new_pages(
    net: Pages, open_page: Callable[..., Page]
) -> None:
    token = net.session(net.applied("309"))
    for path in ("/history", "/family"):
        for viewport in (PHONE, DESKTOP):
            page = _open(net, open_page, token, path, viewport=viewport, bypass_csp=True)
            expect(page.locator("#main")).to_have_attribute("aria-busy", "false")
            assert serious_violations(page) == [], (path, viewport)
            page.get_by_role("button", name="English").click()
            assert serious_violations(page) == [], (path, viewport, "en")
