"""Receipts printed through the terminal agent to a file printer, decoded from the ESC/POS bytes it wrote;
device status in the page; a failed print printed again later; the end-of-shift summary."""
from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.e2e.browser.pos import LiveAgent, LiveHub, look_up, needs_chromium, pay_by_qr, place_order, shoot

pytestmark = needs_chromium


def test_payment_receipt_printed_by_the_agent_and_reprinted_as_a_copy(counter: Page, live_hub: LiveHub,
                                                                      live_agent: LiveAgent) -> None:
    expect(counter.locator("#printer-status")).to_have_text("打印机：就绪")
    look_up(counter, "3", "30010001")
    order_no = place_order(counter)
    pay_by_qr(counter, live_hub, order_no)
    expect(counter.get_by_text("凭条已打印")).to_be_visible(timeout=20_000)
    printed = live_agent.printed()
    assert order_no in printed.qr_codes
    amount = counter.locator(".amount-big").first.inner_text().removeprefix("¥ ")
    assert "缴费凭条" in printed.text and "营业费" in printed.text and amount in printed.text

    counter.get_by_role("button", name="浏览器打印").click()
    expect(counter.locator("iframe.print-frame")).to_have_attribute("srcdoc", re.compile(order_no))
    expect(counter.locator("iframe.print-frame")).to_have_attribute("data-printed", "1")

    counter.keyboard.press("F3")
    counter.locator(f'#orders-rows tr[data-order="{order_no}"]').click()
    counter.get_by_role("button", name="补打凭条").click()
    expect(counter.locator("#detail-dialog")).to_contain_text("凭条已打印")
    again = live_agent.printed()
    assert again.qr_codes.count(order_no) == 2 and again.text.count("重打印 / 副本") > printed.text.count("重打印 / 副本")


def test_a_failed_print_is_kept_and_printed_again_later(counter: Page, live_hub: LiveHub, live_agent: LiveAgent) -> None:
    counter.evaluate("""localStorage.setItem('payhub.settings', JSON.stringify({agentUrl: 'http://127.0.0.1:9'}))""")
    counter.reload()
    expect(counter.locator("#printer-status")).to_have_text("终端助手未连接")
    look_up(counter, "4", "30010001")
    counter.get_by_label("缴费金额（元）").fill("6.60")
    order_no = place_order(counter)
    pay_by_qr(counter, live_hub, order_no)
    expect(counter.get_by_text("打印失败：无法连接终端助手")).to_be_visible(timeout=20_000)
    expect(counter.locator("#unprinted-button")).to_have_text("未打印凭条（1）")
    shoot(counter, "13-print-failed")

    counter.get_by_role("button", name="设置").click()
    counter.get_by_label("终端助手地址").fill(live_agent.base_url)
    counter.get_by_role("button", name="保存").click()
    expect(counter.locator("#printer-status")).to_have_text("打印机：就绪")
    counter.locator("#unprinted-button").click()
    counter.get_by_role("button", name="重新打印").click()
    expect(counter.locator("#unprinted-button")).to_be_hidden()
    assert order_no in live_agent.printed().qr_codes


def test_end_of_shift_summary_is_shown_and_printed(counter: Page, live_hub: LiveHub, live_agent: LiveAgent) -> None:
    live_hub.paid_order(fee_type="gas", account_no="10010005")
    counter.keyboard.press("F4")
    summary = counter.locator("#shift-summary")
    expect(summary).to_contain_text("交班汇总")
    expect(summary).to_contain_text("收款合计")
    shoot(counter, "14-shift")
    counter.get_by_role("button", name="打印交班单").click()
    expect(counter.locator('[data-name="shift"] [data-message]')).to_have_text("凭条已打印")
    assert "交班汇总" in live_agent.printed().text
