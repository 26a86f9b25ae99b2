"""Jobs that settle a payment's outcome at the channel: poll until explicit, close an unpaid QR, reverse a payment code."""
from __future__ import annotations

from datetime import datetime, timedelta

from payhub.kernel.domain.jobs import Done, Job, JobKind, JobOutcome, Retry, RunAgain
from payhub.kernel.domain.orders import Order, OrderState, Payment, PayMethod
from payhub.kernel.domain.payments import CloseStatus, PayStatus
from payhub.kernel.ports import UnitOfWork
from payhub.kernel.services.context import Hub
from payhub.kernel.services.far_calls import apply_answer, order_of, read
from payhub.kernel.services.payment_results import CHANNEL, apply_pay_result

WORKER = "worker"


async def _order_and_merchant(uow: UnitOfWork, order_no: str) -> tuple[Order, str]:
    order = await order_of(uow, order_no)
    merchant = await uow.tenancy.merchant(merchant_id=order.merchant_id)
    assert merchant is not None
    return order, merchant.code


def _payment(order: Order) -> Payment:
    """The payment a payment job is about: jobs are written when it starts."""
    assert order.payment is not None, order.order_no
    return order.payment


async def poll_payment(*, hub: Hub, job: Job) -> JobOutcome:
    """Query a paying order; at its deadline, close (QR) or reverse (payment code) it at the channel."""
    order, merchant = await read(hub=hub, load=lambda uow: _order_and_merchant(uow, job.ref))
    if order.state is not OrderState.PAYING:
        return Done()
    result = await hub.registry.channel(_payment(order).channel).query(merchant=merchant, out_trade_no=order.out_trade_no)

    async def apply(uow: UnitOfWork, fresh: Order, now: datetime) -> JobOutcome | None:
        if await apply_pay_result(uow=uow, order=fresh, result=result, at=now):
            return None
        if fresh.state is not OrderState.PAYING:
            return Done()
        payment = _payment(fresh)
        if now < payment.deadline:
            wait = 0 if result.query_now else hub.policy.micropay_poll_seconds
            return RunAgain(at=min(now + timedelta(seconds=wait), payment.deadline))
        if payment.method is PayMethod.NATIVE:
            fresh.expire_qr(at=now, actor=WORKER)
            kind = JobKind.CLOSE_PAYMENT
        else:
            fresh.begin_reverse(reason=f"{hub.policy.micropay_poll_cap_seconds}秒内未确认支付，撤销", at=now, actor=WORKER)
            kind = JobKind.REVERSE_PAYMENT
        await uow.orders.save(fresh)
        await uow.jobs.enqueue(merchant_id=fresh.merchant_id, kind=kind, ref=fresh.order_no, run_at=now)
        return None

    return await apply_answer(hub=hub, reload=lambda uow: order_of(uow, order.order_no), apply=apply,
                              signal=order.order_no)


async def close_payment(*, hub: Hub, job: Job) -> JobOutcome:
    """Close an unpaid QR trade at the channel (a payment that slipped in wins)."""
    order, merchant = await read(hub=hub, load=lambda uow: _order_and_merchant(uow, job.ref))
    if order.state is not OrderState.CLOSING:
        return Done()
    channel = hub.registry.channel(_payment(order).channel)
    answer = await channel.close(merchant=merchant, out_trade_no=order.out_trade_no)
    if answer.status is CloseStatus.ALREADY_PAID:
        paid = await channel.query(merchant=merchant, out_trade_no=order.out_trade_no)
        if paid.status is not PayStatus.PAID:
            return Retry(f"close said paid, query said {paid.status}")

        async def apply(uow: UnitOfWork, fresh: Order, now: datetime) -> JobOutcome | None:
            await apply_pay_result(uow=uow, order=fresh, result=paid, at=now)
            return None

        return await apply_answer(hub=hub, reload=lambda uow: order_of(uow, order.order_no), apply=apply,
                                  signal=order.order_no)
    if answer.status is CloseStatus.CLOSED:
        return await _mark_closed(hub=hub, order_no=order.order_no, expected=OrderState.CLOSING, reason="支付渠道已关单")
    return Retry(f"close: {answer.status} {answer.err_code or ''} {answer.message or ''}".strip())


async def reverse_payment(*, hub: Hub, job: Job) -> JobOutcome:
    """Reverse a payment-code trade that was never confirmed; the channel refunds it if it was paid."""
    order, merchant = await read(hub=hub, load=lambda uow: _order_and_merchant(uow, job.ref))
    if order.state is not OrderState.REVERSING:
        return Done()
    answer = await hub.registry.channel(_payment(order).channel).reverse(merchant=merchant, out_trade_no=order.out_trade_no)
    if answer.status is not CloseStatus.CLOSED:
        return Retry(f"reverse: {answer.status} {answer.err_code or ''} {answer.message or ''}".strip())
    return await _mark_closed(hub=hub, order_no=order.order_no, expected=OrderState.REVERSING, reason="支付渠道已撤销")


async def _mark_closed(*, hub: Hub, order_no: str, expected: OrderState, reason: str) -> JobOutcome:
    async def apply(uow: UnitOfWork, fresh: Order, now: datetime) -> JobOutcome | None:
        fresh.mark_closed(reason=reason, at=now, actor=CHANNEL)
        await uow.orders.save(fresh)
        return None

    return await apply_answer(hub=hub, reload=lambda uow: order_of(uow, order_no), apply=apply, signal=order_no,
                              still=lambda fresh: fresh.state is expected)
