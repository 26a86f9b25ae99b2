"""Payment notifies pushed by a channel: verified, then applied like any other explicit answer."""
from __future__ import annotations

import logging
from datetime import timedelta

from payhub.domain.errors import StaleState
from payhub.domain.jobs import JobKind
from payhub.domain.orders import OrderState
from payhub.domain.payments import PayStatus
from payhub.ports import SignatureInvalid
from payhub.services.context import Hub
from payhub.services.payment_results import apply_pay_result

log = logging.getLogger(__name__)


async def accept_notify(*, hub: Hub, channel: str, body: bytes) -> bool:
    """Apply a channel's payment notify; True means acknowledge it, False asks the channel to send it again."""
    try:
        result = hub.registry.channel(channel).parse_notify(body=body)
    except SignatureInvalid as error:
        log.warning("notify refused: %s", error, extra={"channel": channel})
        return False
    for _ in range(3):
        async with hub.uow() as uow:
            order = await uow.orders.get(order_no=result.out_trade_no)
            if order is None:
                log.warning("notify for an unknown order", extra={"order_no": result.out_trade_no})
                return False
            try:
                if result.status is PayStatus.PAID:
                    await apply_pay_result(uow=uow, order=order, result=result, at=hub.clock.now())
                elif order.state is OrderState.PAYING:
                    # anything but an explicit success is a reason to ask, not to conclude
                    await uow.jobs.enqueue(merchant_id=order.merchant_id, kind=JobKind.POLL_PAYMENT,
                                           ref=order.order_no, run_at=hub.clock.now() + timedelta(seconds=1))
            except StaleState:
                continue
            await uow.commit()
        hub.signals.publish(order.order_no)
        return True
    return False
