"""The journal entries of an order's money movements.

Every entry of one order books to the same sub-account of each hub-wide account (sharded by the order no.), so
that concurrent orders rarely lock the same ledger row and each order's money can be followed in one shard."""
from __future__ import annotations

from datetime import datetime

from payhub.kernel.domain.ledger import AccountSpec, channel_clearing, transfer, unposted_receipts
from payhub.kernel.domain.orders import Order
from payhub.kernel.domain.refunds import Refund
from payhub.kernel.ports import UnitOfWork


def _paid_through(order: Order) -> str:
    payment = order.paid_payment
    assert payment is not None, order.order_no
    return payment.channel


async def book_payment(*, uow: UnitOfWork, order: Order, at: datetime) -> None:
    """Payment confirmed: the channel holds the money; the hub owes it to the order's fulfilment. Called after the
    guarded save of the order's move to paid, which happens once: that is the entry's idempotency."""
    await uow.ledger.post(entry=transfer(
        merchant_id=order.merchant_id, kind="payment", ref=order.order_no,
        debit=channel_clearing(_paid_through(order)).shard(order.order_no),
        credit=unposted_receipts().shard(order.order_no), amount=order.amount,
        memo=f"{order.product} {order.account_no}",
    ), at=at)


async def book_fulfilment(*, uow: UnitOfWork, order: Order, payable: AccountSpec, at: datetime) -> None:
    """Fulfilled: the money is now owed onward (to the biller, to the shop). Called after the guarded save of the
    order's move to fulfilled, which happens once: that is the entry's idempotency."""
    await uow.ledger.post(entry=transfer(
        merchant_id=order.merchant_id, kind="posting", ref=order.order_no,
        debit=unposted_receipts().shard(order.order_no), credit=payable.shard(order.order_no), amount=order.amount,
        memo=f"fulfilled {order.order_no}",
    ), at=at)


async def book_undo(*, uow: UnitOfWork, order: Order, payable: AccountSpec, refund: Refund, at: datetime) -> None:
    """The far system gave part of a fulfilment back for a refund."""
    await uow.ledger.book(entry=transfer(
        merchant_id=order.merchant_id, kind="unposting", ref=refund.refund_no,
        debit=payable.shard(order.order_no), credit=unposted_receipts().shard(order.order_no), amount=refund.amount,
        memo=f"reversal {refund.reversal_no}",
    ), at=at)


async def book_refund(*, uow: UnitOfWork, order: Order, refund: Refund, at: datetime) -> None:
    """The channel returned money to the customer."""
    await uow.ledger.book(entry=transfer(
        merchant_id=order.merchant_id, kind="refund", ref=refund.refund_no,
        debit=unposted_receipts().shard(order.order_no),
        credit=channel_clearing(_paid_through(order)).shard(order.order_no), amount=refund.amount,
        memo=f"refund {refund.refund_no}",
    ), at=at)
