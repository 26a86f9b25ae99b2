"""Receipts from real counter flows (payment, refund, end of shift), printed through the terminal agent."""
from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from payhub.integrations.printing.client import EscposPrinter
from payhub.integrations.printing.sandbox import PrinterSandbox
from payhub.integrations.printing.wire import read_back
from payhub.kernel.domain.money import yuan
from payhub.agent.app import AgentSettings, create_agent_app
from tests.support.harness import WECHAT, Harness

HUB_PAGE = "http://127.0.0.1:8000"
ALIPAY = "281234567890123456"
APPROVAL = {"supervisor_username": "sup1", "supervisor_password": "sup1-pass"}


def _rows(receipt: dict) -> dict[str, dict]:
    return {line["label"]: line for line in receipt["lines"]}


async def _paid(hub: Harness, *, fee_type: str, account_no: str, amount: int | None = None,
                code: str | None = None) -> dict:
    order = await hub.place(fee_type=fee_type, account_no=account_no, amount=amount)
    if code:
        await hub.call("POST", f"/api/v1/orders/{order['order_no']}/pay/code", {"auth_code": code})
    else:
        await hub.call("POST", f"/api/v1/orders/{order['order_no']}/pay/qr")
        hub.swiftpass.pay_native(order["order_no"])
    await hub.settle(seconds=10, steps=2)
    return await hub.order(order["order_no"])


async def test_payment_receipt_as_json_html_copy_and_english(hub: Harness) -> None:
    order = await _paid(hub, fee_type="gas", account_no="10010001")
    path = f"/api/v1/receipts/orders/{order['order_no']}"
    receipt = await hub.call("GET", path)
    rows = _rows(receipt)
    assert receipt["kind"] == "payment" and receipt["title"] == "缴费凭条" and receipt["merchant"] == "测试燃气公司"
    assert receipt["qr"] == order["order_no"] and receipt["copy"] is False and receipt["operator"] == "柜员一"
    assert rows["缴费金额"]["fen"] == order["amount"] and rows["缴费金额"]["value"] == f"{yuan(order['amount'])}元"
    assert rows["大写"]["value"].endswith(("整", "分", "角"))
    assert rows["支付方式"]["value"] == "微信支付 · 收款二维码" and rows["状态"]["value"] == "缴费成功"
    assert receipt["printed_at"].startswith("2026-11-02T10:") and receipt["printed_at"].endswith("+08:00")
    assert (await hub.call("GET", f"/api/v1/orders/{order['order_no']}/receipt"))["lines"] == receipt["lines"]

    copy = await hub.call("GET", path, params={"copy": "true"})
    assert copy["copy"] is True
    page = await hub.terminal.request("GET", path, params={"copy": "true", "format": "html", "paper_mm": "58"})
    assert page.headers["content-type"].startswith("text/html")
    assert order["order_no"] in page.text and "重打印 / 副本" in page.text and "size: 58mm" in page.text
    english = await hub.terminal.request("GET", path, headers={"Accept-Language": "en"})
    assert english.json()["title"] == "Payment receipt" and "Amount paid" in _rows(english.json())


async def test_only_the_first_print_of_a_payment_receipt_is_the_original(hub: Harness) -> None:
    order = await _paid(hub, fee_type="gas", account_no="10010001")
    path = f"/api/v1/receipts/orders/{order['order_no']}"

    racing = await asyncio.gather(hub.call("GET", path), hub.call("GET", path))

    assert sorted(receipt["copy"] for receipt in racing) == [False, True]
    assert (await hub.call("GET", path))["copy"] is True
    assert (await hub.call("GET", f"/api/v1/orders/{order['order_no']}/receipt"))["copy"] is True
    page = await hub.terminal.request("GET", path, params={"format": "html"})
    assert "重打印 / 副本" in page.text


async def test_receipt_errors_are_json_with_a_stable_code(hub: Harness) -> None:
    missing = await hub.call("GET", "/api/v1/receipts/orders/PH404", status=404)
    assert missing["error"]["code"] == "ORDER_NOT_FOUND" and "订单不存在" in missing["error"]["message"]
    assert (await hub.call("GET", "/api/v1/receipts/refunds/PH404R1", status=404))["error"]["code"] == "REFUND_NOT_FOUND"
    bad = await hub.call("GET", "/api/v1/receipts/orders/PH404", params={"format": "pdf"}, status=422)
    assert bad["error"]["code"] == "VALIDATION"
    assert (await hub.call("GET", "/api/v1/receipts/shift", params={"date": "2026-13-01"}, status=422))["error"]["code"] == "VALIDATION"
    assert (await hub.call("GET", "/api/v1/receipts/shift", status=422))["error"]["code"] == "VALIDATION"


async def test_refund_receipt_names_the_order_the_amount_and_the_supervisor(hub: Harness) -> None:
    order = await _paid(hub, fee_type="other", account_no="10010001", amount=5000, code=ALIPAY)
    refund = await hub.call("POST", f"/api/v1/orders/{order['order_no']}/refunds",
                            {"request_no": "r1", "amount": 1200, **APPROVAL}, status=201)
    await hub.settle(seconds=10, steps=2)
    receipt = await hub.call("GET", f"/api/v1/receipts/refunds/{refund['refund_no']}")
    rows = _rows(receipt)
    assert receipt["kind"] == "refund" and receipt["title"] == "退款凭条" and receipt["qr"] == order["order_no"]
    assert rows["退款单号"]["value"] == refund["refund_no"] and rows["原订单号"]["value"] == order["order_no"]
    assert rows["退款金额"]["fen"] == 1200 and rows["原缴费金额"]["fen"] == 5000
    assert rows["授权主管"]["value"] == "主管一" and rows["状态"]["value"] == "已退款"
    assert rows["支付方式"]["value"] == "支付宝 · 扫付款码"


async def test_shift_summary_totals_the_days_flows(hub: Harness) -> None:
    gas = await _paid(hub, fee_type="gas", account_no="10010001")
    water = await _paid(hub, fee_type="water", account_no="20010001", code=WECHAT)
    other = await _paid(hub, fee_type="other", account_no="10010001", amount=5000, code=ALIPAY)
    refused = await _paid(hub, fee_type="gas", account_no="10010091", code=WECHAT)  # TCIS refuses: refunded by itself
    assert [o["state"] for o in (gas, water, other, refused)] == ["fulfilled", "fulfilled", "fulfilled", "refunded"]
    await hub.call("POST", f"/api/v1/orders/{other['order_no']}/refunds", {"request_no": "r1", "amount": 1000, **APPROVAL},
                   status=201)
    await hub.settle(seconds=10, steps=2)
    await _paid(hub, fee_type="other", account_no="10010001", amount=9991, code="134567890123456791")  # declined

    summary = await hub.call("GET", "/api/v1/receipts/shift", params={"date": "2026-11-02"})
    assert all(line["value"].endswith("元") for line in summary["lines"] if line["fen"] is not None)
    rows = {line["label"]: line["value"].removesuffix("元") for line in summary["lines"]}
    total = gas["amount"] + water["amount"] + 5000 + refused["amount"]
    assert summary["kind"] == "shift" and summary["title"] == "交班汇总" and summary["operator"] == "柜员一"
    assert rows["营业日期"] == "2026-11-02"
    assert rows["燃气费 2笔"] == yuan(gas["amount"] + refused["amount"]) and rows["水费 1笔"] == yuan(water["amount"])
    assert rows["其他费用 1笔"] == "50.00"
    assert rows["收款二维码 1笔"] == yuan(gas["amount"]) and rows["扫付款码 3笔"] == yuan(total - gas["amount"])
    assert rows["微信支付 3笔"] == yuan(total - 5000) and rows["支付宝 1笔"] == "50.00"
    assert rows["收款合计 4笔"] == yuan(total)
    assert rows["退款合计 2笔"] == yuan(-(1000 + refused["amount"]))
    assert rows["净收款"] == yuan(total - 1000 - refused["amount"])
    assert rows["主管授权退款 1笔"] == yuan(-1000) and rows["系统自动退款 1笔"] == yuan(-refused["amount"])
    assert rows["待人工处理 0笔"] == "0.00" and rows["班次开始"].startswith("2026-11-02 ")
    assert [rows[who] for who in ("交班人", "接班人", "主管")] == ["________________"] * 3
    empty = await hub.call("GET", "/api/v1/receipts/shift", params={"date": "2026-11-01"})
    assert {line["label"]: line["value"] for line in empty["lines"]}["净收款"] == "0.00元"


async def test_supervisors_may_see_another_operators_shift_operators_may_not(hub: Harness) -> None:
    op1 = (await hub.terminal.login("op1", "op1-pass"))["operator"]["id"]
    sup1 = (await hub.terminal.login("sup1", "sup1-pass"))["operator"]["id"]
    seen = await hub.call("GET", "/api/v1/receipts/shift", params={"date": "2026-11-02", "operator_id": op1})
    assert seen["operator"] == "柜员一"
    missing = await hub.call("GET", "/api/v1/receipts/shift", params={"date": "2026-11-02", "operator_id": 999}, status=404)
    assert missing["error"]["code"] == "OPERATOR_NOT_FOUND"
    await hub.terminal.login("op1", "op1-pass")
    refused = await hub.call("GET", "/api/v1/receipts/shift", params={"date": "2026-11-02", "operator_id": sup1}, status=403)
    assert refused["error"]["code"] == "ROLE_REQUIRED"


# --- the terminal agent ---------------------------------------------------------------------------


async def test_agent_prints_the_hubs_receipt_to_a_file_printer(hub: Harness, tmp_path: Path) -> None:
    order = await _paid(hub, fee_type="water", account_no="20010001", code=WECHAT)
    receipt = await hub.call("GET", f"/api/v1/receipts/orders/{order['order_no']}", params={"copy": "true"})
    target = tmp_path / "receipts.bin"
    app = create_agent_app(printer=EscposPrinter.from_spec(f"file:{target}"))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1:8765") as agent:
        status = (await agent.get("/api/status")).json()
        assert status == {"devices": [{"kind": "printer", "name": f"file {target}", "state": "ready", "detail": "就绪"}]}
        printed = await agent.post("/api/print", json={"receipt": receipt}, headers={"Origin": HUB_PAGE})
        assert printed.status_code == 200 and printed.json()["state"] == "printed"
        assert printed.headers["access-control-allow-origin"] == HUB_PAGE
        view = read_back(target.read_bytes())
        assert view.qr_codes == [order["order_no"]] and view.cuts == 1
        assert "重打印 / 副本" in view.text and "水费" in view.text and yuan(order["amount"]) in view.text

        bad = await agent.post("/api/print", json={"receipt": {**receipt, "locale": "fr"}})
        assert bad.status_code == 422 and bad.json()["error"]["code"] == "VALIDATION"
        assert (await agent.post("/api/print", content=b"{")).json()["error"]["code"] == "VALIDATION"
        unknown = await agent.post("/api/jobs/J404/retry")
        assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "PRINT_JOB_NOT_FOUND"
        again = await agent.post(f"/api/jobs/{printed.json()['job_id']}/retry")
        assert again.status_code == 409 and again.json()["error"]["code"] == "PRINT_JOB_PRINTED"

        evil = await agent.post("/api/print", json={"receipt": receipt}, headers={"Origin": "http://evil.test"})
        assert evil.status_code == 403 and evil.json()["error"]["code"] == "ORIGIN_NOT_ALLOWED"
        rebound = await agent.get("/api/status", headers={"Host": "evil.test:8765"})
        assert rebound.status_code == 403
        preflight = await agent.options("/api/print", headers={
            "Origin": HUB_PAGE, "Access-Control-Request-Method": "POST", "Access-Control-Request-Private-Network": "true"})
        assert preflight.headers["access-control-allow-origin"] == HUB_PAGE
        assert preflight.headers["access-control-allow-private-network"] == "true"
    assert read_back(target.read_bytes()).cuts == 1  # nothing else was printed


@contextlib.asynccontextmanager
async def _served(app) -> AsyncIterator[int]:  # type: ignore[no-untyped-def]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_config=None, lifespan="on"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    try:
        yield server.servers[0].sockets[0].getsockname()[1]
    finally:
        server.should_exit = True
        await task


async def _until(ws, state: str) -> dict:  # type: ignore[no-untyped-def]
    """The next status push whose printer is in this state."""
    async with asyncio.timeout(5):
        while True:
            message = json.loads(await ws.recv())
            if message["type"] == "status" and message["devices"][0]["state"] == state:
                return message


async def test_agent_reports_a_network_printer_out_of_paper_and_prints_the_kept_job_later(hub: Harness) -> None:
    order = await _paid(hub, fee_type="gas", account_no="10010001")
    receipt = await hub.call("GET", f"/api/v1/receipts/orders/{order['order_no']}")
    sandbox = PrinterSandbox()
    await sandbox.start(port=0)
    app = create_agent_app(printer=EscposPrinter.from_spec(f"tcp:127.0.0.1:{sandbox.port}"),
                           settings=AgentSettings(allowed_origins=(HUB_PAGE,), poll_seconds=0.05))
    try:
        async with _served(app) as port, httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as agent, \
                connect(f"ws://127.0.0.1:{port}/ws", origin=HUB_PAGE) as ws:
            await _until(ws, "ready")
            sandbox.set_condition(paper="out")
            pushed = await _until(ws, "paper_out")
            assert pushed["devices"][0]["detail"] == "缺纸"
            assert (await agent.get("/api/status")).json()["devices"][0]["state"] == "paper_out"

            failed = await agent.post("/api/print", json={"receipt": receipt})
            assert failed.status_code == 503
            error = failed.json()["error"]
            assert error["code"] == "PAPER_OUT" and "缺纸" in error["message"] and error["job_id"]
            jobs = (await agent.get("/api/jobs")).json()["jobs"]
            assert [(j["job_id"], j["state"], j["error"]["code"], j["order_no"]) for j in jobs] == [
                (error["job_id"], "failed", "PAPER_OUT", order["order_no"])]

            sandbox.set_condition(paper="ok", offline=True)
            await _until(ws, "offline")
            retried = await agent.post(f"/api/jobs/{error['job_id']}/retry")
            assert retried.status_code == 503 and retried.json()["error"]["code"] == "PRINTER_OFFLINE"

            sandbox.set_condition(offline=False)
            await _until(ws, "ready")
            printed = await agent.post(f"/api/jobs/{error['job_id']}/retry")
            assert printed.json() == {"job_id": error["job_id"], "state": "printed"}
            assert (await agent.get("/api/jobs")).json()["jobs"][0]["attempts"] == 3
            async with asyncio.timeout(5):
                while not sandbox.jobs:
                    await asyncio.sleep(0.02)
            assert sandbox.jobs[0].view.qr_codes == [order["order_no"]] and "缴费凭条" in sandbox.jobs[0].view.text

            with pytest.raises(InvalidStatus):
                async with connect(f"ws://127.0.0.1:{port}/ws", origin="http://evil.test"):
                    pass
    finally:
        await sandbox.stop()
