"""The receipt model: labels by locale, its limits, and the end-of-shift totals over orders and refunds."""
from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest

from payhub.counter.domain.fees import FeeType
from payhub.kernel.domain.orders import Order, OrderState, Payment, PayMethod
from payhub.kernel.domain.receipts import MAX_LINES, Receipt, ReceiptKind, ReceiptLine, label
from payhub.kernel.domain.refunds import Refund, RefundState
from payhub.counter.domain.shifts import shift_totals, wallet_of_order

AT = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)


def _order(no: int, *, amount: int, fee_type: str, method: str, state: str = "fulfilled", wallet: str | None = None,
           trade_type: str | None = None) -> Order:
    payment = Payment(seq=1, channel="swiftpass", method=PayMethod(method), amount=amount, started_at=AT, deadline=AT,
                      wallet=wallet, trade_type=trade_type)
    return Order(
        merchant_id=1, terminal_id=1, operator_id=1, order_no=f"PH{no}", terminal_order_no=f"T{no}", request_hash="h",
        kind="biller_posting", product=FeeType(fee_type).value, account_no="10010001", customer_name="张*",
        amount=amount, details={"biller": "tcis", "due_amount": amount}, created_at=AT, expires_at=AT,
        state=OrderState(state), payments=(payment,),
    )


def _refund(seq: int, *, amount: int, state: str) -> Refund:
    return Refund(merchant_id=1, order_id=1, order_no="PH1", seq=seq, amount=amount, reason="", requested_by=1,
                  approved_by=2, automatic=False, created_at=AT, state=RefundState(state))


def test_labels_are_chinese_unless_english_is_asked() -> None:
    assert label("copy_mark", "zh") == "重打印 / 副本"
    assert label("copy_mark", "en") == "REPRINT / COPY"
    assert label("count", "zh").format(count=3) == "3笔"


def test_a_receipt_refuses_what_no_printer_should_get() -> None:
    base = dict(kind=ReceiptKind.PAYMENT, locale="zh", title="缴费凭条", merchant="燃气", terminal="T1", operator="柜员",
                printed_at=AT)
    Receipt(**base, lines=(ReceiptLine("户号", "1"),))
    with pytest.raises(ValueError):
        Receipt(**base, lines=tuple(ReceiptLine("x") for _ in range(MAX_LINES + 1)))
    with pytest.raises(ValueError):
        Receipt(**{**base, "locale": "fr"})
    with pytest.raises(ValueError):
        Receipt(**{**base, "printed_at": AT.replace(tzinfo=None)})
    assert Receipt(**base, copy=True).copy_mark == "重打印 / 副本"
    assert Receipt(**base).copy_mark is None


def test_wallet_comes_from_the_payment_code_or_the_trade_type() -> None:
    assert wallet_of_order(_order(1, amount=1, fee_type="gas", method="micropay", wallet="alipay")) == "alipay"
    assert wallet_of_order(_order(2, amount=1, fee_type="gas", method="native", trade_type="pay.weixin.native")) == "wechat"
    assert wallet_of_order(_order(3, amount=1, fee_type="gas", method="native")) is None


def test_shift_totals_count_paid_orders_by_fee_type_way_and_wallet_and_net_of_refunds() -> None:
    orders = [
        _order(1, amount=7500, fee_type="gas", method="native", trade_type="pay.weixin.native"),
        _order(2, amount=3000, fee_type="water", method="micropay", wallet="alipay"),
        _order(3, amount=2500, fee_type="gas", method="micropay", wallet="wechat", state="refunded"),
        _order(4, amount=9900, fee_type="gas", method="micropay", wallet="wechat", state="pay_failed"),
        _order(5, amount=1100, fee_type="other", method="native", state="closed"),
    ]
    refunds = [_refund(1, amount=2500, state="refunded"), _refund(2, amount=400, state="rejected")]
    totals = shift_totals(orders=orders, refunds=refunds)
    simple = lambda tallies: {k: (v.count, v.fen) for k, v in tallies.items()}  # noqa: E731
    assert (totals.collected.count, totals.collected.fen) == (3, 13000)
    assert simple(totals.by_fee_type) == {"gas": (2, 10000), "water": (1, 3000)}
    assert simple(totals.by_pay_way) == {"native": (1, 7500), "micropay": (2, 5500)}
    assert simple(totals.by_wallet) == {"wechat": (2, 10000), "alipay": (1, 3000)}
    assert (totals.refunds.count, totals.refunds.fen) == (1, 2500)
    assert totals.net == 10500
    assert dataclasses.asdict(shift_totals(orders=[], refunds=[]))["collected"] == {"count": 0, "fen": 0}
