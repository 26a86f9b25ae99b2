"""Applying what the channel says about a payment, whoever heard it first (answer, query or notify)."""
from __future__ import annotations

from datetime import datetime

from payhub.kernel.domain.jobs import JobKind
from payhub.kernel.domain.orders import Order, OrderState
from payhub.kernel.domain.payments import PayResult, PayStatus
from payhub.kernel.ports import UnitOfWork
from payhub.kernel.services.bookkeeping import book_payment

CHANNEL = "channel"


async def apply_pay_result(*, uow: UnitOfWork, order: Order, result: PayResult, at: datetime) -> bool:
    """Move the order on an explicit answer; duplicates and late answers change nothing. True if it moved."""
    state = order.state
    if result.status is PayStatus.PAID:
        if state in (OrderState.PAYING, OrderState.CLOSING):
            confirmed = order.confirm_paid(result=result, at=at, actor=CHANNEL)
            # the guarded save first: a racing duplicate stops here (StaleState), never at the journal's unique key
            await uow.orders.save(order)
            if confirmed:
                # paid: nothing left to ask the channel (a poll already running finds the order paid)
                await uow.jobs.hand_over(merchant_id=order.merchant_id, ref=order.order_no,
                                         dropping=JobKind.POLL_PAYMENT, kind=JobKind.FULFIL, run_at=at)
                await book_payment(uow=uow, order=order, at=at)  # last: the hub-wide accounts stay locked briefly
            return True
        if state is OrderState.CLOSED:
            order.to_manual(reason="订单关闭后渠道报告已支付，需人工核实", at=at, actor=CHANNEL)
        else:
            return False
    elif result.status is PayStatus.FAILED and state is OrderState.PAYING:
        order.fail_payment(code=result.err_code or "PAY_FAILED", message=result.message or "支付失败", at=at, actor=CHANNEL)
    elif result.status is PayStatus.CLOSED and state is OrderState.PAYING:
        order.begin_close(reason="支付渠道已关闭交易", at=at, actor=CHANNEL)
        order.mark_closed(reason=result.message or "支付渠道已关闭交易", at=at, actor=CHANNEL)
    else:
        return False
    await uow.orders.save(order)
    return True
