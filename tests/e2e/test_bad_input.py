"""Bad input gets a clear error with a stable code and a readable message; nothing is written."""
from __future__ import annotations

import sqlalchemy as sa

from payhub.adapters.db.tables import bill_orders
from tests.support.harness import Harness


async def _order_count(hub: Harness) -> int:
    async with hub.container.database.read.connect() as conn:
        return (await conn.execute(sa.select(sa.func.count()).select_from(bill_orders))).scalar_one()


def _order(**changes: object) -> dict:
    return {"out_trade_no": "t-1", "fee_type": "gas", "account_no": "10010001", "amount": 100, **changes}


async def test_each_bad_order_is_refused_with_its_code(hub: Harness) -> None:
    cases = [
        (_order(amount=0), 400, "BAD_AMOUNT"),
        (_order(amount=-5), 400, "BAD_AMOUNT"),
        (_order(amount=10**12), 400, "BAD_AMOUNT"),
        (_order(amount="12.5"), 422, "VALIDATION"),
        (_order(fee_type="electricity"), 422, "VALIDATION"),
        (_order(account_no="99999999"), 404, "UNKNOWN_ACCOUNT"),
        (_order(amount=123, bill_ids=["10010001-202603"]), 400, "AMOUNT_MISMATCH"),
        (_order(bill_ids=["nope"]), 400, "UNKNOWN_BILL"),
        (_order(account_no="10010005", amount=100), 400, "AMOUNT_BELOW_DUE"),
        (_order(out_trade_no="空格 not allowed"), 422, "VALIDATION"),
        (_order(extra="field"), 422, "VALIDATION"),
    ]
    for body, status, code in cases:
        error = (await hub.call("POST", "/api/v1/orders", body, status=status))["error"]
        assert error["code"] == code, (body, error)
        assert error["message"] and "Traceback" not in error["message"]
    assert await _order_count(hub) == 0


async def test_malformed_json_and_unknown_routes(hub: Harness) -> None:
    response = await hub.terminal.request("POST", "/api/v1/orders", headers={"Content-Type": "application/json"})
    assert response.status_code == 422 and response.json()["error"]["code"] == "VALIDATION"
    missing = await hub.call("GET", "/api/v1/orders/PH000", status=404)
    assert missing["error"]["code"] == "ORDER_NOT_FOUND" and "PH000" in missing["error"]["message"]
    assert (await hub.http.get("/no/such/page")).json()["error"]["code"] == "NOT_FOUND"


async def test_arrears_queries_refuse_other_fees_and_unknown_accounts(hub: Harness) -> None:
    other = await hub.call("GET", "/api/v1/arrears", params={"fee_type": "other", "account_no": "10010001"}, status=400)
    assert other["error"]["code"] == "NO_ARREARS_QUERY"
    unknown = await hub.call("GET", "/api/v1/arrears", params={"fee_type": "gas", "account_no": "123"}, status=404)
    assert unknown["error"]["code"] == "UNKNOWN_ACCOUNT"


async def test_bad_payment_code_changes_nothing(hub: Harness) -> None:
    order = await hub.place()
    error = await hub.call("POST", f"/api/v1/orders/{order['order_no']}/pay/code", {"auth_code": "9999999999999999"}, status=400)
    assert error["error"]["code"] == "BAD_PAYMENT_CODE"
    assert (await hub.order(order["order_no"]))["state"] == "created"


async def test_retry_returns_the_first_order_and_changed_retry_is_refused(hub: Harness) -> None:
    first = await hub.place(out_trade_no="same-1", account_no="10010001")
    again = await hub.place(out_trade_no="same-1", account_no="10010001", amount=first["amount"])
    assert again["order_no"] == first["order_no"]
    changed = await hub.call("POST", "/api/v1/orders", _order(out_trade_no="same-1", amount=first["amount"] + 1), status=409)
    assert changed["error"]["code"] == "IDEMPOTENCY_CONFLICT"
    assert await _order_count(hub) == 1


async def test_another_merchants_order_is_invisible(hub: Harness) -> None:
    from payhub.services import admin

    await admin.create_merchant(hub=hub.hub, code="M2", name="另一家")
    await admin.create_terminal(hub=hub.hub, merchant_code="M2", code="T2", name="x", key="k2")
    await admin.create_operator(hub=hub.hub, merchant_code="M2", username="op2", display_name="x", role="operator",
                                password="op2-pass")
    order = await hub.place()
    from payhub.entrypoints.terminal_client import TerminalClient

    other = TerminalClient(http=hub.http, terminal="T2", key="k2", clock=hub.clock)
    await other.login("op2", "op2-pass")
    response = await other.request("GET", f"/api/v1/orders/{order['order_no']}")
    assert response.status_code == 404 and response.json()["error"]["code"] == "ORDER_NOT_FOUND"
