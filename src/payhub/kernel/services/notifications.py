"""Payment notifies pushed by a channel: hints, trusted only as far as they check out against the order."""
from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from payhub.kernel.domain.errors import Contention, InvalidInput, StaleState
from payhub.kernel.domain.jobs import JobKind
from payhub.kernel.domain.orders import Order, OrderState, order_no_of_trade
from payhub.kernel.domain.payments import PayResult, PayStatus
from payhub.kernel.ports import SignatureInvalid
from payhub.kernel.services.context import Hub
from payhub.kernel.services.payment_results import apply_pay_result
from payhub.kernel.services.retries import retrying

log = logging.getLogger(__name__)

_TRIES = 3  # a racing duplicate costs one more: it then finds the order already moved


def _speaks_for_itself(*, result: PayResult, order: Order) -> bool:
    """A verified success that names the order's latest payment and its amount; anything else is queried first."""
    return (result.status is PayStatus.PAID and result.total_fee == order.amount
            and result.out_trade_no == order.out_trade_no)


async def accept_notify(*, hub: Hub, channel: str, body: bytes) -> bool:
    """Take a channel's payment notify as a hint; True acknowledges it, False asks the channel to send it again.

    The signature is checked with the key of the order's own merchant account, never with one the notify picks.
    """
    try:
        port = hub.registry.channel(channel)
        # XML is parsed in a thread: a slow parse must never stall the event loop that serves everyone else
        out_trade_no = await asyncio.to_thread(port.notify_trade_no, body=body)
    except (InvalidInput, SignatureInvalid) as error:
        log.warning("notify refused: %s", error, extra={"channel": channel})
        return False
    order_no = order_no_of_trade(out_trade_no)
    async with hub.uow(read_only=True) as uow:
        order = await uow.orders.get(order_no=order_no)
        merchant = await uow.tenancy.merchant(merchant_id=order.merchant_id) if order else None
    if order is None or merchant is None or order.payment is None or order.payment.channel != channel:
        log.warning("notify for an unknown order", extra={"order_no": order_no, "channel": channel})
        return False
    try:
        result = await asyncio.to_thread(port.parse_notify, body=body, merchant=merchant.code)
    except SignatureInvalid as error:
        log.warning("notify refused: %s", error, extra={"channel": channel, "order_no": order_no})
        return False

    async def take() -> None:
        async with hub.uow() as uow:
            fresh = await uow.orders.get(order_no=order_no)
            assert fresh is not None
            if result.status is PayStatus.PAID and result.out_trade_no != fresh.out_trade_no:
                # an earlier try of this order reports money taken: only the channel's statement can say whether
                # the customer paid twice, so operations staff must look (the order follows its latest payment)
                log.error("paid notify for a superseded payment", extra={
                    "order_no": fresh.order_no, "out_trade_no": result.out_trade_no, "channel": channel})
            if _speaks_for_itself(result=result, order=fresh):
                await apply_pay_result(uow=uow, order=fresh, result=result, at=hub.clock.now())
            elif fresh.state is OrderState.PAYING:
                await uow.jobs.enqueue(merchant_id=fresh.merchant_id, kind=JobKind.POLL_PAYMENT,
                                       ref=fresh.order_no, run_at=hub.clock.now() + timedelta(seconds=1))
            await uow.commit()

    try:
        await retrying(take, on=(StaleState, Contention), tries=_TRIES, pause=0)
    except (StaleState, Contention):
        return False
    hub.signals.publish(order_no)
    return True
