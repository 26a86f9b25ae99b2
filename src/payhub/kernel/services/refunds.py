"""Refunds: a supervisor's full or partial refunds of fulfilled orders, and the jobs that carry out every refund."""
from __future__ import annotations

import hashlib
from datetime import datetime

from payhub.kernel.domain.errors import Conflict, NotFound
from payhub.kernel.domain.fulfilment import FulfilmentStatus
from payhub.kernel.domain.jobs import Done, Job, JobKind, JobOutcome, Retry
from payhub.kernel.domain.money import require_fen
from payhub.kernel.domain.orders import Order, OrderState, trade_no
from payhub.kernel.domain.payments import RefundResult, RefundStatus
from payhub.kernel.domain.refunds import Refund, RefundState
from payhub.kernel.domain.tenancy import Operator, Role, require_role
from payhub.kernel.ports import UnitOfWork
from payhub.kernel.services.auth import Actor
from payhub.kernel.services.bookkeeping import book_refund, book_undo
from payhub.kernel.services.context import Hub
from payhub.kernel.services.far_calls import apply_answer, order_of, read

WORKER = "worker"


async def request_refund(
    *, hub: Hub, actor: Actor, approver: Operator, order_no: str, amount: int, reason: str, request_no: str,
) -> Refund:
    """Refund part or all of a fulfilled order; the far system gives the amount back first, then the channel refunds."""
    require_role(role=approver.role, needed=Role.SUPERVISOR)
    amount = require_fen(amount)
    content_hash = hashlib.sha256(f"{order_no}|{amount}|{reason}".encode()).hexdigest()
    now = hub.clock.now()
    async with hub.uow() as uow:
        earlier = await uow.refunds.by_request(terminal_id=actor.terminal.id, request_no=request_no)
        if earlier is not None:
            if earlier[1] != content_hash:
                raise Conflict("IDEMPOTENCY_CONFLICT", key=request_no)
            return earlier[0]
        order = await uow.orders.get(order_no=order_no)
        if order is None or order.merchant_id != actor.merchant_id:
            raise NotFound("ORDER_NOT_FOUND", order_no=order_no)
        assert order.id is not None
        order.reserve_refund(amount=amount)
        await uow.orders.save(order)
        refund = Refund(
            merchant_id=order.merchant_id, order_id=order.id, order_no=order.order_no,
            seq=len(await uow.refunds.for_order(order_id=order.id)) + 1, amount=amount, reason=reason,
            requested_by=actor.operator.id, approved_by=approver.id, automatic=False, created_at=now,
            state=RefundState.UNDOING,
        )
        await uow.refunds.add(refund, terminal_id=actor.terminal.id, request_no=request_no, request_hash=content_hash)
        await uow.jobs.enqueue(merchant_id=order.merchant_id, kind=JobKind.UNDO_FULFILMENT, ref=refund.refund_no, run_at=now)
        await uow.commit()
    hub.signals.publish(order_no)
    return refund


async def refunds_of(*, hub: Hub, order_id: int) -> list[Refund]:
    """Every refund of an order, oldest first."""
    async with hub.uow(read_only=True) as uow:
        return await uow.refunds.for_order(order_id=order_id)


async def _refund_and_order(uow: UnitOfWork, refund_no: str) -> tuple[Refund, Order]:
    refund = await uow.refunds.get(refund_no=refund_no)
    assert refund is not None, refund_no
    return refund, await order_of(uow, refund.order_no)


async def undo_fulfilment(*, hub: Hub, job: Job) -> JobOutcome:
    """Take the refund's amount back at the far system (idempotent by the refund's reversal no.)."""
    refund, order = await read(hub=hub, load=lambda uow: _refund_and_order(uow, job.ref))
    if refund.state is not RefundState.UNDOING:
        return Done()
    fulfiller = hub.fulfillers.of(order.kind)
    result = await fulfiller.undo(order=order, refund=refund)
    if result.status not in (FulfilmentStatus.DONE, FulfilmentStatus.REFUSED):
        return Retry(f"reversal {result.status}: {result.code or ''} {result.message or ''}".strip())

    async def apply(uow: UnitOfWork, fresh: tuple[Refund, Order], now: datetime) -> JobOutcome | None:
        refund, order = fresh
        if result.status is FulfilmentStatus.DONE:
            refund.undone(at=now, actor=WORKER)
            await book_undo(uow=uow, order=order, payable=fulfiller.payable(order=order), refund=refund, at=now)
            await uow.jobs.enqueue(merchant_id=refund.merchant_id, kind=JobKind.REFUND, ref=refund.refund_no, run_at=now)
        else:
            refund.reject(code=result.code or "REFUSED", message=result.message or "冲正被拒绝", at=now, actor=WORKER)
            order.release_refund(amount=refund.amount)
            await uow.orders.save(order)
        await uow.refunds.save(refund)
        return None

    return await apply_answer(hub=hub, reload=lambda uow: _refund_and_order(uow, job.ref), apply=apply,
                              signal=refund.order_no, still=lambda fresh: fresh[0].state is RefundState.UNDOING)


async def refund_at_channel(*, hub: Hub, job: Job) -> JobOutcome:
    """Return the money through the channel with the refund's stable out_refund_no; unclear answers are queried."""
    refund, order, merchant = await read(hub=hub, load=lambda uow: _with_merchant(uow, job.ref))
    if refund.state is not RefundState.REFUNDING:
        return Done()
    result = await _refund_unless_refunded(hub=hub, refund=refund, order=order, merchant=merchant,
                                           retried=job.attempts > 1)
    if result.status in (RefundStatus.PROCESSING, RefundStatus.UNKNOWN, RefundStatus.NOT_FOUND):
        return Retry(f"refund {result.status}: {result.err_code or ''} {result.message or ''}".strip())

    async def apply(uow: UnitOfWork, fresh: tuple[Refund, Order], now: datetime) -> JobOutcome | None:
        refund, order = fresh
        if result.status is RefundStatus.SUCCESS and result.refund_fee not in (None, refund.amount):
            _to_manual(refund=refund, order=order, at=now,
                       reason=f"渠道退款金额{result.refund_fee}分与退款单{refund.amount}分不符")
        elif result.status is RefundStatus.SUCCESS:
            refund.succeeded(channel_refund_id=result.refund_id, at=now, actor=WORKER)
            await book_refund(uow=uow, order=order, refund=refund, at=now)
            order.record_refunded(amount=refund.amount, at=now, actor=WORKER)
        else:
            reason = f"渠道退款失败：{result.message or result.err_code or '渠道未说明原因'}，待人工退款"
            _to_manual(refund=refund, order=order, reason=reason, at=now)
        await uow.refunds.save(refund)
        await uow.orders.save(order)
        return None

    return await apply_answer(hub=hub, reload=lambda uow: _refund_and_order(uow, job.ref), apply=apply,
                              signal=refund.order_no, still=lambda fresh: fresh[0].state is RefundState.REFUNDING)


async def _with_merchant(uow: UnitOfWork, refund_no: str) -> tuple[Refund, Order, str]:
    refund, order = await _refund_and_order(uow, refund_no)
    merchant = await uow.tenancy.merchant(merchant_id=order.merchant_id)
    assert merchant is not None
    return refund, order, merchant.code


async def _refund_unless_refunded(*, hub: Hub, refund: Refund, order: Order, merchant: str,
                                  retried: bool) -> RefundResult:
    """The channel's answer to the refund; a retried job asks first whether an earlier try got through."""
    paid = order.paid_payment
    assert paid is not None, order.order_no
    channel = hub.registry.channel(paid.channel)
    if retried:
        found = await channel.refund_query(merchant=merchant, out_refund_no=refund.refund_no)
        if found.status is not RefundStatus.NOT_FOUND:
            return found
    return await channel.refund(
        merchant=merchant, out_trade_no=trade_no(order_no=order.order_no, seq=paid.seq), out_refund_no=refund.refund_no,
        total_fee=order.amount, refund_fee=refund.amount, op_user_id=str(refund.approved_by or "payhub"),
    )


def _to_manual(*, refund: Refund, order: Order, reason: str, at: datetime) -> None:
    refund.to_manual(reason=reason, at=at, actor=WORKER)
    if refund.automatic and order.state is OrderState.REFUNDING:
        order.to_manual(reason=reason, at=at, actor=WORKER)


async def park_refund(*, hub: Hub, job: Job, error: str) -> None:
    """Out of tries: the refund (and an automatic refund's order) waits for operations staff."""
    async with hub.uow() as uow:
        refund = await uow.refunds.get(refund_no=job.ref)
        if refund is None or refund.state not in (RefundState.UNDOING, RefundState.REFUNDING):
            return
        order = await uow.orders.get(order_no=refund.order_no)
        assert order is not None
        _to_manual(refund=refund, order=order, reason=f"重试次数已用完（retries exhausted）：{error}", at=hub.clock.now())
        await uow.refunds.save(refund)
        await uow.orders.save(order)
        await uow.commit()
    hub.signals.publish(refund.order_no)
