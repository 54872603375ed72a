"""The operators' pages and the public rules page in headless Chromium: a manual red proposed
by one operator and approved by another from the province's dashboard (the proposer cannot
approve it), the heat table then counting it; a refused bulk proposal reaching the national
dashboard's alerts; the difference of two rule-set versions; the language switch;
accessibility; screenshots at phone and desktop width."""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from live_pages import DESKTOP, PHONE, Pages, screenshot, serious_violations
from playwright.sync_api import Page, expect
from province_testdata import applicant

from healthcode.core.clock import CHINA_TZ
from healthcode.core.rules import apply_overlay, baseline, parse_ruleset
from healthcode.core.rules.ruleset import compute_digest
from healthcode.province.models import Colour
from healthcode.province.ops.models import RuleSetVersion
from healthcode.province.ops.rulebook import label_of
from healthcode.province.service import ProvinceService


def _province(net: Pages) -> ProvinceService:
    service = net.services["440000"].loops
    assert isinstance(service, ProvinceService)
    return service


def _person(net: Pages, seq: str) -> str:
    r = httpx.post(net.url("440000") + "/v1/applications", json=applicant(seq=seq), timeout=30)
    assert r.status_code == 200, r.text
    return str(r.json()["pseudonym"])


def _positive(net: Pages, seq: str) -> str:
    """Someone a lab reports positive through the hub: red at the province by the feed (a
    transcoding with its latency), reported back to the hub."""
    person = applicant(seq=seq)
    pseudonym = _person(net, seq)
    now = datetime.now(CHINA_TZ).replace(microsecond=0)
    record = {
        "record_id": f"OPS-{person['id_number']}",
        **{k: person[k] for k in ("id_type", "id_number", "name", "phone")},
        "sampled_at": (now - timedelta(hours=6)).isoformat(),
        "resulted_at": (now - timedelta(minutes=5)).isoformat(),
        "result": "positive",
        "lab": "广州金域医学检验中心",
    }
    r = httpx.post(net.url("hub") + "/v1/records/nat", json=record, headers=net.token("lab"))
    assert r.status_code < 300, r.text
    province = _province(net)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with province.db.read() as s:
            if s.get(Colour, pseudonym).colour == "red":  # type: ignore[union-attr]
                return pseudonym
        time.sleep(0.1)
    raise AssertionError("the positive test did not turn the person red")


def _enter(page: Page, token: str) -> None:
    page.get_by_label("工作人员令牌").fill(token)
    page.get_by_role("button", name="进入").click()
    expect(page.locator("#who")).to_contain_text("已登录")


def _leave(page: Page) -> None:
    page.get_by_role("button", name="退出").click()
    expect(page.get_by_label("工作人员令牌")).to_be_visible()


def test_a_manual_red_proposed_by_one_operator_is_approved_by_another_from_the_dashboard(
    net: Pages, open_page: Callable[..., Page]
) -> None:
    province = _province(net)
    _, proposer = province.staff.add(name="王提议", roles=["operator"], region_code="440106")
    _, approver = province.staff.add(name="李审批", roles=["approver"], region_code="440106")
    person = _person(net, "401")
    page = open_page(net.url("440000") + "/ops")
    _enter(page, proposer)
    page.get_by_label("人员（假名，每行一个）").fill(person)
    page.get_by_label("颜色", exact=True).select_option("red")
    page.get_by_label("法律依据").select_option("IDL-39-1-3")
    page.get_by_label("证据类型").select_option("contact_tracing")
    page.get_by_label("证据编号").fill("CT-2026-0042")
    page.get_by_role("button", name="提出", exact=True).click()
    expect(page.locator("#proposed")).to_contain_text("等待另一名审批人批准")
    item = page.locator("#pending article")
    expect(item).to_have_count(1)
    expect(item).to_contain_text("红码")
    item.get_by_role("button", name="批准").click()  # the proposer may not approve it
    expect(page.locator("#decided")).to_have_text("不能批准自己提出的决定：须由另一名审批人批准。")
    with province.db.read() as s:
        assert s.get(Colour, person).colour == "green"  # type: ignore[union-attr]
    _leave(page)

    _enter(page, approver)
    expect(page.locator("#who")).to_contain_text("李审批")
    page.locator("#pending article").get_by_role("button", name="批准").click()
    expect(page.locator("#decided")).to_contain_text("已批准")
    expect(page.locator("#pending")).to_contain_text("没有待审批的人工赋码。")
    with province.db.read() as s:
        assert s.get(Colour, person).colour == "red"  # type: ignore[union-attr]
    guangzhou = page.locator("#heat tbody tr", has_text="广州市")
    expect(guangzhou.locator("td").nth(2)).not_to_have_text("0")  # red now
    expect(page.locator("#cards")).to_contain_text("待第二人审批")
    screenshot(page, "ops-phone", full_page=True)


def test_the_dashboards_at_desktop_width_in_both_languages_and_accessible(
    net: Pages, open_page: Callable[..., Page]
) -> None:
    province = _province(net)
    _, sup = province.staff.add(name="赵主管", roles=["supervisor"], region_code="440100")
    _, op = province.staff.add(name="钱操作", roles=["operator"], region_code="440100")
    people = [_person(net, "402"), _positive(net, "403")]
    bulk = {
        "subjects": people,
        "colour": "yellow",
        "legal_basis": "IDL-39-1-3",
        "evidence": [{"kind": "contact_tracing", "ref": "CT-2026-0043"}],
        "expires_at": "2099-01-01T00:00:00Z",
    }
    refused = httpx.post(
        net.url("440000") + "/v1/decisions", json=bulk, headers={"Authorization": f"Bearer {op}"}
    )
    assert refused.json()["error"]["code"] == "DECISION_BULK_ROLE"  # raises an alert at the hub

    page = open_page(net.url("440000") + "/ops", viewport=DESKTOP, bypass_csp=True)
    _enter(page, sup)
    expect(page.locator("#heat table")).to_be_visible()
    expect(page.locator("#trans-chart canvas")).to_be_visible()
    # the positive test's transcoding was timed from its arrival at the hub
    assert sum(province.tallies.transcodings(hours=2)["timed"]) >= 1
    assert serious_violations(page) == []
    screenshot(page, "ops-desktop", full_page=True)
    page.get_by_role("button", name="Switch to English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    heading = page.get_by_role("heading", name="Codes by colour per region (heat table)")
    expect(heading).to_be_visible()
    expect(page.locator("#who")).to_contain_text("Signed in: 赵主管")
    assert serious_violations(page) == []

    token = (net.folder.secrets / "operator.token").read_text().strip()
    hub = open_page(net.url("hub") + "/ops", viewport=PHONE, bypass_csp=True)
    hub.get_by_label("国家平台运营令牌").fill(token)
    hub.get_by_role("button", name="进入").click()
    expect(hub.locator("#alerts")).to_contain_text("批量赋码被拒绝", timeout=20_000)
    expect(hub.locator("#feeds")).to_contain_text("440000")
    expect(hub.locator("#ingest-chart canvas")).to_be_visible()
    expect(hub.locator("#ingest tbody")).to_contain_text("lab")
    assert serious_violations(hub) == []
    screenshot(hub, "hub-ops-phone", full_page=True)
    hub.set_viewport_size(DESKTOP)
    hub.get_by_role("button", name="Switch to English").click()
    expect(hub.get_by_role("heading", name="Bulk-decision alerts")).to_be_visible()
    expect(hub.locator("#alerts")).to_contain_text("Bulk decision refused")
    screenshot(hub, "hub-ops-desktop", full_page=True)


def _later_version(province: ProvinceService) -> tuple[str, str]:
    """The rule set in use and a later version as the province would keep it: one parameter
    longer and one rule's reason reworded."""
    document: dict[str, Any] = copy.deepcopy(dict(baseline().document))
    document["version"] = "9.1.0"
    document["parameters"]["close_contact_central_days"]["value"] = 10
    document["rules"][0]["reason"]["zh"] = "改写后的理由"
    document["rules"][0]["reason"]["en"] = "Reworded reason"
    document.pop("digest", None)
    document["digest"] = compute_digest(document)
    province.rulebook.note()
    current, _, overlay = province.rules.documents()
    rs = parse_ruleset(document)
    if overlay is not None:
        rs = apply_overlay(rs, overlay)
    with province.db.write() as s:
        if s.get(RuleSetVersion, rs.digest) is None:
            s.add(
                RuleSetVersion(
                    digest=rs.digest,
                    label=label_of(rs),
                    national=document,
                    overlay=overlay,
                    first_used_at=province.clock.now() + timedelta(hours=1),
                )
            )
    return current.digest, rs.digest


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_the_rules_page_shows_a_changed_rule_between_two_versions(
    net: Pages, open_page: Callable[..., Page], viewport: dict[str, int]
) -> None:
    old, new = _later_version(_province(net))
    rule_id = baseline().rules[0].id
    page = open_page(
        net.url("440000") + f"/rules?from={old}&to={new}", viewport=viewport, bypass_csp=True
    )
    expect(page.locator("#rules article").first).to_be_visible()
    changed = page.locator("#diff .changed-rule", has_text=rule_id)
    expect(changed).to_contain_text("改写后的理由")
    expect(changed.locator("del").first).to_be_visible()
    expect(page.locator("#diff")).to_contain_text("close_contact_central_days")
    expect(page.locator("#diff")).to_contain_text("7 → 10")
    assert serious_violations(page) == []
    page.evaluate("document.getElementById('compare').scrollIntoView()")  # the comparison
    screenshot(page, "rules-phone" if viewport is PHONE else "rules-desktop")
    page.get_by_role("button", name="Switch to English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", name="The colour rules in use")).to_be_visible()
    expect(page.locator("#diff")).to_contain_text("Changed")
    assert serious_violations(page) == []
