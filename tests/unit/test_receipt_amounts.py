"""What the receipts now say: amounts in Chinese capitals, a reversal's effect at TCIS, manual orders in the shift."""
from __future__ import annotations

import dataclasses

import pytest

from payhub.counter.domain.billing import Arrears, Bill
from payhub.counter.domain.fees import FeeType
from payhub.counter.domain.reversals import bills_paid, reversal_effect
from payhub.counter.domain.shifts import shift_totals
from payhub.integrations.tcis.sandbox.state import BillingState, SeedCustomer
from payhub.integrations.tcis.wire import PostingBody, ReversalBody
from payhub.kernel.domain.capitals import capitals
from payhub.kernel.domain.receipts import Receipt, ReceiptKind
from tests.unit.test_receipts_model import AT, _order, _refund


@pytest.mark.parametrize(("fen", "words"), [
    (0, "零元整"), (1005, "壹拾元零伍分"), (100100, "壹仟零壹元整"), (12345, "壹佰贰拾叁元肆角伍分"),
    (5, "伍分"), (50, "伍角整"), (1000000, "壹万元整"), (1000100, "壹万零壹元整"), (100010000, "壹佰万零壹佰元整"),
    (10000000100, "壹亿零壹元整"), (-12345, "负壹佰贰拾叁元肆角伍分"), (1010, "壹拾元壹角整"), (100001, "壹仟元零壹分"),
])
def test_amounts_in_chinese_capitals(fen: int, words: str) -> None:
    assert capitals(fen) == words


BILLS = (Bill("10010002-202604", "2026-04", 12350), Bill("10010002-202605", "2026-05", 9870),
         Bill("10010002-202606", "2026-06", 6650))


def test_a_partial_refund_reopens_the_newest_bill_and_leaves_the_rest_as_prepayment() -> None:
    effect = reversal_effect(bills=BILLS, posted=28870, earlier=[], amount=5000)
    assert [b.period for b in effect.reopened] == ["2026-06"] and (effect.prepaid_taken, effect.prepaid_left) == (0, 1650)
    after = reversal_effect(bills=BILLS, posted=28870, earlier=[5000], amount=1000)
    assert after.reopened == () and (after.prepaid_taken, after.prepaid_left) == (1000, 0)
    with_credit = reversal_effect(bills=BILLS, posted=30000, earlier=[], amount=5000)
    assert (with_credit.prepaid_taken, with_credit.reopened_amount, with_credit.prepaid_left) == (1130, 6650, 2780)


@pytest.mark.parametrize(("posted", "reversals"), [(28870, [5000, 1000, 9000]), (30000, [500, 15000]), (28870, [28870])])
def test_the_hubs_reading_of_a_reversal_matches_the_tcis_sandbox(posted: int, reversals: list[int]) -> None:
    customer = SeedCustomer("10010002", FeeType.GAS, "李秀芳", "路1号", BILLS)
    tcis = BillingState(now=lambda: AT, seed=[customer])
    tcis.post(body=PostingBody(posting_no="P1", account_no="10010002", fee_type=FeeType.GAS, amount=posted, paid_at=AT))
    arrears = Arrears("10010002", FeeType.GAS, "李*芳", "", BILLS)
    paid = bills_paid(arrears=arrears, amount=posted, bill_ids=())
    for n, amount in enumerate(reversals):
        before = (list(tcis.customers["10010002"].open_bills), tcis.customers["10010002"].prepaid_balance)
        effect = reversal_effect(bills=paid, posted=posted, earlier=reversals[:n], amount=amount)
        tcis.reverse(posting_no="P1", body=ReversalBody(reversal_no=f"R{n}", amount=amount, reason="退款"))
        state = tcis.customers["10010002"]
        assert sorted(set(state.open_bills) - set(before[0]), key=lambda b: b.period) == sorted(
            effect.reopened, key=lambda b: b.period)
        assert state.prepaid_balance - before[1] == effect.prepaid_left - effect.prepaid_taken


def test_the_shift_counts_manual_orders_on_their_own_and_refunds_by_who_asked() -> None:
    orders = [_order(1, amount=7450, fee_type="gas", method="micropay", wallet="wechat", state="manual"),
              _order(2, amount=3000, fee_type="gas", method="micropay", wallet="wechat")]
    automatic = dataclasses.replace(_refund(1, amount=2000, state="refunded"), automatic=True)
    totals = shift_totals(orders=orders, refunds=[automatic, _refund(2, amount=500, state="refunded"),
                                                  _refund(3, amount=700, state="manual")])
    assert (totals.manual.count, totals.manual.fen) == (2, 8150)
    assert (totals.collected.count, totals.collected.fen) == (1, 3000)
    assert (totals.automatic_refunds.fen, totals.supervisor_refunds.fen, totals.refunds.fen) == (2000, 500, 2500)
    assert totals.first_at == totals.last_at == AT


def test_only_what_a_customer_takes_home_asks_to_be_kept() -> None:
    base = dict(locale="zh", title="t", merchant="m", terminal="T", operator="o", printed_at=AT)
    assert Receipt(kind=ReceiptKind.PAYMENT, **base).keep_note == "请妥善保管本凭条"
    assert Receipt(kind=ReceiptKind.SHIFT, **base).keep_note is None
    phone = Receipt(kind=ReceiptKind.REFUND, service_phone="0371-12345678", **base).footer_lines()
    assert [(line.label, line.value) for line in phone][1] == ("客服电话", "0371-12345678")
