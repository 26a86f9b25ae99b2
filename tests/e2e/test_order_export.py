"""Export of the filtered order list (订单导出): CSV for Excel and XLSX, Chinese headers, yuan, China time."""
from __future__ import annotations

import csv
import io

from openpyxl import load_workbook

from tests.support.harness import WECHAT, Harness


async def _export(hub: Harness, fmt: str, **filters: str) -> bytes:
    response = await hub.terminal.request("GET", "/api/v1/orders/export", params={"format": fmt, **filters})
    assert response.status_code == 200, response.text
    assert "attachment" in response.headers["content-disposition"]
    return response.content


async def test_export_follows_the_list_filters(hub: Harness) -> None:
    paid = await hub.place(fee_type="water", account_no="20010001")
    await hub.call("POST", f"/api/v1/orders/{paid['order_no']}/pay/code", {"auth_code": WECHAT})
    await hub.run_jobs()
    await hub.place(account_no="10010002")

    raw = await _export(hub, "csv", account_no="20010001", date_from="2026-11-02", date_to="2026-11-02")
    assert raw.startswith(b"\xef\xbb\xbf")
    *rows, totals = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert len(rows) == 1
    assert (totals["订单号"], totals["终端流水号"], totals["金额(元)"]) == ("合计", "1笔", row_amount := totals["金额(元)"])
    row = rows[0]
    assert row["金额(元)"] == row_amount and row["柜员"] and row["终端"]
    assert row["订单号"] == paid["order_no"] and row["缴费类型"] == "水费" and row["状态"] == "缴费成功"
    assert row["金额(元)"] == f"{paid['amount'] // 100}.{paid['amount'] % 100:02d}"
    assert row["支付方式"] == "扫付款码" and row["钱包"] == "微信"
    assert row["下单时间"] == "2026-11-02 10:00:00"  # the harness clock starts at 02:00 UTC

    book = load_workbook(io.BytesIO(await _export(hub, "xlsx", state="created")))
    header, *data, totals = list(book.active.values)
    account = header.index("户号")
    assert header[:5] == ("订单号", "终端流水号", "下单时间", "柜员", "终端") and [r[account] for r in data] == ["10010002"]
    assert totals[:2] == ("合计", "1笔")
    nothing = await _export(hub, "csv", date_from="2026-11-03")
    assert nothing.decode("utf-8-sig").splitlines()[1].startswith("合计,0笔,")


async def test_export_refuses_an_unknown_format(hub: Harness) -> None:
    response = await hub.terminal.request("GET", "/api/v1/orders/export", params={"format": "pdf"})
    assert response.status_code == 422 and response.json()["error"]["code"] == "VALIDATION"


FORMULA = '=HYPERLINK("http://evil.example/x","点此退款")'


async def test_exports_never_carry_live_formulas_or_illegal_characters(hub: Harness) -> None:
    accounts = [FORMULA, "+1+2", "-3", "@SUM(A1)", "\t=1", "\r=1", "bell\x07end", "ok-123"]
    for account_no in accounts:
        await hub.place(fee_type="other", account_no=account_no, amount=100)

    raw = await _export(hub, "csv", fee_type="other")
    cells = {row["户号"] for row in csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))) if row["订单号"] != "合计"}
    assert all(not cell or cell[0] not in "=+-@\t\r" for cell in cells), cells
    assert f"'{FORMULA}" in cells and "ok-123" in cells

    book = load_workbook(io.BytesIO(await _export(hub, "xlsx", fee_type="other")))
    sheet = book.active
    account_cells = [row[6] for row in sheet.iter_rows(min_row=2)][:-1]  # the last row holds the totals
    assert len(account_cells) == len(accounts)
    assert all(cell.data_type == "s" and cell.value[0] not in "=+-@\t\r" for cell in account_cells)
    values = {cell.value for cell in account_cells}
    assert f"'{FORMULA}" in values and "bell\ufffdend" in values and "ok-123" in values
