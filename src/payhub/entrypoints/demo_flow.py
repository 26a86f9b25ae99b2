"""`payhub try`: three counter flows through the API of a running demo, as a terminal would drive them.

It pays accounts of its own (gas 10010002, water 20010001, and 10010091 whose posting TCIS refuses), so that the
accounts the README walks through at the counter (gas 10010001, business 30010001) still owe."""
from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import httpx

from payhub.kernel.domain.money import yuan
from payhub.entrypoints.demo import OPERATORS, TERMINAL, TERMINAL_KEY
from payhub.entrypoints.terminal_client import TerminalClient

PREPAYMENT = 10000
WECHAT_CODE = "134567890123456700"  # a WeChat payment code whose last digits select no sandbox scenario
QR_ACCOUNT = "10010002"


class FlowError(Exception):
    """The demo answered a step of a flow with an error."""


async def _ok(response: httpx.Response) -> dict[str, Any]:
    if response.status_code >= 400:
        raise FlowError(f"{response.request.method} {response.request.url.path}: {response.status_code} {response.text}")
    answer: dict[str, Any] = response.json()
    return answer


async def _until_final(client: TerminalClient, order: dict[str, Any]) -> dict[str, Any]:
    while not order["final"]:
        order = await _ok(await client.request(
            "GET", f"/api/v1/orders/{order['order_no']}", params={"wait_version": order["version"], "timeout": 20}
        ))
    return order


async def _place(client: TerminalClient, *, fee_type: str, account_no: str,
                 amount: int | None = None) -> dict[str, Any]:
    if amount is None:
        arrears = await _ok(await client.request(
            "GET", "/api/v1/arrears", params={"fee_type": fee_type, "account_no": account_no}
        ))
        amount = arrears["total_due"] or PREPAYMENT  # paid up by an earlier run: prepay instead
    return await _ok(await client.request("POST", "/api/v1/orders", body={
        "out_trade_no": uuid.uuid4().hex[:20], "fee_type": fee_type, "account_no": account_no, "amount": amount,
    }))


async def run_demo_flows(*, base_url: str, echo: Callable[[str], None]) -> int:
    """Run the flows; returns 0 when each ends as expected."""
    username, _, _, password = OPERATORS[0]
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as http:
        client = TerminalClient(http=http, terminal=TERMINAL, key=TERMINAL_KEY)
        await client.login(username, password)
        results = []

        order = await _place(client, fee_type="gas", account_no=QR_ACCOUNT)
        order = await _ok(await client.request("POST", f"/api/v1/orders/{order['order_no']}/pay/qr"))
        echo(f"1. 燃气费（户号 {QR_ACCOUNT}）{yuan(order['amount'])} 元，收款二维码：{order['code_url']}")
        await _ok(await http.post(f"/sandbox/swiftpass/_sandbox/trades/{order['order_no']}/pay"))
        order = await _until_final(client, order)
        echo(f"   顾客扫码支付后：{order['state_name']}（{order['state']}）")
        results.append(order["state"] == "fulfilled")

        for number, (label, account_no, expected) in enumerate(
            (("水费（户号 20010001），扫付款码", "20010001", "fulfilled"),
             ("燃气费（户号 10010091，TCIS 拒绝入账），扫付款码", "10010091", "refunded")), start=2
        ):
            fee_type = "water" if account_no.startswith("2") else "gas"
            order = await _place(client, fee_type=fee_type, account_no=account_no)
            order = await _ok(await client.request(
                "POST", f"/api/v1/orders/{order['order_no']}/pay/code", body={"auth_code": WECHAT_CODE}
            ))
            order = await _until_final(client, order)
            echo(f"{number}. {label} {yuan(order['amount'])} 元：{order['state_name']}（{order['state']}）")
            results.append(order["state"] == expected)

        receipt = await _ok(await client.request("GET", f"/api/v1/receipts/orders/{order['order_no']}"))
        echo(f"   凭条：{receipt['title']}（{receipt['merchant']}）")
        for line in receipt["lines"]:
            echo(f"     {line['label']}：{line['value']}")
    echo("全部流程符合预期" if all(results) else "有流程不符合预期")
    return 0 if all(results) else 1
