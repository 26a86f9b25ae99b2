"""A retry that races its first request gets the first request's answer, never a refusal of its own; the same number
with other content is refused with IDEMPOTENCY_CONFLICT. Real concurrency on PostgreSQL, serialized on SQLite."""
from __future__ import annotations

import asyncio
from collections import Counter

from payhub.cards.domain.money import Funding, TxChannel
from payhub.kernel.domain.errors import PayhubError
from payhub.cards.services import lifecycle as card_lifecycle
from payhub.cards.services import money as card_money
from payhub.cards.services import online_recharge as card_online_recharge
from payhub.cards.services.consumes import ConsumeBatcher
from payhub.cards.services.tx import TxResult
from tests.cards.conftest import PASSWORD, CardWorld
from tests.cards.invariants import check_ledger
from tests.cards.test_recharge_and_custody import _world as _online_world
from tests.support.harness import WECHAT, Harness

TRIALS = 5


async def _gather(calls: list) -> list[TxResult | PayhubError]:  # type: ignore[type-arg]
    results = await asyncio.gather(*calls, return_exceptions=True)
    for result in results:
        assert isinstance(result, TxResult | PayhubError), repr(result)
    return results


def _same_first_answer(results: list[TxResult | PayhubError]) -> TxResult:
    """Every answer is the booked transaction, booked once."""
    assert all(isinstance(r, TxResult) for r in results), [getattr(r, "code", r) for r in results]
    assert len({r.tx_no for r in results}) == 1 and sum(not r.replayed for r in results) == 1  # type: ignore[union-attr]
    return results[0]  # type: ignore[return-value]


async def _fund(world: CardWorld, card: str, amount: int, out_no: str) -> None:
    await card_money.recharge(hub=world.hub, merchant_id=world.merchant_id, merchant_code="SHOP1", card_no=card,
                              out_trade_no=out_no, amount=amount, funding=Funding.CASH, channel=TxChannel.OFFLINE)


def _consume(world: CardWorld, card: str, out_no: str, amount: int, batcher: ConsumeBatcher | None = None):  # type: ignore[no-untyped-def]
    return card_money.consume(hub=world.hub, merchant_id=world.merchant_id, merchant_code="SHOP1", card_no=card,
                              out_trade_no=out_no, amount=amount, channel=TxChannel.ONLINE, pay_password=PASSWORD,
                              batcher=batcher)


async def test_identical_refunds_at_once_refund_once_and_both_get_it(world: CardWorld) -> None:
    card = await world.open_card(1)
    await _fund(world, card, 10_000, "LOAD")
    for trial in range(TRIALS):
        await _consume(world, card, f"O{trial}", 1_000)
        results = await _gather([card_money.refund(
            hub=world.hub, merchant_id=world.merchant_id, merchant_code="SHOP1", out_trade_no=f"O{trial}",
            out_refund_no=f"F{trial}", amount=1_000, channel=TxChannel.OFFLINE) for _ in range(2)])
        assert _same_first_answer(results).balance == 10_000
    assert (await check_ledger(world.container.database))[f"card:{card}"] == 10_000


async def test_identical_consumes_of_the_whole_balance_book_once_alone_or_batched(world: CardWorld) -> None:
    for trial in range(TRIALS):
        card = await world.open_card(trial + 1, phone=f"1380000000{trial}")
        await _fund(world, card, 500, f"LOAD{trial}")
        batchers = [None, None] if trial % 2 else [ConsumeBatcher(), ConsumeBatcher()]
        results = await _gather([_consume(world, card, f"C{trial}", 500, batcher) for batcher in batchers])
        assert _same_first_answer(results).balance == 0
    await check_ledger(world.container.database)


async def test_identical_transfers_of_the_whole_balance_book_once(world: CardWorld) -> None:
    a, b = await world.open_card(1), await world.open_card(2, phone="13900000000")
    for trial in range(TRIALS):
        await _fund(world, a, 300, f"LOAD{trial}")
        results = await _gather([card_money.transfer(
            hub=world.hub, merchant_id=world.merchant_id, merchant_code="ONLINE", from_card=a, to_card=b,
            out_trade_no=f"T{trial}", amount=300, pay_password=PASSWORD) for _ in range(2)])
        assert _same_first_answer(results).balance == 0
    assert (await check_ledger(world.container.database))[f"card:{b}"] == 300 * TRIALS


async def test_identical_recharges_at_once_book_once(world: CardWorld) -> None:
    card = await world.open_card(1)
    for trial in range(TRIALS):
        results = await _gather([card_money.recharge(
            hub=world.hub, merchant_id=world.merchant_id, merchant_code="SHOP1", card_no=card, out_trade_no=f"R{trial}",
            amount=100, funding=Funding.CASH, channel=TxChannel.OFFLINE) for _ in range(3)])
        assert _same_first_answer(results).balance == 100 * (trial + 1)


async def test_a_retry_of_a_booked_consume_replays_even_after_the_card_froze(world: CardWorld) -> None:
    card = await world.open_card(1)
    await _fund(world, card, 1_000, "LOAD")
    first = await _consume(world, card, "O1", 400)
    await card_lifecycle.freeze(hub=world.hub, merchant_id=world.merchant_id, card_no=card, reason="t", actor="t")
    again = await _consume(world, card, "O1", 400)
    assert again.replayed and again.tx_no == first.tx_no


async def test_other_content_under_the_same_number_at_once_is_refused_as_a_conflict(world: CardWorld) -> None:
    card, other = await world.open_card(1), await world.open_card(2, phone="13900000000")
    await _fund(world, card, 10_000, "LOAD1")
    await _fund(world, other, 10_000, "LOAD2")
    for trial in range(TRIALS):
        results = await _gather([_consume(world, card, f"X{trial}", 100), _consume(world, card, f"X{trial}", 200),
                                 _consume(world, other, f"X{trial}", 100)])
        codes = Counter(r.code if isinstance(r, PayhubError) else "ok" for r in results)
        assert codes == Counter({"ok": 1, "IDEMPOTENCY_CONFLICT": 2}), codes
    await check_ledger(world.container.database)


async def test_identical_online_recharges_at_once_charge_and_credit_once(hub: Harness) -> None:
    m, card = await _online_world(hub)
    answers = await asyncio.gather(*[card_online_recharge.start(
        hub=hub.hub, merchant_id=m, merchant_code="APP", card_no=card, out_trade_no="W1", amount=5_000,
        auth_code=WECHAT, merchant="M1", client_ip="127.0.0.1") for _ in range(3)], return_exceptions=True)
    assert all(isinstance(a, dict) for a in answers), answers
    assert len({a["recharge_no"] for a in answers}) == 1  # type: ignore[index]
    await hub.run_jobs()
    assert (await card_lifecycle.card_info(hub=hub.hub, merchant_id=m, card_no=card))["balance"] == 5_000
    assert len(hub.swiftpass.trades) == 1
