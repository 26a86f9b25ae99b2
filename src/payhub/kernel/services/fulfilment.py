"""Fulfilling a paid order through its kind (posting to the biller, a card load, a power sale...); a refusal is
recovered by the kind's policy: refund, retry, or operations staff."""
from __future__ import annotations

from datetime import datetime, timedelta

from payhub.kernel.domain.fulfilment import FulfilmentStatus, Outcome, Recovery, recovery_after_refusal
from payhub.kernel.domain.jobs import Done, Job, JobKind, JobOutcome, Retry, RunAgain
from payhub.kernel.domain.orders import Order, OrderState, moving_on_at
from payhub.kernel.domain.refunds import Refund, RefundState
from payhub.kernel.ports import Fulfiller, UnitOfWork
from payhub.kernel.services.bookkeeping import book_fulfilment
from payhub.kernel.services.context import Hub
from payhub.kernel.services.far_calls import apply_answer

FULFILMENT = "fulfilment"
RETRY_PAUSE = timedelta(seconds=30)


async def fulfil(*, hub: Hub, job: Job) -> JobOutcome:
    """Fulfil a paid order (again after a refusal, under a retry policy); after an unclear try, query first."""
    async with hub.uow(autocommit=True) as uow:  # the guarded save is the only write: no transaction around it
        order = await uow.orders.get(order_no=job.ref)
        assert order is not None, job.ref
        if order.state in (OrderState.PAID, OrderState.FULFIL_FAILED):
            order.begin_fulfilment(reason="开始交付（入账）", at=hub.clock.now(), actor=FULFILMENT)
            await uow.orders.save(order)
            await uow.commit()
            resumed = False
        else:
            resumed = True  # an earlier try of this fulfilment may have got through: ask before fulfilling again
    if order.state is not OrderState.FULFILLING:
        return Done()
    hub.signals.publish(order.order_no, moving_on_at=moving_on_at(order))
    fulfiller = hub.fulfillers.of(order.kind)
    outcome = await _fulfil_unless_done(fulfiller=fulfiller, order=order, resumed=resumed)
    if outcome.status not in (FulfilmentStatus.DONE, FulfilmentStatus.REFUSED):
        return Retry(f"fulfilment {outcome.status}: {outcome.code or ''} {outcome.message or ''}".strip())

    recoveries: list[Recovery] = []
    finished: list[bool] = []

    async def apply(uow: UnitOfWork, fresh: Order, now: datetime) -> JobOutcome | None:
        if outcome.status is FulfilmentStatus.DONE:
            fresh.mark_fulfilled(ref=outcome.ref, fulfilled_at=outcome.at or now, actor=FULFILMENT, at=now)
            await uow.orders.save(fresh)  # guarded: a racing duplicate stops here, before the journal
            finished.append(await uow.jobs.finish(job=job, outcome=Done(), now=now))  # over with this transaction
            await book_fulfilment(uow=uow, order=fresh, payable=fulfiller.payable(order=fresh), at=now)  # locks last
            return None
        recoveries.append(await _recover(uow=uow, fulfiller=fulfiller, order=fresh, outcome=outcome, at=now))
        if recoveries != [Recovery.RETRY]:  # this job is over with this transaction (a retry runs it again)
            finished.append(await uow.jobs.finish(job=job, outcome=Done(), now=now))
        return None

    async def as_read(_: UnitOfWork) -> Order:
        # not read again: should it have moved meanwhile, the guarded save raises StaleState and the job runs again
        return order

    answer = await apply_answer(hub=hub, reload=as_read, apply=apply, signal=order.order_no,
                                still=lambda fresh: fresh.state is OrderState.FULFILLING)
    if recoveries == [Recovery.RETRY] and isinstance(answer, Done):
        return RunAgain(at=hub.clock.now() + RETRY_PAUSE)  # the same job fulfils again: a re-sale
    return Done(recorded=True) if isinstance(answer, Done) and finished == [True] else answer


async def _fulfil_unless_done(*, fulfiller: Fulfiller, order: Order, resumed: bool) -> Outcome:
    """The far system's answer; a resumed fulfilment asks first whether an earlier try got through."""
    if resumed:
        found = await fulfiller.query(order=order)
        if found.status is not FulfilmentStatus.NOT_FOUND:
            return found
    return await fulfiller.fulfil(order=order)


async def _recover(*, uow: UnitOfWork, fulfiller: Fulfiller, order: Order, outcome: Outcome,
                   at: datetime) -> Recovery:
    order.fulfilment_refused(code=outcome.code or "REFUSED", message=outcome.message or "交付失败", at=at, actor=FULFILMENT)
    recovery = recovery_after_refusal(policy=fulfiller.recovery, order=order, outcome=outcome,
                                      tries=fulfiller.retry_tries)
    if recovery is Recovery.REFUND:
        await start_automatic_refund(uow=uow, order=order, at=at)
    elif recovery is Recovery.RETRY:
        await uow.orders.save(order)
    else:
        order.to_manual(reason=f"交付失败，需人工处理：{order.failure_message}", at=at, actor=FULFILMENT)
        await uow.orders.save(order)
    return recovery


async def start_automatic_refund(*, uow: UnitOfWork, order: Order, at: datetime) -> Refund:
    """Fulfil failed → refunding: the whole amount goes back to the customer through the channel."""
    order.begin_refund(reason="交付失败，自动退款", at=at, actor=FULFILMENT)
    await uow.orders.save(order)
    assert order.id is not None
    refund = Refund(
        merchant_id=order.merchant_id, order_id=order.id, order_no=order.order_no, seq=1, amount=order.amount,
        reason=f"交付失败自动退款：{order.failure_message}", requested_by=None, approved_by=None, automatic=True,
        created_at=at, state=RefundState.REFUNDING,
    )
    await uow.refunds.add(refund)
    await uow.jobs.enqueue(merchant_id=order.merchant_id, kind=JobKind.REFUND, ref=refund.refund_no, run_at=at)
    return refund
