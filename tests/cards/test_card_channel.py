"""The card as the hub's payment channel: answers the shared suite cannot ask (refusals, reversal, statement)."""
from __future__ import annotations

from datetime import date

import pytest

from payhub.cards.adapters.channel import CardChannel
from payhub.bootstrap import card_operations
from payhub.cards.domain.money import Funding, TxChannel
from payhub.kernel.domain.payments import CloseStatus, PayStatus, RefundStatus
from payhub.kernel.ports import ChannelRefused
from payhub.cards.services import lifecycle as card_lifecycle
from payhub.cards.services import money as card_money
from payhub.cards.services.channel import BILL_HEADER, reversal_no
from tests.cards.conftest import PASSWORD, CardWorld, expect

SHOP = "ISSUER"  # the hub merchant's code names its own card merchant


async def _loaded(world: CardWorld, amount: int = 10_000) -> tuple[CardChannel, str]:
    card = await world.open_card(1)
    await card_lifecycle.add_card_merchant(hub=world.hub, merchant_id=world.merchant_id, code=SHOP, name="柜台")
    await card_money.recharge(hub=world.hub, merchant_id=world.merchant_id, merchant_code="SHOP1", card_no=card,
                              out_trade_no="LOAD", amount=amount, funding=Funding.CASH, channel=TxChannel.OFFLINE)
    return CardChannel(operations=card_operations(world.hub)), card


async def _pay(channel: CardChannel, code: str, out_trade_no: str, fen: int):  # type: ignore[no-untyped-def]
    return await channel.micropay(merchant=SHOP, out_trade_no=out_trade_no, total_fee=fen, body="其他费用",
                                  auth_code=code, client_ip="10.0.0.8", device_info="POS9")


async def _balance(world: CardWorld, card: str) -> int:
    return (await card_lifecycle.card_info(hub=world.hub, merchant_id=world.merchant_id, card_no=card))["balance"]


async def test_refusals_are_failed_with_the_card_systems_reason_and_leave_no_trade(world: CardWorld) -> None:
    channel, card = await _loaded(world, 1_000)

    short = await _pay(channel, f"{card}={PASSWORD}", "O1", 5_000)
    wrong = await _pay(channel, f"{card}=000000", "O2", 100)
    bad = await _pay(channel, "134567890123456700", "O3", 100)

    assert [(r.status, r.err_code) for r in (short, wrong, bad)] == [
        (PayStatus.FAILED, "INSUFFICIENT_BALANCE"), (PayStatus.FAILED, "PAY_PASSWORD_WRONG"),
        (PayStatus.FAILED, "BAD_PAYMENT_CODE")]
    assert "余额不足" in (short.message or "")
    assert (await channel.query(merchant=SHOP, out_trade_no="O1")).status is PayStatus.NOT_FOUND
    assert await _balance(world, card) == 1_000


async def test_a_retried_payment_is_answered_from_the_first(world: CardWorld) -> None:
    channel, card = await _loaded(world)

    first = await _pay(channel, f"{card}={PASSWORD}", "O1", 700)
    again = await _pay(channel, f"{card}={PASSWORD}", "O1", 700)
    other = await _pay(channel, f"{card}={PASSWORD}", "O1", 800)

    assert first.status is again.status is other.status is PayStatus.PAID
    assert first.transaction_id == again.transaction_id == other.transaction_id and other.total_fee == 700
    assert await _balance(world, card) == 9_300


async def test_reverse_gives_back_what_is_left_once_and_an_unknown_trade_is_closed(world: CardWorld) -> None:
    channel, card = await _loaded(world)
    await _pay(channel, f"{card}={PASSWORD}", "O1", 3_000)
    await channel.refund(merchant=SHOP, out_trade_no="O1", out_refund_no="R1", total_fee=3_000, refund_fee=1_000,
                         op_user_id="sup")

    first = await channel.reverse(merchant=SHOP, out_trade_no="O1")
    again = await channel.close(merchant=SHOP, out_trade_no="O1")
    unknown = await channel.reverse(merchant=SHOP, out_trade_no="NEVER")

    assert (first.status, again.status) == (CloseStatus.CLOSED, CloseStatus.CLOSED)
    assert (unknown.status, unknown.err_code) == (CloseStatus.CLOSED, "TX_NOT_FOUND")
    reversal = await channel.refund_query(merchant=SHOP, out_refund_no=reversal_no("O1"))
    assert (reversal.status, reversal.refund_fee) == (RefundStatus.SUCCESS, 2_000)
    assert await _balance(world, card) == 10_000


async def test_reverse_that_cannot_refund_asks_to_retry(world: CardWorld) -> None:
    channel, card = await _loaded(world)
    await _pay(channel, f"{card}={PASSWORD}", "O1", 3_000)
    await card_lifecycle.freeze(hub=world.hub, merchant_id=world.merchant_id, card_no=card, reason="t", actor="t")

    refused = await channel.reverse(merchant=SHOP, out_trade_no="O1")

    assert (refused.status, refused.err_code) == (CloseStatus.RETRY, "CARD_NOT_ACTIVE")


async def test_statement_lists_the_days_payments_and_refunds_of_the_shop(world: CardWorld) -> None:
    channel, card = await _loaded(world)
    paid = await _pay(channel, f"{card}={PASSWORD}", "O1", 3_000)
    await channel.refund(merchant=SHOP, out_trade_no="O1", out_refund_no="R1", total_fee=3_000, refund_fee=500,
                         op_user_id="sup")
    day = date(2026, 11, 2)

    text = await channel.bill(merchant=SHOP, bill_date=day)
    refunds = await channel.bill(merchant=SHOP, bill_date=day, bill_type="REFUND")
    payments = await channel.bill(merchant=SHOP, bill_date=day, bill_type="SUCCESS")
    other_day = await channel.bill(merchant=SHOP, bill_date=date(2026, 11, 1))

    lines = [line.split(",") for line in text.splitlines()]
    assert lines[0] == BILL_HEADER.split(",")
    assert [(row[1], row[3], row[4], row[5]) for row in lines[1:]] == [
        ("PAY", "", "O1", "3000"), ("REFUND", paid.transaction_id, "R1", "500")]
    assert card not in text and f"{card[:4]}****{card[-4:]}" in text
    assert len(refunds.splitlines()) == len(payments.splitlines()) == 2
    assert other_day == BILL_HEADER + "\n"
    with expect("VALIDATION"):
        await channel.bill(merchant=SHOP, bill_date=day, bill_type="BOGUS")


async def test_the_card_channel_has_no_qr(world: CardWorld) -> None:
    channel, _card = await _loaded(world)

    with pytest.raises(ChannelRefused) as refused:
        await channel.native(merchant=SHOP, out_trade_no="Q1", total_fee=100, body="x", notify_url="http://x",
                             client_ip="10.0.0.8")
    assert refused.value.err_code == "NOT_SUPPORTED"
