"""The counter flows in the page: QR, payment code as a scanner types it, other fees, a refused posting."""
from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.e2e.browser.pos import WECHAT_CODE, LiveHub, look_up, needs_chromium, pay_by_code, pay_by_qr, place_order, prepay, shoot

pytestmark = needs_chromium


def test_gas_arrears_paid_by_qr(counter: Page, live_hub: LiveHub) -> None:
    look_up(counter, "1", "10010001")
    expect(counter.locator("#arrears-customer")).to_have_text(re.compile(r"^王\*"))
    expect(counter.locator("#bills tr")).to_have_count(4)
    total = counter.locator("#total-due").inner_text()
    expect(counter.get_by_label("缴费金额（元）")).to_have_value(total)
    shoot(counter, "04-arrears")

    order_no = place_order(counter)
    expect(counter.locator('[data-name="pay"] .amount-big')).to_have_text(f"¥ {total}")
    pay_by_qr(counter, live_hub, order_no, screenshot="05-qr")

    expect(counter.get_by_role("heading", name="缴费成功")).to_be_visible(timeout=20_000)
    expect(counter.locator("#result-facts")).to_contain_text(order_no)
    shoot(counter, "06-paid")
    assert live_hub.call("GET", f"/api/v1/orders/{order_no}")["state"] == "fulfilled"

    counter.keyboard.press("Enter")
    expect(counter.get_by_role("heading", name="选择缴费类型")).to_be_visible()


def test_water_paid_by_payment_code_typed_by_a_scanner(counter: Page, live_hub: LiveHub) -> None:
    look_up(counter, "2", "20010001")
    order_no = place_order(counter)
    shoot(counter, "07-pay-choice")
    pay_by_code(counter, "9912345")
    expect(counter.get_by_text("无法识别的付款码")).to_be_visible()
    expect(counter.locator("#auth-code")).to_be_focused()

    counter.locator("#auth-code").press_sequentially(WECHAT_CODE, delay=3)
    counter.locator("#auth-code").press("Enter")
    expect(counter.get_by_role("heading", name="缴费成功")).to_be_visible(timeout=20_000)
    expect(counter.locator("#result-facts")).to_contain_text("微信")
    order = live_hub.call("GET", f"/api/v1/orders/{order_no}")
    assert order["state"] == "fulfilled" and order["wallet"] == "wechat" and order["pay_method"] == "micropay"


def test_payment_code_waits_while_the_customer_confirms(counter: Page) -> None:
    prepay(counter, "2", "20010001", "30")
    pay_by_code(counter, "134567890123456795")
    expect(counter.get_by_text("支付中，请顾客在手机上确认")).to_be_visible()
    expect(counter.locator("#code-countdown")).to_have_text(re.compile(r"等待确认 0:\d\d"))
    shoot(counter, "08-paying")
    expect(counter.get_by_role("heading", name="缴费成功")).to_be_visible(timeout=30_000)


def test_other_fee_prepaid(counter: Page, live_hub: LiveHub) -> None:
    look_up(counter, "4", "30010001")
    amount = counter.get_by_label("缴费金额（元）")
    expect(amount).to_be_focused()
    amount.fill("12.345")
    amount.press("Enter")
    expect(counter.get_by_text("请输入正确的金额")).to_be_visible()
    amount.fill("88.50")
    order_no = place_order(counter)
    pay_by_qr(counter, live_hub, order_no)
    expect(counter.get_by_role("heading", name="缴费成功")).to_be_visible(timeout=20_000)
    order = live_hub.call("GET", f"/api/v1/orders/{order_no}")
    assert order["fee_type"] == "other" and order["amount"] == 8850 and order["state"] == "fulfilled"


def test_refused_posting_is_refunded(counter: Page, live_hub: LiveHub) -> None:
    look_up(counter, "1", "10010091")
    order_no = place_order(counter)
    pay_by_qr(counter, live_hub, order_no)
    expect(counter.get_by_role("heading", name="缴费失败，已原路退款")).to_be_visible(timeout=45_000)
    shoot(counter, "09-refunded")
    assert live_hub.call("GET", f"/api/v1/orders/{order_no}")["state"] == "refunded"


def test_declined_payment_shows_the_reason(counter: Page) -> None:
    prepay(counter, "2", "20010001", "20")
    pay_by_code(counter, "134567890123456791")
    expect(counter.get_by_role("heading", name="支付失败")).to_be_visible(timeout=20_000)
    expect(counter.locator("#result-detail")).not_to_be_empty()
    shoot(counter, "10-declined")
