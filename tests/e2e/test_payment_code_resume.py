"""A payment code the hub died sending is sent when the terminal retries, under the same out_trade_no."""
from __future__ import annotations

import pytest

from tests.support.harness import WECHAT, Crash, Harness

QUICK_RESTART_SECONDS = 5  # leases run out well within the 45 s the payment code has


def _micropay(request) -> bool:  # noqa: ANN001
    return b"unified.trade.micropay" in request.content


async def _dies_paying(hub: Harness, *, after: bool) -> dict:
    order = await hub.place(fee_type="water", account_no="20010001")
    hub.crash.arm(_micropay, after=after)
    with pytest.raises((Crash, BaseException)):  # noqa: PT011 - the ASGI stack may wrap the crash
        await hub.call("POST", f"/api/v1/orders/{order['order_no']}/pay/code", {"auth_code": WECHAT})
    assert hub.crash.fired == 1
    assert (await hub.order(order["order_no"]))["state"] == "paying"
    hub.settings.timings.job_lease_seconds = QUICK_RESTART_SECONDS
    await hub.restart()
    return order


def _trades(hub: Harness, order_no: str) -> list:
    return [t for t in hub.swiftpass.trades.values() if t.out_trade_no == order_no]


async def test_a_retry_after_dying_before_the_channel_heard_of_it_sends_the_payment(hub: Harness) -> None:
    order = await _dies_paying(hub, after=False)
    assert _trades(hub, order["order_no"]) == []

    again = await hub.call("POST", f"/api/v1/orders/{order['order_no']}/pay/code", {"auth_code": WECHAT})

    assert again["state"] == "paid"
    await hub.settle(seconds=60, steps=6)
    assert (await hub.order(order["order_no"]))["state"] == "fulfilled"
    assert len(_trades(hub, order["order_no"])) == 1
    assert await hub.balances() == {"channel:swiftpass:clearing": order["amount"], "orders:unposted": 0,
                                    "biller:tcis:payable": order["amount"]}


async def test_a_retry_after_dying_once_the_channel_charged_finds_the_payment_without_charging_again(
    hub: Harness,
) -> None:
    order = await _dies_paying(hub, after=True)

    again = await hub.call("POST", f"/api/v1/orders/{order['order_no']}/pay/code", {"auth_code": WECHAT})

    assert again["state"] == "paid"
    trades = _trades(hub, order["order_no"])
    assert len(trades) == 1 and trades[0].queries == 1
    await hub.settle(seconds=60, steps=6)
    assert (await hub.order(order["order_no"]))["state"] == "fulfilled"


async def test_a_retry_once_the_payment_code_timed_out_sends_nothing(hub: Harness) -> None:
    order = await _dies_paying(hub, after=False)
    hub.clock.advance(seconds=60)

    again = await hub.call("POST", f"/api/v1/orders/{order['order_no']}/pay/code", {"auth_code": WECHAT})

    assert again["state"] == "paying"
    assert _trades(hub, order["order_no"]) == []
    await hub.settle(seconds=30, steps=3)
    assert (await hub.order(order["order_no"]))["state"] == "closed"
    assert [t for t in _trades(hub, order["order_no"]) if t.kind == "micropay"] == []
