"""The orders screen: the list with filters, detail with history, refunds with the supervisor, export."""
from __future__ import annotations

import csv
import io

from openpyxl import load_workbook
from playwright.sync_api import Page, expect

from tests.e2e.browser.pos import SUPERVISOR, SUPERVISOR_PASSWORD, LiveHub, needs_chromium, shoot

pytestmark = needs_chromium


def show_orders_of(page: Page, account_no: str) -> None:
    page.keyboard.press("F3")
    form = page.locator("#orders-form")
    form.get_by_label("户号").fill(account_no)
    form.get_by_label("户号").press("Enter")
    expect(page.locator("#orders-rows tr")).to_have_count(1)


def refund(page: Page, amount: str, password: str = SUPERVISOR_PASSWORD) -> None:
    page.get_by_role("button", name="退款", exact=True).click()
    dialog = page.locator("#refund-dialog")
    dialog.get_by_label("退款金额（元）").fill(amount)
    fen = round(float(amount) * 100)
    expect(dialog.locator("#refund-effect")).to_have_attribute("data-amount", str(fen))  # confirmed after it is seen
    dialog.get_by_label("主管用户名").fill(SUPERVISOR)
    dialog.get_by_label("主管密码").fill(password)
    dialog.get_by_role("button", name="确认退款").click()


def test_refunds_of_a_past_order_with_the_supervisor_on_the_spot(counter: Page, live_hub: LiveHub) -> None:
    order = live_hub.paid_order(fee_type="gas", account_no="10010002")
    show_orders_of(counter, "10010002")
    shoot(counter, "11-orders")
    scan = counter.locator("#order-scan-form input")
    scan.click()
    scan.press_sequentially(order["order_no"], delay=3)  # the receipt's barcode, as a scanner types it
    scan.press("Enter")
    detail = counter.locator("#detail-dialog")
    expect(detail).to_contain_text(order["order_no"])
    expect(detail.locator("#detail-history li")).to_have_count(4)

    refund(counter, "10.00", password="wrong")
    expect(counter.locator("#refund-dialog")).to_contain_text("用户名或密码错误")
    counter.locator("#refund-dialog").get_by_label("退款金额（元）").fill("99999")
    counter.locator("#refund-dialog").get_by_role("button", name="确认退款").click()
    expect(counter.locator("#refund-dialog")).to_contain_text("退款金额不能超过可退金额")
    counter.locator("#refund-dialog").get_by_role("button", name="取消").click()

    refund(counter, "10.00")
    expect(detail.locator("#detail-refunds li")).to_have_count(1)
    shoot(counter, "12-refund-done")
    refund(counter, "5.50")
    expect(detail.locator("#detail-refunds li")).to_have_count(2)

    after = live_hub.call("GET", f"/api/v1/orders/{order['order_no']}")
    assert sorted(r["amount"] for r in after["refunds"]) == [550, 1000]
    assert after["refundable"] == order["amount"] - 1550


def test_export_of_the_filtered_list(counter: Page, live_hub: LiveHub) -> None:
    order = live_hub.paid_order(fee_type="gas", account_no="10010003")
    show_orders_of(counter, "10010003")

    with counter.expect_download() as csv_download:
        counter.get_by_role("button", name="导出 CSV").click()
    raw = open(csv_download.value.path(), "rb").read()
    assert raw.startswith(b"\xef\xbb\xbf"), "Excel needs the UTF-8 byte-order mark"
    *rows, totals = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert [row["订单号"] for row in rows] == [order["order_no"]] and totals["订单号"] == "合计"
    assert rows[0]["户号"] == "10010003" and rows[0]["缴费类型"] == "燃气费" and rows[0]["状态"] == "缴费成功"
    assert rows[0]["金额(元)"] == f"{order['amount'] / 100:.2f}" and rows[0]["钱包"] == "微信"

    with counter.expect_download() as xlsx_download:
        counter.get_by_role("button", name="导出 Excel").click()
    sheet = load_workbook(io.BytesIO(open(xlsx_download.value.path(), "rb").read())).active
    header, *data, _ = list(sheet.values)
    assert header[0] == "订单号" and len(data) == 1
    record = dict(zip(header, data[0], strict=True))
    assert record["订单号"] == order["order_no"] and round(record["金额(元)"] * 100) == order["amount"]
