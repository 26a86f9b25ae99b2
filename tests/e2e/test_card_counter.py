"""A merchant whose channel is the stored-value card takes counter payments by card and refunds them to the card."""
from __future__ import annotations

from payhub.cards.domain.money import Funding, TxChannel
from payhub.entrypoints.terminal_client import TerminalClient
from payhub.kernel.services import admin
from payhub.cards.services import lifecycle as card_lifecycle
from payhub.cards.services import money as card_money
from payhub.cards.services import queries as card_queries
from tests.cards.conftest import card_no
from tests.support.cards import open_active_card
from tests.support.harness import WECHAT, Harness

KEY = "card-terminal-key"


async def _card_counter(hub: Harness) -> tuple[int, str]:
    """Merchant CARDCO on channel "card" with terminal T9, and a member card holding 500 yuan."""
    merchant = await admin.create_merchant(hub=hub.hub, code="CARDCO", name="储值卡商户", channel="card")
    await admin.create_terminal(hub=hub.hub, merchant_code="CARDCO", code="T9", name="9号柜台", key=KEY)
    for username, role in (("op9", "operator"), ("sup9", "supervisor")):
        await admin.create_operator(hub=hub.hub, merchant_code="CARDCO", username=username, display_name=username,
                                    role=role, password=f"{username}-pass")
    await card_lifecycle.add_card_merchant(hub=hub.hub, merchant_id=merchant.id, code="CARDCO", name="营业厅")
    card = await open_active_card(hub=hub.hub, merchant_id=merchant.id, card_no=card_no(77), phone="13700000000",
                                  pay_password="246810")
    await card_money.recharge(hub=hub.hub, merchant_id=merchant.id, merchant_code="CARDCO", card_no=card,
                              out_trade_no="LOAD", amount=50_000, funding=Funding.CASH, channel=TxChannel.OFFLINE)
    hub.terminal = TerminalClient(http=hub.http, terminal="T9", key=KEY, clock=hub.clock)
    await hub.terminal.login("op9", "op9-pass")
    return merchant.id, card


async def _balance(hub: Harness, merchant_id: int, card: str) -> int:
    return (await card_lifecycle.card_info(hub=hub.hub, merchant_id=merchant_id, card_no=card))["balance"]


async def test_counter_order_paid_by_card_is_posted_and_refunded_to_the_card(hub: Harness) -> None:
    merchant_id, card = await _card_counter(hub)
    order = await hub.place(fee_type="other", account_no="10010001", amount=12_345)

    no_qr = await hub.call("POST", f"/api/v1/orders/{order['order_no']}/pay/qr", status=400)
    wallet = await hub.call("POST", f"/api/v1/orders/{order['order_no']}/pay/code", {"auth_code": WECHAT}, status=400)
    paid = await hub.call("POST", f"/api/v1/orders/{order['order_no']}/pay/code", {"auth_code": f"{card}=246810"})
    await hub.run_jobs()

    assert no_qr["error"]["code"] == "CARD_NO_QR" and "储值卡" in no_qr["error"]["message"]
    assert wallet["error"]["code"] == "BAD_PAYMENT_CODE"
    assert paid["state"] == "paid" and paid["wallet"] == "card"
    assert "246810" not in str(paid)
    assert (await hub.order(order["order_no"]))["state"] == "fulfilled"
    consume = await card_queries.detail(hub=hub.hub, merchant_id=merchant_id, merchant_code="CARDCO",
                                        out_trade_no=order["order_no"])
    assert (consume["amount"], consume["terminal_code"], consume["channel"]) == (12_345, "T9", "offline")
    assert await _balance(hub, merchant_id, card) == 50_000 - 12_345

    await hub.call("POST", f"/api/v1/orders/{order['order_no']}/refunds",
                   {"request_no": "r1", "amount": 2_345, "supervisor_username": "sup9",
                    "supervisor_password": "sup9-pass"}, status=201)
    await hub.settle(seconds=10, steps=2)

    done = await hub.order(order["order_no"])
    assert done["refunded_amount"] == 2_345 and done["refunds"][0]["state"] == "refunded"
    assert await _balance(hub, merchant_id, card) == 50_000 - 10_000


async def test_wrong_pay_password_fails_the_payment_and_nothing_moves(hub: Harness) -> None:
    merchant_id, card = await _card_counter(hub)
    order = await hub.place(fee_type="other", account_no="10010001", amount=1_000)

    failed = await hub.call("POST", f"/api/v1/orders/{order['order_no']}/pay/code", {"auth_code": f"{card}=111111"})

    assert failed["state"] == "pay_failed" and "支付密码错误" in str(failed)
    assert await _balance(hub, merchant_id, card) == 50_000
