"""The grid worker's page in headless Chromium: sign in with a staff token, the grid's tasks
(who, what the rule asks, deadline, contact), the overdue filter; a contact recorded offline is
kept on the phone (the page reloads offline from its service worker) and arrives at the
province once back online, exactly once even when the queue sends it twice; the language
switch; accessibility; screenshots."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from live_pages import DESKTOP, Pages, screenshot, serious_violations
from playwright.sync_api import Page, expect
from sqlalchemy import select

from healthcode.core.clock import CHINA_TZ
from healthcode.province.grid.models import GridTask, GridTaskEvent
from healthcode.province.service import ProvinceService

GRID = "TH-PAGES"


def _province(net: Pages) -> ProvinceService:
    province = net.services["440000"].loops
    assert isinstance(province, ProvinceService)
    return province


def _positive(net: Pages, person: dict[str, Any]) -> None:
    """A lab reports a positive NAT of ``person`` to the hub (the province turns them red)."""
    now = datetime.now(CHINA_TZ).replace(microsecond=0)
    record = {
        "record_id": f"GRID-{person['id_number']}",
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


@pytest.fixture(scope="module")
def worker(net: Pages) -> Iterator[dict[str, str]]:
    """A grid worker of a grid of 440106 and the task of a person there who tested positive."""
    province = _province(net)
    province.grid.load_csv(f"region_code,grid_id,name\n440106,{GRID},天河示范网格\n")
    _, token = province.staff.add(
        name="李网格", roles=["grid-worker"], region_code="440106", grid_id=GRID
    )
    person = net.applied("701")
    pseudonym = httpx.post(net.url("440000") + "/v1/applications", json=person).json()["pseudonym"]
    _positive(net, person)
    headers = {"Authorization": f"Bearer {token}"}
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        tasks = httpx.get(net.url("440000") + "/v1/grid/tasks", headers=headers).json()["tasks"]
        mine = [t for t in tasks if t["pseudonym"] == pseudonym]
        if mine:
            yield {"token": token, "task": mine[0]["id"]}
            return
        time.sleep(0.1)
    raise AssertionError("no grid task for the person who tested positive")


def _events(net: Pages, task_id: str) -> list[tuple[str, str | None, str | None]]:
    with _province(net).db.read() as s:
        rows = s.execute(
            select(GridTaskEvent).where(GridTaskEvent.task_id == task_id).order_by(GridTaskEvent.id)
        ).scalars()
        return [(e.action, e.to_state, e.action_id) for e in rows]


def _overdue(net: Pages, task_id: str) -> None:
    """The task's first contact was due an hour ago."""
    with _province(net).db.write() as s:
        task = s.get(GridTask, task_id)
        assert task is not None
        task.contact_due = datetime.now(CHINA_TZ) - timedelta(hours=1)


def _signed_in(net: Pages, open_page: Callable[..., Page], token: str, **kw: Any) -> Page:
    page = open_page(net.url("440000") + "/grid", **kw)
    expect(page.get_by_role("heading", name="网格员登录")).to_be_visible()
    page.get_by_label("工作令牌（以 hcs_ 开头）").fill(token)
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("heading", name="我的网格任务")).to_be_visible()
    return page


def test_a_contact_recorded_offline_arrives_once_back_online(
    net: Pages, open_page: Callable[..., Page], worker: dict[str, str]
) -> None:
    task_id = worker["task"]
    _overdue(net, task_id)
    page = _signed_in(net, open_page, worker["token"])
    card = page.locator(f"article[aria-labelledby='who-{task_id}']")
    expect(card).to_contain_text("已逾期")
    expect(card).to_contain_text("核酸阳性")
    expect(card.get_by_role("link", name="拨打 13812345678")).to_be_visible()
    expect(card).to_contain_text("新任务")
    page.get_by_label("只看逾期").check()
    expect(card).to_be_visible()
    screenshot(page, "grid-phone")
    assert page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    expect(page.locator("#net")).to_have_text("在线")

    page.context.set_offline(True)
    card.get_by_label("记录情况").select_option(label="已联系")
    card.get_by_label("备注（选填）").fill("电话已联系，已告知居家等待转运")
    card.get_by_role("button", name="保存记录").click()
    expect(page.locator("#queue-state")).to_contain_text("1 条记录待发送")
    expect(card).to_contain_text("已联系（待发送）")
    expect(page.locator("#net")).to_contain_text("离线")
    assert [e for e in _events(net, task_id) if e[0] == "state"] == []
    # the page comes back offline from its service worker, the queue and tasks from the phone
    reloaded = page.reload()
    assert reloaded is not None and reloaded.from_service_worker
    expect(card).to_contain_text("已联系（待发送）")
    screenshot(page, "grid-offline-phone")
    # the answer to a first send was lost: the same action sits twice in the queue
    page.evaluate(
        """() => { const q = JSON.parse(localStorage.getItem('hc-grid-queue'));
                   localStorage.setItem('hc-grid-queue', JSON.stringify([q[0], q[0]])); }"""
    )
    page.context.set_offline(False)
    page.evaluate("window.dispatchEvent(new Event('online'))")
    expect(page.locator("#queue-state")).to_have_text("所有记录已发送", timeout=15000)
    expect(card).to_contain_text("已联系")
    expect(card).not_to_contain_text("待发送")
    states = [e for e in _events(net, task_id) if e[0] == "state"]
    assert len(states) == 1 and states[0][1] == "contacted" and states[0][2]
    answer = httpx.get(
        f"{net.url('440000')}/v1/grid/tasks/{task_id}",
        headers={"Authorization": f"Bearer {worker['token']}"},
    ).json()
    assert answer["state"] == "contacted"
    assert [e["note"] for e in answer["events"] if e["action"] == "state"] == [
        "电话已联系，已告知居家等待转运"
    ]


def test_a_bad_token_is_refused_and_sign_out_clears_the_phone(
    net: Pages, open_page: Callable[..., Page], worker: dict[str, str]
) -> None:
    page = open_page(net.url("440000") + "/grid")
    page.get_by_label("工作令牌（以 hcs_ 开头）").fill("hcs_" + "x" * 43)
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("alert")).to_have_text("令牌无效或已停用。")
    page.get_by_label("工作令牌（以 hcs_ 开头）").fill(worker["token"])
    page.get_by_role("button", name="登录").click()
    page.get_by_role("button", name="退出登录").click()
    expect(page.get_by_role("heading", name="网格员登录")).to_be_visible()
    assert page.evaluate("Object.keys(localStorage).filter(k => k.startsWith('hc-grid'))") == []


def test_a_refused_action_is_shown_and_nothing_waiting_is_signed_out(
    net: Pages, open_page: Callable[..., Page], worker: dict[str, str]
) -> None:
    page = _signed_in(net, open_page, worker["token"])
    page.context.set_offline(True)
    page.evaluate(
        """(task) => localStorage.setItem('hc-grid-queue', JSON.stringify([{id: 'refused-0001',
             task_id: task, at: new Date().toISOString(),
             body: {state: 'new', action_id: 'refused-0001'}}]))""",
        worker["task"],
    )
    page.get_by_role("button", name="退出登录").click()
    expect(page.get_by_role("alert")).to_have_text("还有 1 条记录未发送，请联网发送后再退出。")
    page.context.set_offline(False)
    page.get_by_role("button", name="同步").click()
    refused = page.get_by_role("region", name="未被接受的记录")
    expect(refused).to_contain_text("新任务（状态不能这样变更）")
    expect(page.locator("#queue-state")).to_have_text("所有记录已发送")
    assert "refused-0001" not in [e[2] for e in _events(net, worker["task"])]
    page.get_by_role("button", name="知道了").click()
    expect(refused).to_be_hidden()
    card = page.locator(f"article[aria-labelledby='who-{worker['task']}']")
    region = card.get_by_label("新住址地区码（6 位数字）")
    expect(region).to_be_hidden()
    card.get_by_label("记录情况").select_option(label="已迁出")
    expect(region).to_be_visible()
    card.get_by_role("button", name="保存记录").click()
    expect(page.get_by_role("alert")).to_have_text("请填写 6 位新住址地区码。")
    expect(region).to_be_focused()
    expect(page.locator("#queue-state")).to_have_text("所有记录已发送")


def test_a_sync_while_the_worker_fills_in_a_record_keeps_what_they_typed(
    net: Pages, open_page: Callable[..., Page], worker: dict[str, str]
) -> None:
    """A sync redraws the cards (coming back online, the timer or the button may start one at
    any moment); the record being filled in, and the field being typed in, survive it."""
    page = _signed_in(net, open_page, worker["token"])
    card = page.locator(f"article[aria-labelledby='who-{worker['task']}']")
    card.get_by_label("记录情况").select_option(label="已迁出")
    region = card.get_by_label("新住址地区码（6 位数字）")
    region.fill("4401")
    card.get_by_label("备注（选填）").fill("已搬家")
    card.evaluate("(node) => { node.dataset.before = 'yes'; }")
    region.focus()
    page.evaluate("() => window.dispatchEvent(new Event('online'))")
    expect(page.locator("article[data-before]")).to_have_count(0)
    expect(card.get_by_label("记录情况")).to_have_value("moved_away")
    expect(region).to_be_visible()
    expect(region).to_have_value("4401")
    expect(region).to_be_focused()
    expect(card.get_by_label("备注（选填）")).to_have_value("已搬家")
    page.reload()  # a draft lives in the page, not on the phone
    expect(region).to_be_hidden()


def test_the_language_switch_and_accessibility_of_the_grid_page(
    net: Pages, open_page: Callable[..., Page], worker: dict[str, str]
) -> None:
    page = open_page(net.url("440000") + "/grid", bypass_csp=True)
    assert serious_violations(page) == []
    page.get_by_role("button", name="Switch to English").click()
    expect(page.get_by_role("heading", name="Grid worker sign-in")).to_be_visible()
    assert page.evaluate("document.documentElement.lang") == "en"
    page.get_by_label("Staff token (starts with hcs_)").fill(worker["token"])
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="My grid's tasks")).to_be_visible()
    expect(page.locator(f"article[aria-labelledby='who-{worker['task']}']")).to_contain_text(
        "Positive NAT"
    )
    assert serious_violations(page) == []
    page.get_by_role("button", name="切换到中文").click()
    expect(page.get_by_role("heading", name="我的网格任务")).to_be_visible()
    assert page.evaluate("document.documentElement.lang") == "zh-CN"
    assert serious_violations(page) == []
    desktop = _signed_in(net, open_page, worker["token"], viewport=DESKTOP)
    screenshot(desktop, "grid-desktop")
