"""Card services on the in-memory fakes: the money and freeze rules tests/cards checks on the databases, in
milliseconds (consume, refund, pay password tries, freeze, PIN-less offline consumes, daily limits)."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from payhub.cards.domain.money import MAX_AMOUNT, Funding, TxChannel
from payhub.cards.domain.cards import CardKind, CardState, luhn_digit
from payhub.kernel.domain.errors import PayhubError
from payhub.cards.services import lifecycle as card_lifecycle
from payhub.cards.services import limits as card_limits
from payhub.cards.services import money as card_money
from payhub.cards.services.tx import TxResult

from .world import World

PASSWORD = "123456"
SHOP = "SHOP1"          # offline consumes without the pay password allowed up to MAX_AMOUNT
STRICT_SHOP = "SHOP2"   # the default: offline consumes need the pay password


@contextmanager
def refused(code: str) -> Iterator[pytest.ExceptionInfo[PayhubError]]:
    """The block raises the PayhubError with this code."""
    with pytest.raises(PayhubError) as raised:
        yield raised
    assert raised.value.code == code, raised.value


def card_no(n: int) -> str:
    body = f"880000{n:09d}"
    return body + luhn_digit(body)


@pytest.fixture
async def card(world: World) -> str:
    """An active card of the world's merchant holding 100 yuan, at two card merchants."""
    hub, merchant_id = world.hub, world.merchant.id
    for code in (SHOP, STRICT_SHOP):
        await card_lifecycle.add_card_merchant(hub=hub, merchant_id=merchant_id, code=code, name=code)
    await card_lifecycle.set_pinless_offline(hub=hub, merchant_id=merchant_id, code=SHOP, max_amount=MAX_AMOUNT)
    account = await card_lifecycle.open_account(hub=hub, merchant_id=merchant_id, holder_name="张三",
                                                phone="13800000000", pay_password=PASSWORD)
    number = card_no(1)
    await card_lifecycle.open_card(hub=hub, merchant_id=merchant_id, account_no=account.account_no, card_no=number,
                                   kind=CardKind.PHYSICAL, actor="test")
    await card_lifecycle.audit(hub=hub, merchant_id=merchant_id, card_no=number, actor="test")
    await card_lifecycle.activate(hub=hub, merchant_id=merchant_id, card_no=number, actor="test")
    await card_money.recharge(hub=hub, merchant_id=merchant_id, merchant_code=SHOP, card_no=number, out_trade_no="R1",
                              amount=10_000, funding=Funding.CASH, channel=TxChannel.OFFLINE)
    return number


async def consume(world: World, card: str, out_no: str, amount: int, *, pin: str | None = PASSWORD,
                  shop: str = SHOP, channel: TxChannel = TxChannel.ONLINE) -> TxResult:
    return await card_money.consume(hub=world.hub, merchant_id=world.merchant.id, merchant_code=shop, card_no=card,
                                    out_trade_no=out_no, amount=amount, channel=channel, pay_password=pin)


async def refund(world: World, out_no: str, refund_no: str, amount: int) -> TxResult:
    return await card_money.refund(hub=world.hub, merchant_id=world.merchant.id, merchant_code=SHOP,
                                   out_trade_no=out_no, out_refund_no=refund_no, amount=amount,
                                   channel=TxChannel.ONLINE)


async def balance(world: World, card: str) -> int:
    info = await card_lifecycle.card_info(hub=world.hub, merchant_id=world.merchant.id, card_no=card)
    return info["balance"]


async def test_a_consume_is_booked_once_and_its_retry_gets_the_first_answer(world: World, card: str) -> None:
    paid = await consume(world, card, "O1", 3_000)
    again = await consume(world, card, "O1", 3_000)

    assert (paid.balance, paid.replayed) == (7_000, False)
    assert again.replayed and again.tx_no == paid.tx_no and await balance(world, card) == 7_000
    with refused("IDEMPOTENCY_CONFLICT"):
        await consume(world, card, "O1", 3_001, pin=None, channel=TxChannel.OFFLINE)
    tables = world.db.card_tables
    assert [tx.out_no for tx in tables.txs.values() if tx.kind == "consume"] == ["O1"]
    assert [e.type for e in tables.events.values()] == ["card.recharge", "card.consume"]


async def test_refunds_return_money_up_to_the_consumes_amount(world: World, card: str) -> None:
    await consume(world, card, "O1", 3_000)
    first = await refund(world, "O1", "F1", 1_000)
    second = await refund(world, "O1", "F2", 2_000)
    with refused("REFUND_EXCEEDS") as raised:
        await refund(world, "O1", "F3", 1)
    with refused("TX_NOT_FOUND"):
        await refund(world, "O9", "F4", 1)

    assert raised.value.params == {"refundable": 0}
    assert (first.balance, second.balance) == (8_000, 10_000) and await balance(world, card) == 10_000
    assert (await refund(world, "O1", "F1", 1_000)).replayed


async def test_a_consume_over_the_balance_is_refused_and_leaves_nothing(world: World, card: str) -> None:
    before = {name: dict(getattr(world.db.card_tables, name)) for name in ("txs", "events", "usage")}
    with refused("INSUFFICIENT_BALANCE"):
        await consume(world, card, "O1", 10_001)
    assert {name: dict(getattr(world.db.card_tables, name)) for name in before} == before
    assert await balance(world, card) == 10_000


async def test_wrong_pay_passwords_freeze_the_card_and_a_frozen_card_cannot_transact(world: World, card: str) -> None:
    for left in (2, 1):
        with refused("PAY_PASSWORD_WRONG") as raised:
            await consume(world, card, "O1", 1, pin="000000")
        assert raised.value.params == {"left": left}
    with refused("PAY_PASSWORD_LOCKED"):
        await consume(world, card, "O1", 1, pin="000000")

    assert world.db.card_tables.cards[(world.merchant.id, card)][0].state is CardState.FROZEN
    with refused("CARD_NOT_ACTIVE"):
        await consume(world, card, "O1", 1)  # the right PIN answers the same
    with refused("CARD_NOT_ACTIVE"):
        await consume(world, card, "O1", 1, pin=None, channel=TxChannel.OFFLINE)
    with refused("PAY_PASSWORD_REQUIRED"):
        await consume(world, card, "O1", 1, pin=None)


async def test_a_frozen_card_transacts_again_once_unfrozen(world: World, card: str) -> None:
    hub, merchant_id = world.hub, world.merchant.id
    frozen = await card_lifecycle.freeze(hub=hub, merchant_id=merchant_id, card_no=card, reason="挂起", actor="sup")
    with refused("CARD_NOT_ACTIVE"):
        await consume(world, card, "O1", 100)
    with refused("CARD_NOT_ACTIVE"):
        await card_money.recharge(hub=hub, merchant_id=merchant_id, merchant_code=SHOP, card_no=card,
                                  out_trade_no="R2", amount=1, funding=Funding.CASH, channel=TxChannel.OFFLINE)
    await card_lifecycle.unfreeze(hub=hub, merchant_id=merchant_id, card_no=card, actor="sup")

    assert frozen.state is CardState.FROZEN
    assert (await consume(world, card, "O1", 100)).balance == 9_900
    assert [t.to_state for t in world.history(card)][-2:] == ["frozen", "active"]


async def test_offline_consumes_without_the_pin_only_where_the_merchant_allows_up_to_its_cap(
        world: World, card: str) -> None:
    hub, merchant_id = world.hub, world.merchant.id
    with refused("PAY_PASSWORD_REQUIRED"):
        await consume(world, card, "O1", 100, pin=None, shop=STRICT_SHOP, channel=TxChannel.OFFLINE)
    await card_lifecycle.set_pinless_offline(hub=hub, merchant_id=merchant_id, code=STRICT_SHOP, max_amount=500)
    small = await consume(world, card, "O1", 500, pin=None, shop=STRICT_SHOP, channel=TxChannel.OFFLINE)
    with refused("PINLESS_OVER_CAP") as raised:
        await consume(world, card, "O2", 501, pin=None, shop=STRICT_SHOP, channel=TxChannel.OFFLINE)

    assert raised.value.params == {"max_fen": 500} and small.balance == 9_500


async def test_the_daily_limit_counts_the_days_consumes(world: World, card: str) -> None:
    await card_limits.set_limit(hub=world.hub, merchant_id=world.merchant.id, subject="card:*", per_txn=None,
                                per_day=1_000)
    await consume(world, card, "O1", 600)
    with refused("LIMIT_PER_DAY"):
        await consume(world, card, "O2", 401)
    assert (await consume(world, card, "O2", 400)).balance == 9_000
    world.clock.advance(days=1)
    assert (await consume(world, card, "O3", 1_000)).balance == 8_000
