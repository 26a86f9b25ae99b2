"""A commit that makes a job due wakes the worker of the hub at once, on both engines, however long its poll."""
from __future__ import annotations

import asyncio

from payhub.kernel.services.outbox import work_forever
from tests.support.harness import WECHAT, Harness


async def test_a_paid_order_is_fulfilled_at_once_although_the_worker_polls_once_a_minute(hub: Harness) -> None:
    stop = asyncio.Event()
    worker = asyncio.create_task(work_forever(hub=hub.hub, idle_seconds=60, stop=stop, wakeups=hub.container.wakeups))
    try:
        order = await hub.place(fee_type="other", account_no="10010001", amount=2500)
        await asyncio.sleep(0.2)  # the worker found nothing due: it rests until woken or for a minute
        paid = await hub.call("POST", f"/api/v1/orders/{order['order_no']}/pay/code", {"auth_code": WECHAT})
        assert paid["state"] == "paid"
        for _ in range(250):
            if (await hub.order(order["order_no"]))["state"] == "fulfilled":
                break
            await asyncio.sleep(0.02)
        assert (await hub.order(order["order_no"]))["state"] == "fulfilled"
    finally:
        stop.set()
        await asyncio.wait_for(worker, timeout=5)
