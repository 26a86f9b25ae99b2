"""The fulfilment kind `biller_posting`: post a paid counter order to the merchant's biller (TCIS)."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from payhub.counter.domain.bill_payment import KIND, BillPayment, posting_no, prepaid_amount
from payhub.counter.domain.billing import Bill, PostingRequest, PostingResult, PostingStatus
from payhub.kernel.domain.fulfilment import FulfilmentStatus, Outcome
from payhub.kernel.domain.ledger import AccountSpec, biller_payable
from payhub.kernel.domain.money import yuan
from payhub.kernel.domain.orders import Order, RecoveryPolicy
from payhub.kernel.domain.receipts import ItemLines, ReceiptLine, label
from payhub.kernel.domain.refunds import Refund
from payhub.counter.ports import Billers

CHINA = ZoneInfo("Asia/Shanghai")
_STATUS = {
    PostingStatus.POSTED: FulfilmentStatus.DONE, PostingStatus.REVERSED: FulfilmentStatus.DONE,
    PostingStatus.REFUSED: FulfilmentStatus.REFUSED, PostingStatus.NOT_FOUND: FulfilmentStatus.NOT_FOUND,
    PostingStatus.UNKNOWN: FulfilmentStatus.UNCLEAR,
}


def _outcome(result: PostingResult) -> Outcome:
    return Outcome(status=_STATUS[result.status], ref=result.biller_ref, at=result.posted_at, code=result.code,
                   message=result.message)


def _local(at: datetime | None) -> str:
    return at.astimezone(CHINA).strftime("%Y-%m-%d %H:%M:%S") if at else ""


def _periods(bills: tuple[Bill, ...]) -> str:
    """2026-04、2026-05; a long run as its first and last period and how many."""
    if len(bills) <= 6:
        return "、".join(bill.period for bill in bills)
    return f"{bills[0].period}~{bills[-1].period}（{len(bills)}）"


class BillerPosting:
    """A biller refusal is final for the posting: the customer gets the money back."""

    kind = KIND
    recovery = RecoveryPolicy.REFUND
    retry_tries = 1

    def __init__(self, *, billers: Billers) -> None:
        self._billers = billers

    async def fulfil(self, *, order: Order) -> Outcome:
        bill = BillPayment.of(order)
        paid = order.paid_payment
        assert paid is not None and paid.paid_at is not None, order.order_no
        return _outcome(await self._billers.biller(bill.biller).post_payment(request=PostingRequest(
            posting_no=posting_no(order), account_no=order.account_no, fee_type=bill.fee_type, amount=order.amount,
            paid_at=paid.paid_at, bill_ids=bill.bill_ids, channel_trade_no=paid.transaction_id,
        )))

    async def query(self, *, order: Order) -> Outcome:
        biller = self._billers.biller(BillPayment.of(order).biller)
        return _outcome(await biller.query_posting(posting_no=posting_no(order)))

    async def undo(self, *, order: Order, refund: Refund) -> Outcome:
        biller = self._billers.biller(BillPayment.of(order).biller)
        return _outcome(await biller.reverse_posting(
            posting_no=posting_no(order), reversal_no=refund.reversal_no, amount=refund.amount, reason=refund.reason,
        ))

    def payable(self, *, order: Order) -> AccountSpec:
        return biller_payable(BillPayment.of(order).biller)

    def receipt_lines(self, *, order: Order, locale: str) -> ItemLines:
        bill = BillPayment.of(order)
        prepaid = prepaid_amount(order)
        amount = (
            ReceiptLine(label("arrears_paid", locale), yuan(order.amount - prepaid), fen=order.amount - prepaid),
            ReceiptLine(label("prepaid", locale), yuan(prepaid), fen=prepaid),
        ) if prepaid else ()
        delivery = tuple(line for line in (
            ReceiptLine(label("biller_ref", locale), order.fulfilment_ref) if order.fulfilment_ref else None,
            ReceiptLine(label("posted_at", locale), _local(order.fulfilled_at)) if order.fulfilled_at else None,
        ) if line is not None)
        return ItemLines(
            item=(
                ReceiptLine(label("fee_type", locale), bill.fee_type.label_en if locale == "en" else bill.fee_type.label_zh),
                ReceiptLine(label("account_no", locale), order.account_no),
                ReceiptLine(label("customer_name", locale), order.customer_name),
                *((ReceiptLine(label("periods", locale), _periods(bill.bills)),) if bill.bills else ()),
            ),
            amount=amount, delivery=delivery,
        )
