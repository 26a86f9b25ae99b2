"""The terminal sees changes at once (long-poll, server-sent events); operations get health, metrics and clean logs."""
from __future__ import annotations

import asyncio
import json
import logging

from tests.support.harness import WECHAT, Harness


async def test_long_poll_answers_when_the_order_changes(hub: Harness) -> None:
    order = await hub.place(fee_type="other", account_no="10010001", amount=2500)
    paying = await hub.call("POST", f"/api/v1/orders/{order['order_no']}/pay/qr")
    waiter = asyncio.create_task(hub.call("GET", f"/api/v1/orders/{order['order_no']}",
                                          params={"wait_version": paying["version"], "timeout": 10}))
    await asyncio.sleep(0.2)
    assert not waiter.done()
    hub.swiftpass.pay_native(order["order_no"])
    await hub.run_jobs()
    changed = await asyncio.wait_for(waiter, timeout=5)
    assert changed["version"] > paying["version"] and changed["state"] in ("paid", "fulfilling", "fulfilled")


async def test_long_poll_times_out_with_the_unchanged_order(hub: Harness) -> None:
    order = await hub.place()
    same = await hub.call("GET", f"/api/v1/orders/{order['order_no']}", params={"wait_version": order["version"], "timeout": 0.3})
    assert same["version"] == order["version"]


async def test_server_sent_events_stream_the_order_until_final(hub: Harness) -> None:
    order = await hub.place(fee_type="water", account_no="20010001")
    await hub.call("POST", f"/api/v1/orders/{order['order_no']}/pay/code", {"auth_code": WECHAT})
    await hub.run_jobs()
    response = await hub.terminal.request("GET", f"/api/v1/orders/{order['order_no']}/events")
    assert response.headers["content-type"].startswith("text/event-stream")
    events = [json.loads(line[6:]) for line in response.text.splitlines() if line.startswith("data: ")]
    assert events[-1]["state"] == "fulfilled" and events[-1]["final"]


async def test_receipt_and_order_list(hub: Harness) -> None:
    order = await hub.place(fee_type="water", account_no="20010001")
    await hub.call("POST", f"/api/v1/orders/{order['order_no']}/pay/code", {"auth_code": WECHAT})
    await hub.run_jobs()
    receipt = await hub.call("GET", f"/api/v1/orders/{order['order_no']}/receipt")
    rows = {line["label"]: line for line in receipt["lines"]}
    assert rows["缴费类型"]["value"] == "水费" and receipt["operator"] == "柜员一"
    assert rows["缴费金额"]["value"] == f"{order['amount'] // 100}.{order['amount'] % 100:02d}元"
    assert rows["缴费金额"]["fen"] == order["amount"]
    assert rows["支付时间"]["value"].startswith("2026-11-02 10:")  # China time
    await hub.place(fee_type="other", account_no="10010001", amount=100)
    posted = await hub.call("GET", "/api/v1/orders", params={"state": "fulfilled"})
    assert [o["order_no"] for o in posted["orders"]] == [order["order_no"]]
    today = await hub.call("GET", "/api/v1/orders", params={"date_from": "2026-11-02", "date_to": "2026-11-02"})
    assert len(today["orders"]) == 2
    assert (await hub.call("GET", "/api/v1/orders", params={"date_from": "2026-11-03"}))["orders"] == []
    water = await hub.call("GET", "/api/v1/orders", params={"fee_type": "water"})
    assert [o["fee_type"] for o in water["orders"]] == ["water"]


async def test_health_readiness_and_metrics(hub: Harness) -> None:
    assert (await hub.http.get("/healthz")).json() == {"status": "ok"}
    assert (await hub.http.get("/readyz")).json() == {"status": "ready"}
    order = await hub.place(fee_type="water", account_no="20010001")
    await hub.call("POST", f"/api/v1/orders/{order['order_no']}/pay/code", {"auth_code": WECHAT})
    await hub.run_jobs()
    text = (await hub.http.get("/metrics")).text
    assert 'payhub_orders{state="fulfilled"} 1.0' in text
    assert 'payhub_external_calls_total{operation="micropay",outcome="paid",system="swiftpass"} 1.0' in text
    assert 'payhub_external_calls_total{operation="post_payment",outcome="posted",system="tcis"} 1.0' in text
    assert "payhub_jobs_open" in text and "payhub_api_request_seconds_bucket" in text


async def test_logs_never_carry_the_full_payment_code(hub: Harness, caplog) -> None:  # noqa: ANN001
    caplog.set_level(logging.DEBUG)
    order = await hub.place(fee_type="water", account_no="20010001")
    await hub.call("POST", f"/api/v1/orders/{order['order_no']}/pay/code", {"auth_code": WECHAT})
    await hub.run_jobs()
    assert caplog.records
    assert all(WECHAT not in record.getMessage() and WECHAT not in str(record.__dict__) for record in caplog.records)
