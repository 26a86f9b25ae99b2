"""The counter flows of the issue, through the terminal API, against both sandboxes."""
from __future__ import annotations

from tests.support.harness import WECHAT, Harness, code_for


async def test_gas_arrears_paid_by_qr_are_posted_and_booked(hub: Harness) -> None:
    arrears = await hub.call("GET", "/api/v1/arrears", params={"fee_type": "gas", "account_no": "10010001"})
    assert arrears["customer_name"] != "王建华" and arrears["customer_name"].startswith("王")
    order = await hub.place(amount=arrears["total_due"])
    assert order["state"] == "created" and order["arrears_amount"] == arrears["total_due"]

    paying = await hub.call("POST", f"/api/v1/orders/{order['order_no']}/pay/qr")
    assert paying["state"] == "paying" and paying["code_url"].startswith("http://swiftpass.test/")
    assert paying["qr_image"].startswith("data:image/png;base64,")

    hub.swiftpass.pay_native(order["order_no"])
    await hub.run_jobs()

    done = await hub.order(order["order_no"])
    assert done["state"] == "fulfilled" and done["state_name"] == "缴费成功"
    assert [t["to_state"] for t in done["history"]] == ["paying", "paid", "fulfilling", "fulfilled"]
    posting = hub.tcis.postings[f"{order['order_no']}P"]
    assert posting.body.amount == arrears["total_due"]
    assert (await hub.call("GET", "/api/v1/arrears", params={"fee_type": "gas", "account_no": "10010001"}))["total_due"] == 0
    assert await hub.balances() == {
        "channel:swiftpass:clearing": arrears["total_due"], "orders:unposted": 0, "biller:tcis:payable": arrears["total_due"],
    }


async def test_water_paid_by_payment_code(hub: Harness) -> None:
    order = await hub.place(fee_type="water", account_no="20010001")
    paid = await hub.call("POST", f"/api/v1/orders/{order['order_no']}/pay/code", {"auth_code": WECHAT})
    assert paid["state"] == "paid" and paid["wallet"] == "wechat"
    await hub.run_jobs()
    assert (await hub.order(order["order_no"]))["state"] == "fulfilled"


async def test_user_paying_then_paid_is_found_by_polling(hub: Harness) -> None:
    order = await hub.place(fee_type="water", account_no="20010001")
    paying = await hub.call("POST", f"/api/v1/orders/{order['order_no']}/pay/code", {"auth_code": code_for(95)})
    assert paying["state"] == "paying"
    await hub.settle(seconds=20, steps=4)
    done = await hub.order(order["order_no"])
    assert done["state"] == "fulfilled"
    assert hub.swiftpass.trades[order["order_no"]].state == "SUCCESS"


async def test_user_paying_until_the_cap_is_reversed(hub: Harness) -> None:
    order = await hub.place(fee_type="water", account_no="20010001")
    await hub.call("POST", f"/api/v1/orders/{order['order_no']}/pay/code", {"auth_code": code_for(96)})
    await hub.settle(seconds=40, steps=8)
    assert (await hub.order(order["order_no"]))["state"] == "paying"
    await hub.settle(seconds=10, steps=2)
    done = await hub.order(order["order_no"])
    assert done["state"] == "closed"
    assert [t["to_state"] for t in done["history"]][-2:] == ["reversing", "closed"]
    assert hub.swiftpass.trades[order["order_no"]].state == "REVERSE"
    assert await hub.balances() == {}


async def test_declined_payment_code_fails_with_the_reason(hub: Harness) -> None:
    order = await hub.place(fee_type="water", account_no="20010001")
    failed = await hub.call("POST", f"/api/v1/orders/{order['order_no']}/pay/code", {"auth_code": code_for(91)})
    assert failed["state"] == "pay_failed" and failed["final"] and failed["failure_message"]


async def test_refused_posting_is_refunded_automatically(hub: Harness) -> None:
    order = await hub.place(account_no="10010091")
    await hub.call("POST", f"/api/v1/orders/{order['order_no']}/pay/code", {"auth_code": WECHAT})
    await hub.run_jobs()
    assert (await hub.order(order["order_no"]))["state"] == "refunding"
    await hub.settle(seconds=10, steps=2)
    done = await hub.order(order["order_no"])
    assert done["state"] == "refunded"
    assert [t["to_state"] for t in done["history"] if t["key"] == order["order_no"]] == [
        "paying", "paid", "fulfilling", "fulfil_failed", "refunding", "refunded"]
    assert [r["state"] for r in done["refunds"]] == ["refunded"] and done["refunds"][0]["automatic"]
    trade = hub.swiftpass.trades[order["order_no"]]
    assert trade.refunded_fee() == order["amount"]
    assert await hub.balances() == {"channel:swiftpass:clearing": 0, "orders:unposted": 0}


async def test_refund_that_the_channel_refuses_waits_for_manual_handling(hub: Harness) -> None:
    order = await hub.place(account_no="10010091", amount=8097)
    await hub.call("POST", f"/api/v1/orders/{order['order_no']}/pay/code", {"auth_code": WECHAT})
    await hub.run_jobs()
    done = await hub.order(order["order_no"])
    assert done["state"] == "manual" and done["refunds"][0]["state"] == "manual"
    assert await hub.balances() == {"channel:swiftpass:clearing": 8097, "orders:unposted": 8097}


async def test_refund_processing_then_success(hub: Harness) -> None:
    order = await hub.place(account_no="10010091", amount=8098)
    await hub.call("POST", f"/api/v1/orders/{order['order_no']}/pay/code", {"auth_code": WECHAT})
    await hub.run_jobs()
    assert (await hub.order(order["order_no"]))["state"] == "refunding"
    await hub.settle(seconds=60, steps=6)
    assert (await hub.order(order["order_no"]))["state"] == "refunded"


async def test_duplicate_and_out_of_order_notifies_are_harmless(hub: Harness) -> None:
    order = await hub.place(account_no="10010004", amount=10099)
    await hub.call("POST", f"/api/v1/orders/{order['order_no']}/pay/qr")
    hub.swiftpass.pay_native(order["order_no"])
    await hub.settle(seconds=30, steps=3)
    done = await hub.order(order["order_no"])
    assert done["state"] == "fulfilled"
    assert hub.swiftpass.trades[order["order_no"]].notifies_sent >= 3
    assert [t["to_state"] for t in done["history"]].count("paid") == 1
    assert await hub.balances() == {"channel:swiftpass:clearing": 10099, "orders:unposted": 0, "biller:tcis:payable": 10099}


async def test_unpaid_qr_is_closed_at_the_channel_when_it_expires(hub: Harness) -> None:
    order = await hub.place(fee_type="other", account_no="10010001", amount=5000)
    await hub.call("POST", f"/api/v1/orders/{order['order_no']}/pay/qr")
    await hub.settle(seconds=6 * 60, steps=12)
    done = await hub.order(order["order_no"])
    assert done["state"] == "closed"
    assert hub.swiftpass.trades[order["order_no"]].state == "CLOSED"


async def test_other_fee_prepayment_is_posted(hub: Harness) -> None:
    order = await hub.place(fee_type="other", account_no="10010004", amount=20000)
    assert order["prepaid_amount"] == 0 and order["arrears_amount"] == 20000
    await hub.call("POST", f"/api/v1/orders/{order['order_no']}/pay/code", {"auth_code": WECHAT})
    await hub.run_jobs()
    assert (await hub.order(order["order_no"]))["state"] == "fulfilled"


async def test_gas_prepayment_beyond_the_arrears(hub: Harness) -> None:
    arrears = await hub.call("GET", "/api/v1/arrears", params={"fee_type": "gas", "account_no": "10010002"})
    order = await hub.place(account_no="10010002", amount=arrears["total_due"] + 10000)
    assert order["prepaid_amount"] == 10000
    await hub.call("POST", f"/api/v1/orders/{order['order_no']}/pay/code", {"auth_code": WECHAT})
    await hub.run_jobs()
    assert (await hub.order(order["order_no"]))["state"] == "fulfilled"
    assert hub.tcis.customers["10010002"].prepaid_balance == 10000


async def test_cancelling_an_order_before_paying_closes_it(hub: Harness) -> None:
    order = await hub.place()
    closed = await hub.call("POST", f"/api/v1/orders/{order['order_no']}/close")
    assert closed["state"] == "closed"
    refused = await hub.call("POST", f"/api/v1/orders/{order['order_no']}/pay/qr", status=409)
    assert refused["error"]["code"] == "ORDER_NOT_PAYABLE"
