"""An offline consume needs the pay password unless its card merchant allows consumes without it, up to a cap per
transaction (a setting of the card merchant, off by default)."""
from __future__ import annotations

from payhub.cards.domain.money import Funding, TxChannel
from payhub.cards.services import lifecycle as card_lifecycle
from payhub.cards.services import money as card_money
from payhub.cards.services.consumes import ConsumeBatcher
from tests.cards.conftest import PASSWORD, CardWorld, expect

SHOP = "SHOP3"  # a card merchant with the default rule


async def _setup(world: CardWorld) -> str:
    await card_lifecycle.add_card_merchant(hub=world.hub, merchant_id=world.merchant_id, code=SHOP, name="三号店")
    card = await world.open_card(1)
    await card_money.recharge(hub=world.hub, merchant_id=world.merchant_id, merchant_code=SHOP, card_no=card,
                              out_trade_no="LOAD", amount=10_000, funding=Funding.CASH, channel=TxChannel.OFFLINE)
    return card


def _offline(world: CardWorld, card: str, out_no: str, amount: int, pin: str | None = None,
             batcher: ConsumeBatcher | None = None):  # type: ignore[no-untyped-def]
    return card_money.consume(hub=world.hub, merchant_id=world.merchant_id, merchant_code=SHOP, card_no=card,
                              out_trade_no=out_no, amount=amount, channel=TxChannel.OFFLINE, pay_password=pin,
                              batcher=batcher)


async def test_offline_consume_needs_the_pin_by_default(world: CardWorld) -> None:
    card = await _setup(world)

    for batcher in (None, ConsumeBatcher()):
        with expect("PAY_PASSWORD_REQUIRED"):
            await _offline(world, card, "O1", 100, batcher=batcher)
    paid = await _offline(world, card, "O1", 100, PASSWORD)

    assert paid.balance == 9_900
    merchants = {m.code: m for m in await card_lifecycle.list_card_merchants(hub=world.hub, merchant_id=world.merchant_id)}
    assert merchants[SHOP].pinless_offline_max is None


async def test_a_merchant_may_allow_offline_consumes_without_pin_up_to_a_cap(world: CardWorld) -> None:
    card = await _setup(world)
    await card_lifecycle.set_pinless_offline(hub=world.hub, merchant_id=world.merchant_id, code=SHOP, max_amount=500)

    small = await _offline(world, card, "O1", 500)
    for batcher in (None, ConsumeBatcher()):
        with expect("PINLESS_OVER_CAP") as raised:
            await _offline(world, card, "O2", 501, batcher=batcher)
    assert raised.error.params == {"max_fen": 500}
    large = await _offline(world, card, "O2", 501, PASSWORD)
    with expect("PAY_PASSWORD_REQUIRED"):  # online always needs it
        await card_money.consume(hub=world.hub, merchant_id=world.merchant_id, merchant_code=SHOP, card_no=card,
                                 out_trade_no="O3", amount=1, channel=TxChannel.ONLINE, pay_password=None)

    await card_lifecycle.set_pinless_offline(hub=world.hub, merchant_id=world.merchant_id, code=SHOP, max_amount=None)
    with expect("PAY_PASSWORD_REQUIRED"):
        await _offline(world, card, "O4", 1)
    assert (await _offline(world, card, "O1", 500)).replayed  # a retry still gets its first answer
    assert (small.balance, large.balance) == (9_500, 8_999)


async def test_the_rule_of_an_unknown_merchant_is_refused(world: CardWorld) -> None:
    with expect("CARD_MERCHANT_NOT_FOUND"):
        await card_lifecycle.set_pinless_offline(hub=world.hub, merchant_id=world.merchant_id, code="NOPE",
                                                 max_amount=1)
