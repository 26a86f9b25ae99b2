"""Closing the orders nobody paid in time: a sweep in the worker instead of one job per order."""
from __future__ import annotations

from payhub.kernel.domain.errors import StaleState
from payhub.kernel.domain.orders import OrderState
from payhub.kernel.services.context import Hub
from payhub.kernel.services.payment_jobs import WORKER


async def expire_unpaid_orders(*, hub: Hub, limit: int) -> int:
    """Close up to limit created orders whose time to be paid is up, the longest expired first; how many closed."""
    now = hub.clock.now()
    async with hub.uow(read_only=True) as uow:
        due = await uow.orders.expired_unpaid(now=now, limit=limit)
    closed = 0
    for order_no in due:
        closed += await _expire(hub=hub, order_no=order_no)
    return closed


async def _expire(*, hub: Hub, order_no: str) -> bool:
    now = hub.clock.now()
    try:
        async with hub.uow() as uow:
            order = await uow.orders.get(order_no=order_no)
            if order is None or order.state is not OrderState.CREATED or now < order.expires_at:
                return False
            order.cancel_unpaid(reason="订单过期未支付", at=now, actor=WORKER)
            await uow.orders.save(order)
            await uow.commit()
    except StaleState:
        return False  # a payment began (before expiry) or another worker's sweep closed it first
    hub.signals.publish(order_no)
    return True
