"""What supervisors and customers read (issue 10): a refund's effect at TCIS before it is confirmed and on its
slip, receipts with units, capitals and bill periods, manual orders in the shift, and the order list's pages."""
from __future__ import annotations

import re
import secrets

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.e2e.browser.pos import (
    SUPERVISOR, SUPERVISOR_PASSWORD, LiveAgent, LiveHub, look_up, needs_chromium, pay_by_code, pay_by_qr, place_order,
    shoot,
)

pytestmark = needs_chromium
REFUND_FAILS = "134567890123456797"  # the SwiftPass sandbox answers every refund of this code FAIL


@pytest.fixture
def fresh_tcis(live_hub: LiveHub) -> None:
    """The TCIS sandbox back at its seed, so that the accounts used here owe their seeded bills again."""
    httpx.post(f"{live_hub.base_url}/sandbox/tcis/_sandbox/reset", timeout=10).raise_for_status()


def open_order(page: Page, order_no: str) -> None:
    page.keyboard.press("F3")
    scan = page.locator("#order-scan-form input")
    scan.fill(order_no)
    scan.press("Enter")
    expect(page.locator("#detail-dialog")).to_contain_text(order_no)


def printed_since(live_agent: LiveAgent, before: int) -> str:
    return live_agent.printed().text[before:]


def test_a_partial_refund_shows_what_it_does_at_the_biller_and_prints_it(
        counter: Page, live_hub: LiveHub, live_agent: LiveAgent, fresh_tcis: None) -> None:
    order = live_hub.paid_order(fee_type="gas", account_no="10010002")  # bills 2026-04, 2026-05 and 2026-06: 288.70
    open_order(counter, order["order_no"])
    counter.get_by_role("button", name="退款", exact=True).click()
    dialog = counter.locator("#refund-dialog")
    amount = dialog.get_by_label("退款金额（元）")
    expect(amount).to_have_value("")  # nothing pre-filled: the supervisor types what goes back

    amount.fill("50.00")
    effect = dialog.locator("#refund-effect")
    expect(effect).to_contain_text("重新欠费 2026-06")
    expect(effect).to_contain_text("66.50")
    expect(effect).to_contain_text("转为预存")
    expect(effect).to_contain_text("16.50")
    shoot(counter, "15-refund-effect")
    before = len(live_agent.printed().text)
    dialog.get_by_label("主管用户名").fill(SUPERVISOR)
    dialog.get_by_label("主管密码").fill(SUPERVISOR_PASSWORD)
    dialog.get_by_role("button", name="确认退款").click()
    expect(counter.locator("#detail-dialog [data-message]")).to_contain_text("凭条已打印", timeout=20_000)

    slip = printed_since(live_agent, before)
    assert "退款凭条" in slip and "处理中" not in slip
    assert "重新欠费 2026-06" in slip and "66.50元" in slip and "转为预存" in slip and "16.50元" in slip
    assert "伍拾元整" in slip and "50.00元" in slip
    tcis = httpx.get(f"{live_hub.base_url}/sandbox/tcis/_sandbox/customers", timeout=10).json()
    customer = next(c for c in (tcis["customers"] if isinstance(tcis, dict) else tcis) if c["account_no"] == "10010002")
    assert [b["period"] for b in customer["bills"]] == ["2026-06"] and customer["prepaid_balance"] == 1650


def test_a_payment_receipt_has_units_capitals_and_periods_and_a_refused_one_is_a_refund_notice(
        counter: Page, live_hub: LiveHub, live_agent: LiveAgent, fresh_tcis: None) -> None:
    before = len(live_agent.printed().text)
    look_up(counter, "2", "20010001")  # water: 2026-04 34.50, 2026-05 31.20, 2026-06 28.60
    order_no = place_order(counter)
    pay_by_qr(counter, live_hub, order_no)
    expect(counter.get_by_text("凭条已打印")).to_be_visible(timeout=20_000)
    receipt = printed_since(live_agent, before)
    assert "缴费凭条" in receipt and "94.30元" in receipt and "玖拾肆元叁角整" in receipt
    assert "2026-04、2026-05、2026-06" in receipt and "请妥善保管本凭条" in receipt

    counter.get_by_role("button", name=re.compile("下一位")).click()
    before = len(live_agent.printed().text)
    look_up(counter, "1", "10010091")  # TCIS refuses every posting of this account
    order_no = place_order(counter)
    pay_by_qr(counter, live_hub, order_no)
    expect(counter.get_by_role("heading", name="缴费失败，已原路退款")).to_be_visible(timeout=45_000)
    expect(counter.get_by_text("凭条已打印")).to_be_visible(timeout=20_000)
    notice = printed_since(live_agent, before)
    assert "退款通知" in notice and "缴费凭条" not in notice
    assert "该户已冻结" in notice and "款项原路退回" in notice


def test_the_58mm_receipt_keeps_labels_and_order_numbers_on_one_line(counter: Page, live_hub: LiveHub,
                                                                     fresh_tcis: None) -> None:
    order = live_hub.paid_order(fee_type="gas", account_no="10010001")
    html = counter.evaluate("""async (orderNo) => {
        const { api } = await import("/pos/js/hub.js");
        return api.receiptHtml(`orders/${orderNo}`, { paper_mm: "58", copy: "true" });
    }""", order["order_no"])
    counter.set_viewport_size({"width": 400, "height": 900})
    counter.set_content(html)
    cells = counter.evaluate("""() => [...document.querySelectorAll("td")].filter((td) => td.textContent.trim()).map(
        (td) => ({ text: td.textContent, lines: Math.round(td.getBoundingClientRect().height /
                                                           parseFloat(getComputedStyle(td).lineHeight)) }))""")
    assert any(cell["text"] == order["order_no"] for cell in cells)
    assert [cell for cell in cells if cell["lines"] > 1] == []


def test_a_manual_order_is_counted_in_the_shift_and_its_history_reads_well(counter: Page, live_hub: LiveHub,
                                                                          fresh_tcis: None) -> None:
    look_up(counter, "1", "10010091")  # the posting is refused, then the refund of this code fails too
    order_no = place_order(counter)
    pay_by_code(counter, REFUND_FAILS)
    expect(counter.locator('[data-name="result"]')).to_contain_text("人工", timeout=45_000)
    counter.get_by_role("button", name=re.compile("下一位")).click()

    counter.keyboard.press("F4")
    summary = counter.locator("#shift-summary")
    expect(summary).to_contain_text(re.compile(r"待人工处理 [1-9]\d*笔"))
    for words in ("班次开始", "班次结束", "主管授权退款", "系统自动退款", "交班人", "接班人", "主管"):
        expect(summary).to_contain_text(words)
    shoot(counter, "16-shift-manual")

    open_order(counter, order_no)
    history = counter.locator("#detail-history")
    expect(history).to_contain_text("渠道退款失败：")
    expect(history).not_to_contain_text("failed:")


def test_the_order_list_pages_and_totals_the_whole_filter(counter: Page, live_hub: LiveHub) -> None:
    account_no = f"7{secrets.randbelow(10**7):07d}"
    for _ in range(51):
        live_hub.call("POST", "/api/v1/orders", body={
            "out_trade_no": secrets.token_hex(8), "fee_type": "other", "account_no": account_no, "amount": 123})
    counter.keyboard.press("F3")
    form = counter.locator("#orders-form")
    form.get_by_label("户号").fill(account_no)
    form.get_by_label("户号").press("Enter")
    rows = counter.locator("#orders-rows tr")
    expect(rows).to_have_count(50)
    expect(counter.locator("#orders-totals")).to_have_text("共 51 笔，合计 ¥ 62.73")
    expect(counter.locator("#orders-page")).to_have_text("第 1 / 2 页")
    header = counter.locator("table.orders thead")
    expect(header).to_contain_text("柜员")
    expect(header).to_contain_text("终端")
    expect(rows.first).to_contain_text("张柜员")
    shoot(counter, "17-orders-pages")
    counter.get_by_role("button", name="下一页").click()
    expect(rows).to_have_count(1)
    expect(counter.locator("#orders-page")).to_have_text("第 2 / 2 页")
    expect(counter.locator("#orders-totals")).to_have_text("共 51 笔，合计 ¥ 62.73")
    expect(counter.get_by_role("button", name="下一页")).to_be_disabled()
