"""Many tasks at once on the same card and the same merchant: no negative balance, no lost update, no double
spend, no deadlock surfacing, daily limits held. Meant for PostgreSQL (row locks); SQLite runs them serialized."""
from __future__ import annotations

import asyncio
from collections import Counter

from payhub.cards.domain.money import Funding, TxChannel
from payhub.kernel.domain.errors import PayhubError
from payhub.cards.services import limits as card_limits
from payhub.cards.services import money as card_money
from tests.cards.conftest import PASSWORD, CardWorld
from tests.cards.invariants import check_ledger


async def _fund(world: CardWorld, card: str, amount: int) -> None:
    await card_money.recharge(hub=world.hub, merchant_id=world.merchant_id, merchant_code="SHOP1", card_no=card,
                              out_trade_no=f"fund-{card}", amount=amount, funding=Funding.CASH, channel=TxChannel.OFFLINE)


async def _outcomes(calls: list) -> Counter:  # type: ignore[type-arg]
    results = await asyncio.gather(*calls, return_exceptions=True)
    for result in results:
        assert not isinstance(result, Exception) or isinstance(result, PayhubError), repr(result)
    return Counter(r.code if isinstance(r, PayhubError) else "ok" for r in results)


def _consume(world: CardWorld, card: str, out_no: str, amount: int, merchant: str = "SHOP1"):  # type: ignore[no-untyped-def]
    return card_money.consume(hub=world.hub, merchant_id=world.merchant_id, merchant_code=merchant, card_no=card,
                              out_trade_no=out_no, amount=amount, channel=TxChannel.OFFLINE, pay_password=None)


async def test_one_card_many_consumers_never_overdraws(world: CardWorld) -> None:
    card = await world.open_card(1)
    await _fund(world, card, 10_000)
    outcomes = await _outcomes([_consume(world, card, f"O{n}", 300) for n in range(40)])
    assert outcomes == Counter({"ok": 33, "INSUFFICIENT_BALANCE": 7})
    balances = await check_ledger(world.container.database)
    assert balances[f"card:{card}"] == 100
    assert sum(v for k, v in balances.items() if k.startswith("cardmerchant:SHOP1:payable:")) == 9_900


async def test_the_same_order_number_at_once_books_once(world: CardWorld) -> None:
    card = await world.open_card(1)
    await _fund(world, card, 1_000)
    results = await asyncio.gather(*[_consume(world, card, "SAME", 100) for _ in range(12)])
    assert len({r.tx_no for r in results}) == 1 and sum(not r.replayed for r in results) == 1
    assert (await check_ledger(world.container.database))[f"card:{card}"] == 900


async def test_daily_limits_hold_under_concurrency(world: CardWorld) -> None:
    m = world.merchant_id
    await card_limits.set_limit(hub=world.hub, merchant_id=m, subject="card:*", per_txn=None, per_day=5_000)
    await card_limits.set_limit(hub=world.hub, merchant_id=m, subject="merchant:SHOP2", per_txn=None, per_day=3_000)
    card = await world.open_card(1)
    await _fund(world, card, 20_000)
    outcomes = await _outcomes([_consume(world, card, f"D{n}", 300) for n in range(30)])
    assert outcomes == Counter({"ok": 16, "LIMIT_PER_DAY": 14})
    cards = [await world.open_card(n) for n in range(2, 8)]
    for other in cards:
        await _fund(world, other, 1_000)
    outcomes = await _outcomes([_consume(world, c, f"M{c}{n}", 100, "SHOP2") for c in cards for n in range(6)])
    assert outcomes == Counter({"ok": 30, "LIMIT_PER_DAY": 6})
    await check_ledger(world.container.database)


async def test_transfers_both_ways_do_not_deadlock(world: CardWorld) -> None:
    a, b = await world.open_card(1), await world.open_card(2, phone="13900000000")
    await _fund(world, a, 5_000)
    await _fund(world, b, 5_000)
    calls = [card_money.transfer(hub=world.hub, merchant_id=world.merchant_id, merchant_code="ONLINE",
                                 from_card=x, to_card=y, out_trade_no=f"T{n}{x[-3:]}", amount=100, pay_password=PASSWORD)
             for n in range(15) for x, y in ((a, b), (b, a))]
    calls += [_consume(world, a, f"C{n}", 50) for n in range(10)]
    assert await _outcomes(calls) == Counter({"ok": 40})
    balances = await check_ledger(world.container.database)
    assert balances[f"card:{a}"] + balances[f"card:{b}"] == 9_500
