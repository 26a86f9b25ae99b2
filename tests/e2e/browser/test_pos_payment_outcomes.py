"""What the counter can do with a payment's outcome: one original receipt and copies after it, another try after
a refusal, a new QR after one expired, no idle lock over a live payment, and no cancel without asking."""
from __future__ import annotations

import json
import sqlite3
import time

from playwright.sync_api import Page, expect

from tests.e2e.browser.pos import (
    WECHAT_CODE, LiveAgent, LiveHub, look_up, needs_chromium, pay_by_code, place_order,
)

pytestmark = needs_chromium

DECLINED_CODE = "134567890123456791"  # the SwiftPass sandbox refuses it: 支付被拒绝
COPY_MARK = "重打印 / 副本"


def other_fee(page: Page, account_no: str, amount: str) -> str:
    """An order of other fees (no arrears, so no other test's bills are paid); its number."""
    look_up(page, "4", account_no)
    page.get_by_label("缴费金额（元）").fill(amount)
    return place_order(page)


def prints_of(live_agent: LiveAgent, order_no: str, count: int) -> str:
    """Wait until the agent printed order_no's receipt count times; everything it printed."""
    deadline = time.monotonic() + 20
    while (printed := live_agent.printed()).qr_codes.count(order_no) < count:
        assert time.monotonic() < deadline, f"{printed.qr_codes.count(order_no)} prints of {order_no}"
        time.sleep(0.1)
    assert printed.qr_codes.count(order_no) == count
    return printed.text


def idle_lock_after(page: Page, seconds: float) -> None:
    """The page's idle lock setting, in effect from the next key press."""
    page.evaluate(f"""localStorage.setItem('payhub.settings', JSON.stringify(
        {{...JSON.parse(localStorage.getItem('payhub.settings')), idleMinutes: {seconds / 60}}}))""")


def let_qr_expire(live_hub: LiveHub, order_no: str) -> None:
    """Move the QR's deadline to its start, as if its minutes had passed: the hub's poll then closes it."""
    assert live_hub.database is not None
    with sqlite3.connect(live_hub.database, timeout=10) as db:
        db.execute("UPDATE payments SET deadline = started_at WHERE order_id = (SELECT id FROM orders WHERE order_no = ?)",
                   (order_no,))


def test_the_original_prints_once_and_every_later_print_is_a_copy(counter: Page, live_agent: LiveAgent) -> None:
    printed = [live_agent.printed().text]
    order_no = other_fee(counter, "30010001", "2.01")
    pay_by_code(counter, WECHAT_CODE)
    expect(counter.get_by_role("heading", name="缴费成功")).to_be_visible(timeout=20_000)
    expect(counter.locator("#result-facts")).to_contain_text("实收金额")
    printed.append(prints_of(live_agent, order_no, 1))

    counter.keyboard.press("F3")
    counter.keyboard.press("F2")
    expect(counter.locator("#result-next")).to_be_focused()
    counter.keyboard.press("p")
    printed.append(prints_of(live_agent, order_no, 2))
    counter.get_by_role("button", name="打印凭条").click()
    printed.append(prints_of(live_agent, order_no, 3))
    # a reload that forgot the auto-print happened (or another tab) asks the hub, which answers with a copy
    counter.evaluate(f"localStorage.setItem('payhub.openOrder', {json.dumps(json.dumps({'order_no': order_no, 'printed': False}))})")
    counter.reload()
    printed.append(prints_of(live_agent, order_no, 4))
    receipts = [after.removeprefix(before) for before, after in zip(printed, printed[1:])]
    assert [COPY_MARK in receipt for receipt in receipts] == [False, True, True, True]

    counter.keyboard.press("Enter")
    expect(counter.get_by_role("heading", name="选择缴费类型")).to_be_visible()
    assert live_agent.printed().qr_codes.count(order_no) == 4


def test_a_refused_code_is_followed_by_another_code_on_the_same_order(counter: Page, live_hub: LiveHub) -> None:
    order_no = other_fee(counter, "30010001", "2.02")
    pay_by_code(counter, DECLINED_CODE)
    expect(counter.get_by_role("heading", name="支付失败")).to_be_visible(timeout=20_000)
    expect(counter.locator("#result-detail")).to_have_text("支付被拒绝")
    expect(counter.locator("#result-say")).to_contain_text("请告诉顾客")
    expect(counter.get_by_role("button", name="改用收款二维码")).to_be_visible()

    counter.keyboard.press("2")
    scan = counter.locator("#auth-code")
    expect(scan).to_be_focused()
    scan.press_sequentially(WECHAT_CODE, delay=3)
    scan.press("Enter")
    expect(counter.get_by_role("heading", name="缴费成功")).to_be_visible(timeout=20_000)
    order = live_hub.call("GET", f"/api/v1/orders/{order_no}")
    assert order["state"] == "fulfilled" and order["wallet"] == "wechat"


def test_a_refused_code_is_followed_by_the_qr_on_the_same_order(counter: Page, live_hub: LiveHub) -> None:
    order_no = other_fee(counter, "30010001", "2.03")
    pay_by_code(counter, DECLINED_CODE)
    counter.get_by_role("button", name="改用收款二维码").click()
    expect(counter.locator("#qr-image")).to_be_visible()
    expect(counter.locator('[data-name="qr"] .order-no')).to_have_text(order_no)

    live_hub.customer_pays(f"{order_no}-2")  # the order's second payment has its own number at the channel
    expect(counter.get_by_role("heading", name="缴费成功")).to_be_visible(timeout=20_000)
    assert live_hub.call("GET", f"/api/v1/orders/{order_no}")["state"] == "fulfilled"


def test_no_idle_lock_over_a_live_qr_and_an_expired_qr_offers_a_new_one(counter: Page, live_hub: LiveHub) -> None:
    idle_lock_after(counter, 2)
    order_no = other_fee(counter, "30010001", "7.70")
    counter.keyboard.press("1")
    expect(counter.locator("#qr-image")).to_be_visible()
    time.sleep(4)
    expect(counter.locator("#lock-overlay")).to_be_hidden()

    let_qr_expire(live_hub, order_no)
    expect(counter.get_by_role("heading", name="二维码已过期，订单已关闭")).to_be_visible(timeout=30_000)
    expect(counter.locator("#result-say")).to_contain_text("请告诉顾客")
    time.sleep(4)
    expect(counter.locator("#lock-overlay")).to_be_hidden()

    counter.keyboard.press("1")
    expect(counter.locator("#qr-image")).to_be_visible()
    new_order_no = counter.locator('[data-name="qr"] .order-no').inner_text()
    assert new_order_no != order_no
    fresh = live_hub.call("GET", f"/api/v1/orders/{new_order_no}")
    assert (fresh["state"], fresh["amount"], fresh["fee_type"], fresh["account_no"]) == ("paying", 770, "other", "30010001")
    counter.locator('[data-name="qr"] .cancel-order').click()
    expect(counter.get_by_role("heading", name="订单已关闭")).to_be_visible(timeout=20_000)
    counter.keyboard.press("Enter")
    time.sleep(4)  # acknowledged: the idle lock is back
    expect(counter.locator("#lock-overlay")).to_be_visible()


def test_escape_on_the_payment_choice_asks_before_cancelling(counter: Page, live_hub: LiveHub) -> None:
    order_no = other_fee(counter, "30010001", "8.80")

    counter.keyboard.press("Escape")
    expect(counter.get_by_text("确定取消这笔订单吗？")).to_be_visible()
    assert live_hub.call("GET", f"/api/v1/orders/{order_no}")["state"] == "created"
    counter.keyboard.press("Escape")
    expect(counter.get_by_role("heading", name="选择支付方式")).to_be_visible()
    expect(counter.get_by_text("确定取消这笔订单吗？")).to_be_hidden()

    counter.keyboard.press("Escape")
    counter.get_by_role("button", name="确定取消").click()
    expect(counter.get_by_role("heading", name="订单已关闭")).to_be_visible()
    expect(counter.locator("#result-facts")).not_to_contain_text("method.")
    assert live_hub.call("GET", f"/api/v1/orders/{order_no}")["state"] == "closed"


def test_the_printer_status_reads_naturally_in_english(counter: Page) -> None:
    expect(counter.locator("#printer-status")).to_have_text("打印机：就绪")
    counter.get_by_role("button", name="English").click()
    expect(counter.locator("#printer-status")).to_have_text("Printer: ready")
