"""Recharge, consume, refund and transfer through the services on SQLite and PostgreSQL."""
from __future__ import annotations

from payhub.cards.domain.money import Funding, TxChannel
from payhub.cards.services import lifecycle as card_lifecycle
from payhub.cards.services import money as card_money
from tests.cards.conftest import PASSWORD, CardWorld, expect


async def _balance(world: CardWorld, card: str) -> int:
    info = await card_lifecycle.card_info(hub=world.hub, merchant_id=world.merchant_id, card_no=card)
    return info["balance"]


async def test_recharge_consume_refund_transfer(world: CardWorld) -> None:
    hub, m = world.hub, world.merchant_id
    a, b = await world.open_card(1), await world.open_card(2)
    r = await card_money.recharge(hub=hub, merchant_id=m, merchant_code="SHOP1", card_no=a, out_trade_no="R1",
                                  amount=10_000, funding=Funding.CASH, channel=TxChannel.OFFLINE)
    assert r.balance == 10_000
    c = await card_money.consume(hub=hub, merchant_id=m, merchant_code="SHOP1", card_no=a, out_trade_no="O1",
                                 amount=3_000, channel=TxChannel.ONLINE, pay_password=PASSWORD)
    assert c.balance == 7_000
    again = await card_money.consume(hub=hub, merchant_id=m, merchant_code="SHOP1", card_no=a, out_trade_no="O1",
                                     amount=3_000, channel=TxChannel.ONLINE, pay_password=PASSWORD)
    assert again.replayed and again.tx_no == c.tx_no and await _balance(world, a) == 7_000
    with expect("IDEMPOTENCY_CONFLICT"):
        await card_money.consume(hub=hub, merchant_id=m, merchant_code="SHOP1", card_no=a, out_trade_no="O1",
                                 amount=3_001, channel=TxChannel.OFFLINE, pay_password=None)
    for n, amount in enumerate((1_000, 2_000)):
        await card_money.refund(hub=hub, merchant_id=m, merchant_code="SHOP1", out_trade_no="O1",
                                out_refund_no=f"F{n}", amount=amount, channel=TxChannel.ONLINE)
    with expect("REFUND_EXCEEDS"):
        await card_money.refund(hub=hub, merchant_id=m, merchant_code="SHOP1", out_trade_no="O1",
                                out_refund_no="F9", amount=1, channel=TxChannel.ONLINE)
    assert await _balance(world, a) == 10_000
    t = await card_money.transfer(hub=hub, merchant_id=m, merchant_code="ONLINE", from_card=a, to_card=b,
                                  out_trade_no="T1", amount=2_500, pay_password=PASSWORD)
    assert t.balance == 7_500 and await _balance(world, b) == 2_500
    with expect("INSUFFICIENT_BALANCE"):
        await card_money.consume(hub=hub, merchant_id=m, merchant_code="SHOP2", card_no=b, out_trade_no="O2",
                                 amount=2_501, channel=TxChannel.OFFLINE, pay_password=None)


async def test_wrong_passwords_freeze_and_frozen_cards_cannot_transact(world: CardWorld) -> None:
    hub, m = world.hub, world.merchant_id
    a = await world.open_card(1)
    await card_money.recharge(hub=hub, merchant_id=m, merchant_code="SHOP1", card_no=a, out_trade_no="R1",
                              amount=500, funding=Funding.CASH, channel=TxChannel.OFFLINE)
    for left in (2, 1):
        with expect("PAY_PASSWORD_WRONG") as raised:
            await card_money.consume(hub=hub, merchant_id=m, merchant_code="SHOP1", card_no=a, out_trade_no="O",
                                     amount=1, channel=TxChannel.ONLINE, pay_password="000000")
        assert raised.error.params == {"left": left}
    with expect("PAY_PASSWORD_LOCKED"):
        await card_money.consume(hub=hub, merchant_id=m, merchant_code="SHOP1", card_no=a, out_trade_no="O",
                                 amount=1, channel=TxChannel.ONLINE, pay_password="000000")
    assert (await card_lifecycle.card_info(hub=hub, merchant_id=m, card_no=a))["state"] == "frozen"
    with expect("CARD_NOT_ACTIVE"):
        await card_money.consume(hub=hub, merchant_id=m, merchant_code="SHOP1", card_no=a, out_trade_no="O",
                                 amount=1, channel=TxChannel.ONLINE, pay_password=PASSWORD)
    with expect("PAY_PASSWORD_REQUIRED"):
        await card_money.consume(hub=hub, merchant_id=m, merchant_code="SHOP1", card_no=a, out_trade_no="O",
                                 amount=1, channel=TxChannel.ONLINE, pay_password=None)
    await card_lifecycle.unfreeze(hub=hub, merchant_id=m, card_no=a, actor="sup")
    await card_lifecycle.report_lost(hub=hub, merchant_id=m, card_no=a, actor="member")
    with expect("CARD_NOT_ACTIVE"):
        await card_money.recharge(hub=hub, merchant_id=m, merchant_code="SHOP1", card_no=a, out_trade_no="R2",
                                  amount=1, funding=Funding.CASH, channel=TxChannel.OFFLINE)
    await card_lifecycle.withdraw_lost(hub=hub, merchant_id=m, card_no=a, actor="member")
    with expect("CARD_HAS_BALANCE"):
        await card_lifecycle.cancel(hub=hub, merchant_id=m, card_no=a, reason="", actor="sup")
