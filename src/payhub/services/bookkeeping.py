"""The journal entries of a bill order's money movements."""
from __future__ import annotations

from datetime import datetime

from payhub.domain.ledger import biller_payable, channel_clearing, transfer, unposted_receipts
from payhub.domain.orders import BillOrder
from payhub.domain.refunds import Refund
from payhub.ports import UnitOfWork


async def book_payment(*, uow: UnitOfWork, order: BillOrder, at: datetime) -> None:
    """Payment confirmed: the channel holds the money; the hub owes it to the customer's posting."""
    await uow.ledger.book(entry=transfer(
        merchant_id=order.merchant_id, kind="payment", ref=order.order_no,
        debit=channel_clearing(order.channel), credit=unposted_receipts(), amount=order.amount,
        memo=f"{order.fee_type.label_zh} {order.account_no}",
    ), at=at)


async def book_posting(*, uow: UnitOfWork, order: BillOrder, at: datetime) -> None:
    """Posted: the money is now owed to the biller."""
    await uow.ledger.book(entry=transfer(
        merchant_id=order.merchant_id, kind="posting", ref=order.order_no,
        debit=unposted_receipts(), credit=biller_payable(order.biller), amount=order.amount,
        memo=f"posting {order.posting_no}",
    ), at=at)


async def book_unposting(*, uow: UnitOfWork, order: BillOrder, refund: Refund, at: datetime) -> None:
    """The biller gave part of a posting back for a refund."""
    await uow.ledger.book(entry=transfer(
        merchant_id=order.merchant_id, kind="unposting", ref=refund.refund_no,
        debit=biller_payable(order.biller), credit=unposted_receipts(), amount=refund.amount,
        memo=f"reversal {refund.reversal_no}",
    ), at=at)


async def book_refund(*, uow: UnitOfWork, order: BillOrder, refund: Refund, at: datetime) -> None:
    """The channel returned money to the customer."""
    await uow.ledger.book(entry=transfer(
        merchant_id=order.merchant_id, kind="refund", ref=refund.refund_no,
        debit=unposted_receipts(), credit=channel_clearing(order.channel), amount=refund.amount,
        memo=f"refund {refund.refund_no}",
    ), at=at)
