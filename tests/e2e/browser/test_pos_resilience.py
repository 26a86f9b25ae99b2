"""Faults at the counter: the network drops, the page reloads, the operator clicks twice, the API refuses."""
from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.e2e.browser.pos import LiveHub, look_up, needs_chromium, pay_by_qr, place_order, prepay, shoot

pytestmark = needs_chromium


def orders_of(live_hub: LiveHub, account_no: str) -> list[dict]:
    return live_hub.call("GET", "/api/v1/orders", params={"account_no": account_no})["orders"]


def test_network_loss_shows_a_banner_and_the_open_order_resumes(counter: Page, live_hub: LiveHub) -> None:
    order_no = prepay(counter, "2", "20010001", "100")
    pay_by_qr(counter, live_hub, order_no)  # the customer pays while the counter is cut off
    counter.context.set_offline(True)
    expect(counter.locator("#offline-banner")).to_be_visible(timeout=30_000)
    shoot(counter, "15-offline")
    counter.context.set_offline(False)
    expect(counter.get_by_role("heading", name="缴费成功")).to_be_visible(timeout=30_000)
    expect(counter.locator("#offline-banner")).to_be_hidden()


def test_a_reload_comes_back_to_the_open_order(counter: Page, live_hub: LiveHub) -> None:
    look_up(counter, "4", "30010001")
    counter.get_by_label("缴费金额（元）").fill("7.70")
    order_no = place_order(counter)
    counter.keyboard.press("1")
    expect(counter.locator("#qr-image")).to_be_visible()
    counter.reload()
    expect(counter.locator("#qr-image")).to_be_visible()
    expect(counter.locator('[data-name="qr"] .order-no')).to_have_text(order_no)
    counter.keyboard.press("Escape")
    expect(counter.get_by_role("heading", name="订单已关闭")).to_be_visible(timeout=20_000)


def test_a_double_click_and_a_resend_after_a_network_loss_place_one_order(counter: Page, live_hub: LiveHub) -> None:
    look_up(counter, "4", "40010077")
    counter.get_by_label("缴费金额（元）").fill("3.30")
    counter.locator("#place-button").dblclick()
    expect(counter.get_by_role("heading", name="选择支付方式")).to_be_visible()
    assert len(orders_of(live_hub, "40010077")) == 1
    counter.keyboard.press("Escape")
    counter.get_by_role("button", name="确定取消").click()
    expect(counter.get_by_role("heading", name="订单已关闭")).to_be_visible(timeout=20_000)
    counter.keyboard.press("Enter")

    look_up(counter, "4", "30010001")
    counter.get_by_label("缴费金额（元）").fill("4.40")
    counter.context.set_offline(True)
    counter.get_by_label("缴费金额（元）").press("Enter")
    expect(counter.locator("#offline-banner")).to_be_visible()
    counter.context.set_offline(False)
    expect(counter.get_by_role("heading", name="选择支付方式")).to_be_visible()
    order_no = counter.locator('[data-name="pay"] .order-no').inner_text()
    assert [o["order_no"] for o in orders_of(live_hub, "30010001") if o["amount"] == 440] == [order_no]


def test_the_apis_own_error_is_shown_in_plain_chinese(counter: Page) -> None:
    look_up(counter, "1", "10010005")
    expect(counter.locator('[data-mode="prepay"]')).to_be_disabled()
    counter.locator("#account-form").get_by_label("户号").fill("99999999")
    counter.locator("#account-form").get_by_label("户号").press("Enter")
    expect(counter.get_by_text("户号不存在：99999999")).to_be_visible()
