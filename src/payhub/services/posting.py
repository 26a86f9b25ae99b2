"""Posting a paid order to the biller; a refusal starts the automatic refund."""
from __future__ import annotations

from payhub.domain.billing import PostingRequest, PostingResult, PostingStatus
from payhub.domain.jobs import Done, Job, JobKind, JobOutcome, Retry
from payhub.domain.orders import BillOrder, OrderState
from payhub.domain.refunds import Refund, RefundState
from payhub.ports import UnitOfWork
from payhub.services.bookkeeping import book_posting
from payhub.services.context import Hub

BILLER = "biller"


def _request(order: BillOrder) -> PostingRequest:
    assert order.paid_at is not None
    return PostingRequest(
        posting_no=order.posting_no, account_no=order.account_no, fee_type=order.fee_type, amount=order.amount,
        paid_at=order.paid_at, bill_ids=order.bill_ids, channel_trade_no=order.transaction_id,
    )


async def post_to_biller(*, hub: Hub, job: Job) -> JobOutcome:
    """Book a paid order at the biller with its stable posting no.; after an unclear try, query before posting again."""
    async with hub.uow() as uow:
        order = await uow.orders.get(order_no=job.ref)
        assert order is not None, job.ref
        if order.state is OrderState.PAID:
            order.begin_posting(at=hub.clock.now(), actor=BILLER)
            await uow.orders.save(order)
            await uow.commit()
    if order.state is not OrderState.POSTING:
        return Done()
    hub.signals.publish(order.order_no)
    biller = hub.registry.biller(order.biller)
    result: PostingResult | None = None
    if job.attempts > 1:
        result = await biller.query_posting(posting_no=order.posting_no)
    if result is None or result.status is PostingStatus.NOT_FOUND:
        result = await biller.post_payment(request=_request(order))
    if result.status not in (PostingStatus.POSTED, PostingStatus.REFUSED):
        return Retry(f"posting {result.status}: {result.code or ''} {result.message or ''}".strip())
    async with hub.uow() as uow:
        fresh = await uow.orders.get(order_no=order.order_no)
        assert fresh is not None
        if fresh.state is not OrderState.POSTING:
            return Done()
        now = hub.clock.now()
        if result.status is PostingStatus.POSTED:
            fresh.mark_posted(biller_ref=result.biller_ref, posted_at=result.posted_at or now, actor=BILLER, at=now)
            await book_posting(uow=uow, order=fresh, at=now)
            await uow.orders.save(fresh)
        else:
            fresh.posting_refused(code=result.code or "REFUSED", message=result.message or "缴费失败", at=now, actor=BILLER)
            await start_automatic_refund(uow=uow, order=fresh, at=now)
        await uow.commit()
    hub.signals.publish(order.order_no)
    return Done()


async def start_automatic_refund(*, uow: UnitOfWork, order: BillOrder, at) -> Refund:
    """Post failed → refunding: the whole amount goes back to the customer through the channel."""
    order.begin_refund(at=at, actor=BILLER)
    await uow.orders.save(order)
    assert order.id is not None
    refund = Refund(
        merchant_id=order.merchant_id, order_id=order.id, order_no=order.order_no, seq=1, amount=order.amount,
        reason=f"缴费失败自动退款：{order.failure_message}", requested_by=None, approved_by=None, automatic=True,
        created_at=at, state=RefundState.REFUNDING,
    )
    await uow.refunds.add(refund)
    await uow.jobs.enqueue(merchant_id=order.merchant_id, kind=JobKind.REFUND, ref=refund.refund_no, run_at=at)
    return refund
