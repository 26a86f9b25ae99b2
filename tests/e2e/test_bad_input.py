"""Bad input gets a clear error with a stable code and a readable message; nothing is written."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from payhub.kernel.adapters.db.tables import orders
from tests.support.harness import Harness


async def _order_count(hub: Harness) -> int:
    async with hub.container.database.read.connect() as conn:
        return (await conn.execute(sa.select(sa.func.count()).select_from(orders))).scalar_one()


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
    from payhub.kernel.services import admin

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


async def test_unknown_ledger_account_is_a_404(hub: Harness) -> None:
    await hub.terminal.login("sup1", "sup1-pass")
    error = (await hub.call("GET", "/api/v1/ledger/accounts/nope", status=404))["error"]
    assert error["code"] == "UNKNOWN_LEDGER_ACCOUNT" and "nope" in error["message"]


async def test_a_nul_character_anywhere_is_refused(hub: Harness) -> None:
    cases = [
        ("POST", "/api/v1/orders", _order(fee_type="other", account_no="x\x00y"), None),
        ("POST", "/api/v1/session", {"username": "op1\x00", "password": "op1-pass"}, None),
        ("GET", "/api/v1/orders", None, {"account_no": "a\x00b"}),
        ("GET", "/api/v1/arrears", None, {"fee_type": "gas", "account_no": "1001\x000001"}),
        ("GET", "/api/v1/orders/PH%00", None, None),
    ]
    for method, path, body, params in cases:
        error = (await hub.call(method, path, body, params=params, status=400))["error"]
        assert error["code"] == "NUL_CHARACTER", (path, error)
    assert await _order_count(hub) == 0


async def test_numbers_beyond_what_the_database_holds_are_refused(hub: Harness) -> None:
    for params in ({"offset": str(10**20)}, {"operator_id": str(10**20)}, {"date_to": "9999-12-31"},
                   {"date_from": "0001-01-01"}):
        error = (await hub.call("GET", "/api/v1/orders", params=params, status=422))["error"]
        assert error["code"] == "VALIDATION", (params, error)
        assert next(iter(params)) in error["message"]


async def test_times_the_database_cannot_hold_are_refused(hub: Harness) -> None:
    await _log_in_as_admin(hub)
    for path, params in (("/api/v1/cards/transactions", {"since": "0001-01-01T00:00:00+01:00"}),
                         ("/api/v1/cards/recharge-total", {"until": "9999-12-31T23:59:59-01:00"})):
        error = (await hub.call("GET", path, params=params, status=400))["error"]
        assert error["code"] == "VALUE_OUT_OF_RANGE", (params, error)


async def _log_in_as_admin(hub: Harness) -> None:
    from payhub.kernel.services import admin

    await admin.create_operator(hub=hub.hub, merchant_code="M1", username="adm1", display_name="管理员",
                                role="admin", password="adm1-pass")
    await hub.terminal.login("adm1", "adm1-pass")


async def test_card_limits_beyond_what_the_database_holds_are_refused(hub: Harness) -> None:
    await _log_in_as_admin(hub)
    body = {"subject": "card:*", "per_txn": 10**30}
    error = (await hub.call("PUT", "/api/v1/cards/limits", body, status=422))["error"]
    assert error["code"] == "VALIDATION" and "per_txn" in error["message"]


async def test_amounts_are_strict_integers(hub: Harness) -> None:
    for amount in ("100", True, 100.0):
        error = (await hub.call("POST", "/api/v1/orders", _order(amount=amount), status=422))["error"]
        assert error["code"] == "VALIDATION" and "amount" in error["message"], (amount, error)
    assert await _order_count(hub) == 0


async def test_validation_details_are_in_the_callers_language(hub: Harness) -> None:
    body = {"fee_type": "gas", "account_no": "10010001", "amount": "100", "extra": 1}
    zh = (await hub.call("POST", "/api/v1/orders", body, status=422))["error"]["message"]
    assert zh.startswith("请求内容有误：")
    for phrase in ("out_trade_no：缺少必填项", "amount：须为整数", "extra：不允许的字段"):
        assert phrase in zh, zh
    assert "Input should" not in zh and "Field required" not in zh
    response = await hub.terminal.request("POST", "/api/v1/orders", body=body, headers={"Accept-Language": "en"})
    en = response.json()["error"]["message"]
    assert en.startswith("The request is not valid: ") and "out_trade_no: Field required" in en, en


async def test_malformed_account_numbers_never_reach_the_biller(hub: Harness) -> None:
    for account_no in ("../x", ".", "..", "10010001/../10010002", "a b"):
        params = {"fee_type": "gas", "account_no": account_no}
        error = (await hub.call("GET", "/api/v1/arrears", params=params, status=400))["error"]
        assert error["code"] == "BAD_ACCOUNT_NO", (account_no, error)


async def test_sms_codes_without_a_gateway_say_so(hub: Harness) -> None:
    from dataclasses import replace

    from payhub.kernel.domain.errors import Unavailable
    from payhub.cards.services import sms as card_sms

    merchant = await _merchant_id(hub)
    with pytest.raises(Unavailable) as error:
        await card_sms.send_code(hub=replace(hub.hub, sms=None), merchant_id=merchant, phone="13800000000",
                                 purpose="register")
    assert error.value.code == "SMS_UNAVAILABLE" and "短信" in str(error.value)


async def _merchant_id(hub: Harness) -> int:
    async with hub.hub.uow(read_only=True) as uow:
        return (await uow.tenancy.merchant(code="M1")).id


async def test_method_not_allowed_names_the_allowed_methods(hub: Harness) -> None:
    response = await hub.terminal.request("DELETE", "/api/v1/orders")
    assert response.status_code == 405 and response.json()["error"]["code"] == "METHOD_NOT_ALLOWED"
    assert set(response.headers["allow"].replace(" ", "").split(",")) >= {"GET", "POST"}
