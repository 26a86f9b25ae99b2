"""The process dies at each risky step (right after the far system acted) and starts again: every order ends right,
nothing is paid, posted or refunded twice, and the ledger agrees."""
from __future__ import annotations

import pytest

from tests.support.harness import WECHAT, Crash, Harness, code_for


def _service(name: str):  # noqa: ANN202
    return lambda request: f"<service><![CDATA[{name}]]></service>".encode() in request.content or (
        f"<service>{name}</service>".encode() in request.content
    )


def _tcis(method: str, suffix: str):  # noqa: ANN202
    return lambda request: request.method == method and request.url.path.endswith(suffix)


async def _api_call_dies(hub: Harness, path: str, body: dict | None = None) -> None:
    """The server dies inside the request: the terminal sees the connection fail, whatever the framework wraps it in."""
    with pytest.raises(BaseException):  # noqa: PT011 - the ASGI stack may wrap the crash
        await hub.call("POST", path, body)
    assert hub.crash.fired == 1


async def _run_until_crash(hub: Harness, *, seconds: float = 0, steps: int = 1) -> None:
    with pytest.raises(Crash):
        await hub.settle(seconds=seconds, steps=steps)
        await hub.settle(seconds=120, steps=12)
    assert hub.crash.fired == 1


async def test_crash_after_the_channel_charged_the_payment_code(hub: Harness) -> None:
    order = await hub.place(fee_type="water", account_no="20010001")
    hub.crash.arm(_service("unified.trade.micropay"))
    await _api_call_dies(hub, f"/api/v1/orders/{order['order_no']}/pay/code", {"auth_code": WECHAT})
    assert (await hub.order(order["order_no"]))["state"] == "paying"
    await hub.restart()
    await hub.settle(seconds=10, steps=2)
    done = await hub.order(order["order_no"])
    assert done["state"] == "fulfilled"
    assert len([t for t in hub.swiftpass.trades.values() if t.out_trade_no == order["order_no"]]) == 1


async def test_crash_after_the_biller_booked_the_posting(hub: Harness) -> None:
    order = await hub.place(fee_type="other", account_no="10010001", amount=12300)
    hub.crash.arm(_tcis("POST", "/api/v1/postings"))
    await hub.call("POST", f"/api/v1/orders/{order['order_no']}/pay/code", {"auth_code": WECHAT})
    await _run_until_crash(hub)
    assert (await hub.order(order["order_no"]))["state"] == "fulfilling"
    await hub.restart()
    await hub.settle(seconds=10, steps=2)
    done = await hub.order(order["order_no"])
    assert done["state"] == "fulfilled"
    assert [p for p in hub.tcis.postings if p.startswith(order["order_no"])] == [f"{order['order_no']}P"]
    assert await hub.balances() == {"channel:swiftpass:clearing": 12300, "orders:unposted": 0, "biller:tcis:payable": 12300}


async def test_crash_after_the_channel_accepted_the_refund(hub: Harness) -> None:
    order = await hub.place(account_no="10010091")
    hub.crash.arm(_service("unified.trade.refund"))
    await hub.call("POST", f"/api/v1/orders/{order['order_no']}/pay/code", {"auth_code": WECHAT})
    await _run_until_crash(hub)
    await hub.restart()
    await hub.settle(seconds=120, steps=12)
    done = await hub.order(order["order_no"])
    assert done["state"] == "refunded"
    trade = hub.swiftpass.trades[order["order_no"]]
    assert len(trade.refunds) == 1 and trade.refunded_fee() == order["amount"]
    assert await hub.balances() == {"channel:swiftpass:clearing": 0, "orders:unposted": 0}


async def test_crash_after_the_reverse_at_the_cap(hub: Harness) -> None:
    order = await hub.place(fee_type="water", account_no="20010001")
    await hub.call("POST", f"/api/v1/orders/{order['order_no']}/pay/code", {"auth_code": code_for(96)})
    hub.crash.arm(_service("unified.micropay.reverse"))
    await _run_until_crash(hub, seconds=60, steps=12)
    assert (await hub.order(order["order_no"]))["state"] == "reversing"
    await hub.restart()
    await hub.settle(seconds=30, steps=3)
    assert (await hub.order(order["order_no"]))["state"] == "closed"


async def test_crash_after_closing_an_expired_qr(hub: Harness) -> None:
    order = await hub.place(fee_type="other", account_no="10010001", amount=5000)
    await hub.call("POST", f"/api/v1/orders/{order['order_no']}/pay/qr")
    hub.crash.arm(_service("unified.trade.close"))
    await _run_until_crash(hub, seconds=6 * 60, steps=12)
    await hub.restart()
    await hub.settle(seconds=30, steps=3)
    assert (await hub.order(order["order_no"]))["state"] == "closed"
    assert hub.swiftpass.trades[order["order_no"]].state == "CLOSED"


async def test_crash_while_a_qr_payment_notify_is_applied_is_healed_by_the_resent_notify(hub: Harness) -> None:
    order = await hub.place(fee_type="other", account_no="10010001", amount=4500)
    await hub.call("POST", f"/api/v1/orders/{order['order_no']}/pay/qr")
    hub.crash.arm(_tcis("POST", "/api/v1/postings"), after=False)
    hub.swiftpass.pay_native(order["order_no"])
    await _run_until_crash(hub)
    await hub.restart()
    await hub.settle(seconds=120, steps=12)
    done = await hub.order(order["order_no"])
    assert done["state"] == "fulfilled"
    assert [t["to_state"] for t in done["history"]].count("paid") == 1


async def test_channel_down_when_asking_for_a_qr_leaves_the_order_payable(hub: Harness) -> None:
    order = await hub.place(fee_type="other", account_no="10010001", amount=3000)
    hub.crash.arm(_service("unified.trade.native"), after=False)
    await _api_call_dies(hub, f"/api/v1/orders/{order['order_no']}/pay/qr")
    await hub.restart()
    again = await hub.call("POST", f"/api/v1/orders/{order['order_no']}/pay/qr")
    assert again["state"] == "paying" and again["code_url"]
