"""Receipt facts that need the whole hub (issue 10): the merchant's service phone, the terminal that took an order
when another one prints, and a refund's effect at TCIS before it is asked for and while it is being reversed."""
from __future__ import annotations

from payhub.kernel.services import admin
from payhub.entrypoints.terminal_client import TerminalClient
from tests.support.harness import WECHAT, Harness

APPROVAL = {"supervisor_username": "sup1", "supervisor_password": "sup1-pass"}


async def _paid(hub: Harness, account_no: str) -> dict:
    order = await hub.place(account_no=account_no)
    await hub.call("POST", f"/api/v1/orders/{order['order_no']}/pay/code", {"auth_code": WECHAT})
    await hub.settle(seconds=10, steps=2)
    return await hub.order(order["order_no"])


def _rows(receipt: dict) -> dict[str, str]:
    return {line["label"]: line["value"] for line in receipt["lines"]}


async def test_a_receipt_printed_elsewhere_names_both_terminals_and_the_service_phone(hub: Harness) -> None:
    order = await _paid(hub, "10010001")
    await admin.set_service_phone(hub=hub.hub, merchant_code="M1", phone="0371-6666 8888")
    await admin.create_terminal(hub=hub.hub, merchant_code="M1", code="T2", name="2号柜台", key="k2")
    second = TerminalClient(http=hub.http, terminal="T2", key="k2", clock=hub.clock)
    await second.login("op1", "op1-pass")

    here = await hub.call("GET", f"/api/v1/receipts/orders/{order['order_no']}")
    assert "下单终端" not in _rows(here) and here["service_phone"] == "0371-6666 8888"
    response = await second.request("GET", f"/api/v1/receipts/orders/{order['order_no']}", params={"copy": "true"})
    elsewhere = response.json()
    assert elsewhere["terminal"] == "2号柜台 T2" and _rows(elsewhere)["下单终端"] == "1号柜台 T1"
    assert _rows(elsewhere)["缴费账期"] == "2026-03、2026-04、2026-05、2026-06"
    html = (await second.request("GET", f"/api/v1/receipts/orders/{order['order_no']}",
                                 params={"copy": "true", "format": "html"})).text
    assert "客服电话 0371-6666 8888" in html


async def test_the_refund_preview_and_a_slip_printed_while_reversing(hub: Harness) -> None:
    order = await _paid(hub, "10010002")
    preview = await hub.call("GET", f"/api/v1/orders/{order['order_no']}/refunds/preview", params={"amount": 5000})
    assert preview["known"] and [(line["label"], line["fen"]) for line in preview["lines"]] == [
        ("重新欠费 2026-06", 6650), ("转为预存", 1650)]
    too_much = await hub.call("GET", f"/api/v1/orders/{order['order_no']}/refunds/preview",
                              params={"amount": order["amount"] + 1}, status=409)
    assert too_much["error"]["code"] == "REFUND_EXCEEDS"

    refund = await hub.call("POST", f"/api/v1/orders/{order['order_no']}/refunds",
                            {"request_no": "r1", "amount": 5000, "reason": "多缴", **APPROVAL}, status=201)
    pending = await hub.call("GET", f"/api/v1/receipts/refunds/{refund['refund_no']}")
    assert pending["title"] == "退款凭条（处理中）" and "冲正处理中，以最终结果为准" in _rows(pending)
    await hub.settle(seconds=10, steps=2)
    done = await hub.call("GET", f"/api/v1/receipts/refunds/{refund['refund_no']}")
    assert done["title"] == "退款凭条" and _rows(done)["重新欠费 2026-06"] == "66.50元"
    assert _rows(done)["转为预存"] == "16.50元" and _rows(done)["大写"] == "伍拾元整"
    then = await hub.call("GET", f"/api/v1/orders/{order['order_no']}/refunds/preview", params={"amount": 1000})
    assert [(line["label"], line["fen"]) for line in then["lines"]] == [("扣回预存", 1000)]
    tcis = hub.tcis.customers["10010002"]
    assert [b.period for b in tcis.open_bills] == ["2026-06"] and tcis.prepaid_balance == 1650
