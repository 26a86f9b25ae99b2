"""Online recharge (线上充值): the member pays through a channel (SwiftPass), then the card is credited.
A payment that succeeded but whose credit failed goes to manual handling (人工处理), never lost."""
from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

from payhub.cards.domain.jobs import CardJobKind
from payhub.cards.domain.money import Funding, TxChannel, check_amount, fingerprint
from payhub.cards.domain.recharges import RechargeOrder, RechargeState
from payhub.cards.domain.cards import check_card_no, require_transactable
from payhub.kernel.domain.errors import Conflict, NotFound, PayhubError
from payhub.kernel.domain.jobs import Done, Job, JobOutcome, Retry, RunAgain
from payhub.kernel.domain.payments import PayResult, PayStatus
from payhub.cards.services import money as card_money
from payhub.cards.services.context import CardHub

CHANNEL = "swiftpass"


async def start(*, hub: CardHub, merchant_id: int, merchant_code: str, card_no: str, out_trade_no: str, amount: int,
                auth_code: str, merchant: str, client_ip: str) -> dict[str, Any]:
    """Charge the member's payment code for a recharge; credits the card once the channel confirms."""
    check_card_no(card_no), check_amount(amount)
    request_hash = fingerprint(kind="online_recharge", card_no=card_no, amount=amount)
    order = await _open(hub=hub, merchant_id=merchant_id, merchant_code=merchant_code, card_no=card_no,
                        out_trade_no=out_trade_no, amount=amount, request_hash=request_hash)
    if order is None:  # the number was used before, or is being used by a request racing this one
        async with hub.uow(read_only=True) as uow:
            first = await uow.card_money.recharge(merchant_id=merchant_id, merchant_code=merchant_code,
                                                  out_trade_no=out_trade_no)
        assert first is not None
        if first.request_hash != request_hash:
            raise Conflict("IDEMPOTENCY_CONFLICT", key=out_trade_no)
        return view(first)
    result = await hub.registry.channel(CHANNEL).micropay(
        merchant=merchant, out_trade_no=order.recharge_no, total_fee=amount, body="储值卡充值", auth_code=auth_code,
        client_ip=client_ip)
    return view(await apply(hub=hub, recharge_no=order.recharge_no, result=result))


async def _open(*, hub: CardHub, merchant_id: int, merchant_code: str, card_no: str, out_trade_no: str, amount: int,
                request_hash: str) -> RechargeOrder | None:
    """Save a new recharge order with its poll job; None if the number is taken."""
    now = hub.clock.now()
    async with hub.uow() as uow:
        if await uow.card_money.recharge(merchant_id=merchant_id, merchant_code=merchant_code,
                                         out_trade_no=out_trade_no) is not None:
            return None
        card = await uow.cards.card(merchant_id=merchant_id, card_no=card_no)
        if card is None:
            raise NotFound("CARD_NOT_FOUND", card_no=card_no)
        require_transactable(card_no=card_no, state=card.state.value)
        order = RechargeOrder(merchant_id=merchant_id, recharge_no=f"RC{now:%Y%m%d%H%M%S}{secrets.token_hex(5)}",
                              card_no=card_no, merchant_code=merchant_code, out_trade_no=out_trade_no,
                              request_hash=request_hash, amount=amount, channel=CHANNEL, created_at=now)
        if not await uow.card_money.add_recharge(order):
            return None
        await uow.jobs.enqueue(merchant_id=merchant_id, kind=CardJobKind.CARD_RECHARGE_POLL, ref=order.recharge_no,
                               run_at=now + timedelta(seconds=hub.policy.micropay_poll_seconds))
        await uow.commit()
    return order


async def apply(*, hub: CardHub, recharge_no: str, result: PayResult) -> RechargeOrder:
    """Act on the channel's answer: paid → credit the card (or manual if that fails); refused → failed."""
    now = hub.clock.now()
    async with hub.uow() as uow:
        order = await uow.card_money.recharge(recharge_no=recharge_no)
        if order is None:
            raise NotFound("RECHARGE_NOT_FOUND", recharge_no=recharge_no)
        if order.state is RechargeState.PAYING and result.status is PayStatus.PAID:
            order.paid(transaction_id=result.transaction_id, at=now, actor="channel")
        elif order.state is RechargeState.PAYING and result.status in (PayStatus.FAILED, PayStatus.CLOSED):
            order.fail(reason=result.message or result.err_code or result.status.value, at=now, actor="channel")
        await uow.card_money.save_recharge(order)
        await uow.commit()
    return await credit(hub=hub, order=order) if order.state is RechargeState.PAID else order


async def credit(*, hub: CardHub, order: RechargeOrder) -> RechargeOrder:
    """Credit a paid recharge to its card; any refusal (card frozen, lost…) parks it for staff."""
    try:
        tx = await card_money.recharge(hub=hub, merchant_id=order.merchant_id, merchant_code=order.merchant_code,
                                       card_no=order.card_no, out_trade_no=order.recharge_no, amount=order.amount,
                                       funding=Funding.SWIFTPASS, channel=TxChannel.ONLINE)
        outcome, reason = RechargeState.CREDITED, tx.tx_no
    except PayhubError as error:
        outcome, reason = RechargeState.MANUAL, f"{error.code}: {error}"
    async with hub.uow() as uow:
        fresh = await uow.card_money.recharge(recharge_no=order.recharge_no)
        assert fresh is not None
        if fresh.can_move(outcome):
            if outcome is RechargeState.CREDITED:
                fresh.credited(tx_no=reason, at=hub.clock.now(), actor="hub")
            else:
                fresh.to_manual(reason=reason, at=hub.clock.now(), actor="hub")
            await uow.card_money.save_recharge(fresh)
            await uow.commit()
    return fresh


async def poll(*, hub: CardHub, job: Job) -> JobOutcome:
    """The job behind a recharge: ask the channel until its answer is explicit."""
    async with hub.uow(read_only=True) as uow:
        order = await uow.card_money.recharge(recharge_no=job.ref)
        merchant = None if order is None else await uow.tenancy.merchant(merchant_id=order.merchant_id)
    if order is None or order.state in (RechargeState.CREDITED, RechargeState.FAILED, RechargeState.MANUAL):
        return Done()
    assert merchant is not None  # the issuer of a recharge order
    if order.state is RechargeState.PAID:
        await credit(hub=hub, order=order)
        return Done()
    result = await hub.registry.channel(CHANNEL).query(merchant=merchant.code, out_trade_no=order.recharge_no)
    if result.status is PayStatus.UNKNOWN:
        return Retry(result.message or "unknown")
    if result.status in (PayStatus.PENDING, PayStatus.NOT_FOUND):
        return RunAgain(at=hub.clock.now() + timedelta(seconds=hub.policy.micropay_poll_seconds))
    await apply(hub=hub, recharge_no=order.recharge_no, result=result)
    return Done()


async def park(*, hub: CardHub, job: Job, error: str) -> None:
    """Out of tries: the payment stayed unclear (or the credit kept failing), so staff take the recharge over."""
    async with hub.uow() as uow:
        order = await uow.card_money.recharge(recharge_no=job.ref)
        if order is not None and order.can_move(RechargeState.MANUAL):
            order.to_manual(reason=f"{job.kind} 重试次数已用完（retries exhausted）：{error}", at=hub.clock.now(), actor="worker")
            await uow.card_money.save_recharge(order)
            await uow.commit()


async def _settle_unconfirmed(*, hub: CardHub, order: RechargeOrder) -> RechargeOrder:
    """A recharge parked before the channel confirmed it: ask the channel before anything is credited."""
    async with hub.uow(read_only=True) as uow:
        history = await uow.orders.history(key=order.recharge_no)
        merchant = await uow.tenancy.merchant(merchant_id=order.merchant_id)
    if any(move.to_state == RechargeState.PAID.value for move in history):
        return order
    assert merchant is not None
    result = await hub.registry.channel(CHANNEL).query(merchant=merchant.code, out_trade_no=order.recharge_no)
    if result.status is PayStatus.PAID:
        return order
    if result.status not in (PayStatus.FAILED, PayStatus.CLOSED, PayStatus.NOT_FOUND):
        raise Conflict("RECHARGE_UNCONFIRMED", recharge_no=order.recharge_no, status=result.status.value)
    async with hub.uow() as uow:
        fresh = await uow.card_money.recharge(recharge_no=order.recharge_no)
        assert fresh is not None
        fresh.fail(reason=f"channel says {result.status}: {result.message or result.err_code or ''}".strip(),
                   at=hub.clock.now(), actor="staff")
        await uow.card_money.save_recharge(fresh)
        await uow.commit()
    return fresh


async def resolve_manual(*, hub: CardHub, merchant_id: int, recharge_no: str) -> dict[str, Any]:
    """人工处理: staff credit a paid recharge once its card can take it; one never confirmed is asked at the channel."""
    async with hub.uow(read_only=True) as uow:
        order = await uow.card_money.recharge(recharge_no=recharge_no)
    if order is None or order.merchant_id != merchant_id:
        raise NotFound("RECHARGE_NOT_FOUND", recharge_no=recharge_no)
    if order.state is not RechargeState.MANUAL:
        raise Conflict("ILLEGAL_TRANSITION", aggregate=order.aggregate, current=order.state.value, target="credited")
    order = await _settle_unconfirmed(hub=hub, order=order)
    return view(order if order.state is RechargeState.FAILED else await credit(hub=hub, order=order))


async def get(*, hub: CardHub, merchant_id: int, recharge_no: str) -> dict[str, Any]:
    """One online recharge."""
    async with hub.uow(read_only=True) as uow:
        order = await uow.card_money.recharge(recharge_no=recharge_no)
    if order is None or order.merchant_id != merchant_id:
        raise NotFound("RECHARGE_NOT_FOUND", recharge_no=recharge_no)
    return view(order)


def view(order: RechargeOrder) -> dict[str, Any]:
    return {"recharge_no": order.recharge_no, "state": order.state.value, "card_no": order.card_no,
            "amount": order.amount, "out_trade_no": order.out_trade_no, "tx_no": order.tx_no, "failure": order.failure}
