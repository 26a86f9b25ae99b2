"""The page in English: the print message and the shift summary follow a switch on a screen already shown,
and the order history's reasons read in English; the words staff read without asking (issue 10, items 10-11)."""
from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.e2e.browser.pos import WECHAT_CODE, LiveHub, look_up, needs_chromium, pay_by_code, place_order

pytestmark = needs_chromium


def to_english(page: Page) -> None:
    page.get_by_role("button", name="English").click()
    expect(page.get_by_role("button", name="中文")).to_be_visible()


def to_chinese(page: Page) -> None:
    page.get_by_role("button", name="中文").click()


def test_switching_to_english_turns_what_is_shown_into_english(counter: Page, live_hub: LiveHub) -> None:
    look_up(counter, "4", "30010001")  # other fees: no arrears
    counter.get_by_label("缴费金额（元）").fill("3.05")
    order_no = place_order(counter)
    pay_by_code(counter, WECHAT_CODE)
    expect(counter.get_by_role("heading", name="缴费成功")).to_be_visible(timeout=20_000)
    message = counter.locator('[data-name="result"] [data-message]')
    expect(message).to_have_text("凭条已打印")
    to_english(counter)
    expect(message).to_have_text("Receipt printed")
    to_chinese(counter)
    counter.get_by_role("button", name="下一位").click()

    to_english(counter)
    counter.keyboard.press("F3")
    scan = counter.locator("#order-scan-form input")
    scan.click()
    scan.press_sequentially(order_no, delay=3)
    scan.press("Enter")
    history = counter.locator("#detail-history li")
    expect(history).to_have_count(4)
    expect(history.first).to_contain_text("Payment code")
    expect(history.last).to_contain_text("Fulfilled")
    expect(counter.locator("#detail-history")).not_to_contain_text("支付渠道确认已支付")
    counter.locator("#detail-dialog").get_by_role("button", name="Close").click()
    to_chinese(counter)

    counter.keyboard.press("F4")
    summary = counter.locator("#shift-summary")
    expect(summary).to_contain_text("交班汇总")
    to_english(counter)
    expect(summary).to_contain_text("End-of-shift summary")
    expect(summary).not_to_contain_text("交班汇总")


def test_words_staff_read_without_asking(counter: Page) -> None:
    business = counter.locator('#fee-types [data-fee="business"]')
    expect(business).to_have_attribute("title", "营业费：开户、过户、换表等营业收费")
    expect(business.locator(".fee-hint")).to_be_visible()  # a touch screen has no hover
    counter.keyboard.press("F3")
    expect(counter.locator("#orders-form").get_by_label("仅看本人（本机）")).to_be_visible()
    counter.keyboard.press("F4")
    expect(counter.locator("#shift-summary")).to_contain_text("按支付渠道")
