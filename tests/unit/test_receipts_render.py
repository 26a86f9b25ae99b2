"""A receipt rendered to ESC/POS bytes (read back as a printer would) and to HTML: the same facts in both."""
from __future__ import annotations

from datetime import datetime
from html import escape
from zoneinfo import ZoneInfo

import pytest

from payhub.integrations.printing.escpos_render import escpos_bytes
from payhub.integrations.printing.html_render import receipt_html
from payhub.integrations.printing.layout import width
from payhub.integrations.printing.wire import read_back
from payhub.kernel.domain.receipts import LineStyle, Receipt, ReceiptKind, ReceiptLine

ORDER_NO = "PH20261102100000123456789"


def _receipt(*, copy: bool = False, locale: str = "zh", customer: str = "张*明") -> Receipt:
    return Receipt(
        kind=ReceiptKind.PAYMENT, locale=locale, title="缴费凭条" if locale == "zh" else "Payment receipt",
        merchant="测试燃气公司", terminal="1号柜台 T1", operator="柜员一",
        printed_at=datetime(2026, 11, 2, 10, 5, 9, tzinfo=ZoneInfo("Asia/Shanghai")),
        lines=(
            ReceiptLine("订单号", ORDER_NO),
            ReceiptLine("户名", customer),
            ReceiptLine("缴费金额", "75.00", fen=7500, style=LineStyle.TOTAL),
            ReceiptLine("支付方式", "微信支付 · 收款二维码"),
            ReceiptLine("备注（全角）", "￥０１"),
        ),
        qr=ORDER_NO, copy=copy,
    )


def test_escpos_bytes_put_the_printer_in_chinese_mode_and_never_switch_code_pages() -> None:
    data = escpos_bytes(receipt=_receipt())
    assert data.startswith(b"\x1b@\x1c&")  # ESC @ then FS & (Chinese mode)
    assert b"\x1bt" not in data  # no ESC t code-page guess
    assert "缴费凭条".encode("gb18030") in data and "￥０１".encode("gb18030") in data


def test_escpos_text_reads_back_as_gb18030_with_every_fact() -> None:
    view = read_back(escpos_bytes(receipt=_receipt()))
    assert "\ufffd" not in view.text
    for fact in ("测试燃气公司", "缴费凭条", "1号柜台 T1", "柜员一", ORDER_NO, "张*明", "75.00", "微信支付 · 收款二维码",
                 "打印时间", "2026-11-02 10:05:09", "￥０１"):
        assert fact in view.text, fact
    assert "重打印" not in view.text


def test_the_qr_command_carries_the_order_no_and_the_paper_is_cut() -> None:
    data = escpos_bytes(receipt=_receipt())
    payload = b"1P0" + ORDER_NO.encode()
    size = len(payload)
    assert b"\x1d(k" + bytes((size & 0xFF, size >> 8)) + payload in data  # GS ( k pL pH cn fn m d1..dk
    assert data.endswith(b"\x1dV\x00")  # GS V 0: full cut
    view = read_back(data)
    assert view.qr_codes == [ORDER_NO] and view.cuts == 1


def test_a_reprint_is_marked_as_a_copy_at_the_top_and_bottom() -> None:
    view = read_back(escpos_bytes(receipt=_receipt(copy=True)))
    lines = [line.strip() for line in view.text.splitlines()]
    assert lines[0] == "重打印 / 副本" and lines.count("重打印 / 副本") == 2
    assert b"\x1dB\x01" in escpos_bytes(receipt=_receipt(copy=True))  # printed white on black


@pytest.mark.parametrize("paper_mm, columns", [(58, 32), (80, 48)])
def test_rows_fit_the_roll(paper_mm: int, columns: int) -> None:
    view = read_back(escpos_bytes(receipt=_receipt(), paper_mm=paper_mm))
    assert max(width(line) for line in view.text.splitlines()) <= columns
    assert any(line.startswith("订单号") and line.endswith(ORDER_NO) for line in view.text.splitlines())


def test_english_receipt_uses_english_labels() -> None:
    view = read_back(escpos_bytes(receipt=_receipt(locale="en", copy=True)))
    assert "REPRINT / COPY" in view.text and "Printed at" in view.text and "Scan to look up or refund" in view.text


def test_html_shows_the_same_facts_escaped_with_print_css_and_an_inline_qr() -> None:
    page = receipt_html(receipt=_receipt(copy=True, customer="<script>x</script>"), paper_mm=58)
    for fact in ("测试燃气公司", "缴费凭条", "1号柜台 T1", "柜员一", ORDER_NO, "75.00", "微信支付 · 收款二维码",
                 "2026-11-02 10:05:09", "重打印 / 副本"):
        assert fact in page, fact
    assert "<script>" not in page and escape("<script>x</script>") in page
    assert f'data-qr="{ORDER_NO}"' in page and "<svg" in page and 'data-fen="7500"' in page
    assert "size: 58mm auto" in page and "<link" not in page and "src=\"http" not in page
