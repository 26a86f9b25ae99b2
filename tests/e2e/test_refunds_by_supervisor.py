"""Supervisors refund posted orders, fully or in parts; operators alone cannot."""
from __future__ import annotations

from tests.support.harness import WECHAT, Harness


async def _posted(hub: Harness, amount: int = 30000) -> dict:
    order = await hub.place(fee_type="other", account_no="10010001", amount=amount)
    await hub.call("POST", f"/api/v1/orders/{order['order_no']}/pay/code", {"auth_code": WECHAT})
    await hub.run_jobs()
    return await hub.order(order["order_no"])


async def test_operator_alone_cannot_refund(hub: Harness) -> None:
    order = await _posted(hub)
    refused = await hub.call("POST", f"/api/v1/orders/{order['order_no']}/refunds",
                             {"request_no": "r1", "amount": 100}, status=403)
    assert refused["error"]["code"] == "ROLE_REQUIRED" and "主管" in refused["error"]["message"]
    wrong = await hub.call("POST", f"/api/v1/orders/{order['order_no']}/refunds",
                           {"request_no": "r1", "amount": 100, "supervisor_username": "sup1",
                            "supervisor_password": "nope"}, status=401)
    assert wrong["error"]["code"] == "LOGIN_FAILED"


async def test_two_partial_refunds_then_the_order_is_refunded(hub: Harness) -> None:
    order = await _posted(hub, 30000)
    approval = {"supervisor_username": "sup1", "supervisor_password": "sup1-pass"}
    first = await hub.call("POST", f"/api/v1/orders/{order['order_no']}/refunds",
                           {"request_no": "r1", "amount": 10000, **approval}, status=201)
    assert first["state"] == "undoing"
    again = await hub.call("POST", f"/api/v1/orders/{order['order_no']}/refunds",
                           {"request_no": "r1", "amount": 10000, **approval}, status=201)
    assert again["refund_no"] == first["refund_no"]
    over = await hub.call("POST", f"/api/v1/orders/{order['order_no']}/refunds",
                          {"request_no": "r2", "amount": 20001, **approval}, status=409)
    assert over["error"]["code"] == "REFUND_EXCEEDS"
    await hub.settle(seconds=10, steps=2)
    middle = await hub.order(order["order_no"])
    assert middle["state"] == "fulfilled" and middle["refunded_amount"] == 10000 and middle["refundable"] == 20000

    await hub.call("POST", f"/api/v1/orders/{order['order_no']}/refunds",
                   {"request_no": "r2", "amount": 20000, **approval}, status=201)
    await hub.settle(seconds=10, steps=2)
    done = await hub.order(order["order_no"])
    assert done["state"] == "refunded" and [r["state"] for r in done["refunds"]] == ["refunded", "refunded"]
    assert hub.swiftpass.trades[order["order_no"]].refunded_fee() == 30000
    assert await hub.balances() == {"channel:swiftpass:clearing": 0, "orders:unposted": 0, "biller:tcis:payable": 0}


async def test_refund_the_biller_will_not_reverse_is_rejected_and_nothing_moves(hub: Harness) -> None:
    order = await hub.place(fee_type="other", account_no="10010094", amount=5000)
    await hub.call("POST", f"/api/v1/orders/{order['order_no']}/pay/code", {"auth_code": WECHAT})
    await hub.run_jobs()
    await hub.terminal.login("sup1", "sup1-pass")
    await hub.call("POST", f"/api/v1/orders/{order['order_no']}/refunds", {"request_no": "x", "amount": 5000}, status=201)
    await hub.run_jobs()
    done = await hub.order(order["order_no"])
    assert done["refunds"][0]["state"] == "rejected" and done["refundable"] == 5000
    assert hub.swiftpass.trades[order["order_no"]].refunded_fee() == 0
