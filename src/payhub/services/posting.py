"""Posting a paid order to the biller; a refusal starts the automatic refund."""
from __future__ import annotations

from datetime import datetime

from payhub.domain.billing import PostingRequest, PostingResult, PostingStatus
from payhub.domain.jobs import Done, Job, JobKind, JobOutcome, Retry
from payhub.domain.orders import BillOrder, OrderState
from payhub.domain.refunds import Refund, RefundState
from payhub.ports import UnitOfWork
from payhub.services.bookkeeping import book_posting
from payhub.services.context import Hub
from payhub.services.far_calls import apply_answer, order_of

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
    result = await _post_unless_posted(hub=hub, order=order, retried=job.attempts > 1)
    if result.status not in (PostingStatus.POSTED, PostingStatus.REFUSED):
        return Retry(f"posting {result.status}: {result.code or ''} {result.message or ''}".strip())

    async def apply(uow: UnitOfWork, fresh: BillOrder, now: datetime) -> JobOutcome | None:
        if result.status is PostingStatus.POSTED:
            fresh.mark_posted(biller_ref=result.biller_ref, posted_at=result.posted_at or now, actor=BILLER, at=now)
            await book_posting(uow=uow, order=fresh, at=now)
            await uow.orders.save(fresh)
        else:
            fresh.posting_refused(code=result.code or "REFUSED", message=result.message or "缴费失败", at=now, actor=BILLER)
            await start_automatic_refund(uow=uow, order=fresh, at=now)
        return None

    return await apply_answer(hub=hub, reload=lambda uow: order_of(uow, order.order_no), apply=apply,
                              signal=order.order_no, still=lambda fresh: fresh.state is OrderState.POSTING)


async def _post_unless_posted(*, hub: Hub, order: BillOrder, retried: bool) -> PostingResult:
    """The biller's answer to the posting; a retried job asks first whether an earlier try got through."""
    biller = hub.registry.biller(order.biller)
    if retried:
        found = await biller.query_posting(posting_no=order.posting_no)
        if found.status is not PostingStatus.NOT_FOUND:
            return found
    return await biller.post_payment(request=_request(order))


async def start_automatic_refund(*, uow: UnitOfWork, order: BillOrder, at: datetime) -> Refund:
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
