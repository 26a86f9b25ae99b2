"""Consumes grouped by a ConsumeBatcher: one transaction for many, each still refused, replayed or limited on its
own, and the books exact. On PostgreSQL also with several batches in flight on the same hot merchant."""
from __future__ import annotations

import asyncio
import dataclasses
from collections import Counter

from payhub.cards.domain.money import Funding, TxChannel
from payhub.kernel.domain.errors import PayhubError
from payhub.cards.services import lifecycle as card_lifecycle
from payhub.cards.services import limits as card_limits
from payhub.cards.services import money as card_money
from payhub.cards.services.consumes import ConsumeBatcher
from payhub.kernel.services import admin, request_nonces
from payhub.kernel.services.request_nonces import PendingNonce
from tests.cards.conftest import CardWorld
from tests.cards.invariants import check_ledger


async def _fund(world: CardWorld, card: str, amount: int) -> None:
    await card_money.recharge(hub=world.hub, merchant_id=world.merchant_id, merchant_code="SHOP1", card_no=card,
                              out_trade_no=f"fund-{card}", amount=amount, funding=Funding.CASH, channel=TxChannel.OFFLINE)


def _consume(world: CardWorld, batcher: ConsumeBatcher, card: str, out_no: str, amount: int):  # type: ignore[no-untyped-def]
    return card_money.consume(hub=world.hub, merchant_id=world.merchant_id, merchant_code="SHOP1", card_no=card,
                              out_trade_no=out_no, amount=amount, channel=TxChannel.OFFLINE, pay_password=None,
                              batcher=batcher)


async def _outcomes(calls: list) -> list[str]:  # type: ignore[type-arg]
    results = await asyncio.gather(*calls, return_exceptions=True)
    for result in results:
        assert not isinstance(result, Exception) or isinstance(result, PayhubError), repr(result)
    return [r.code if isinstance(r, PayhubError) else "replayed" if r.replayed else "ok" for r in results]


async def test_a_refusal_in_a_batch_refuses_only_its_own_consume(world: CardWorld) -> None:
    poor, rich, frozen = [await world.open_card(n, phone=f"1390000000{n}") for n in (1, 2, 3)]
    for card in (poor, rich, frozen):
        await _fund(world, card, 1_000)
    await card_lifecycle.freeze(hub=world.hub, merchant_id=world.merchant_id, card_no=frozen, reason="test", actor="t")
    batcher = ConsumeBatcher()
    outcomes = await _outcomes([_consume(world, batcher, poor, f"P{n}", 300) for n in range(5)]
                               + [_consume(world, batcher, rich, f"R{n}", 100) for n in range(5)]
                               + [_consume(world, batcher, frozen, "F", 100)])
    assert outcomes[:5] == ["ok"] * 3 + ["INSUFFICIENT_BALANCE"] * 2
    assert outcomes[5:10] == ["ok"] * 5
    assert outcomes[10] == "CARD_NOT_ACTIVE"
    balances = await check_ledger(world.container.database)
    assert (balances[f"card:{poor}"], balances[f"card:{rich}"], balances[f"card:{frozen}"]) == (100, 500, 1_000)


async def test_a_number_twice_in_a_batch_books_once_and_a_changed_retry_conflicts(world: CardWorld) -> None:
    card = await world.open_card(1)
    await _fund(world, card, 1_000)
    batcher = ConsumeBatcher()
    outcomes = await _outcomes([_consume(world, batcher, card, "SAME", 100) for _ in range(6)]
                               + [_consume(world, batcher, card, "SAME", 200)])
    assert Counter(outcomes) == Counter({"ok": 1, "replayed": 5, "IDEMPOTENCY_CONFLICT": 1})
    assert (await check_ledger(world.container.database))[f"card:{card}"] == 900


async def test_daily_limits_hold_inside_a_batch(world: CardWorld) -> None:
    await card_limits.set_limit(hub=world.hub, merchant_id=world.merchant_id, subject="card:*", per_txn=500, per_day=1_000)
    card = await world.open_card(1)
    await _fund(world, card, 5_000)
    batcher = ConsumeBatcher()
    outcomes = await _outcomes([_consume(world, batcher, card, f"D{n}", 300) for n in range(5)]
                               + [_consume(world, batcher, card, "BIG", 600)])
    assert Counter(outcomes) == Counter({"ok": 3, "LIMIT_PER_DAY": 2, "LIMIT_PER_TXN": 1})
    assert (await check_ledger(world.container.database))[f"card:{card}"] == 4_100


async def test_a_daily_limit_set_during_the_day_counts_what_was_spent_before_it(world: CardWorld) -> None:
    card, other = await world.open_card(1), await world.open_card(2)
    for each in (card, other):
        await _fund(world, each, 5_000)
    batcher = ConsumeBatcher()
    assert await _outcomes([_consume(world, batcher, card, "EARLY", 800)]) == ["ok"]
    await card_limits.set_limit(hub=world.hub, merchant_id=world.merchant_id, subject="card:*", per_txn=None,
                                per_day=1_000)
    assert await _outcomes([_consume(world, batcher, card, "LATE", 300)]) == ["LIMIT_PER_DAY"]
    assert await _outcomes([_consume(world, batcher, card, "FITS", 200),
                            _consume(world, batcher, other, "OTHER", 1_000)]) == ["ok", "ok"]
    world.clock.advance(hours=24)
    assert await _outcomes([_consume(world, batcher, card, "NEXT DAY", 1_000)]) == ["ok"]


async def test_many_batches_on_one_hot_merchant_keep_the_books(world: CardWorld) -> None:
    cards = [await world.open_card(n, phone=f"139000000{n:02d}") for n in range(1, 13)]
    for card in cards:
        await _fund(world, card, 10_000)
    batcher = ConsumeBatcher(max_batch=4, in_flight=3)
    outcomes = await _outcomes([_consume(world, batcher, card, f"H{card}-{n}", 7) for n in range(8) for card in cards])
    assert outcomes == ["ok"] * 96
    balances = await check_ledger(world.container.database)
    assert sum(v for k, v in balances.items() if k.startswith("cardmerchant:SHOP1:payable:")) == 96 * 7


async def test_a_batch_never_stores_the_nonce_of_the_request_that_started_it(world: CardWorld) -> None:
    """A replay sent to another hub process must fail alone: its nonce is not written by a batch other requests share."""
    card, other = await world.open_card(1), await world.open_card(2, phone="13900000002")
    for c in (card, other):
        await _fund(world, c, 1_000)
    batcher = ConsumeBatcher()
    terminal, _ = await admin.create_terminal(hub=world.hub, merchant_code="ISSUER", code="T1", name="1号收银台")
    assert terminal.id is not None
    replayed = PendingNonce(merchant_id=world.merchant_id, terminal_id=terminal.id, nonce="already-used",
                            at=world.hub.clock.now())
    async with world.hub.uow() as uow:  # the first request's nonce, stored by the process that served it
        await request_nonces.insert(tenancy=uow.tenancy, nonce=dataclasses.replace(replayed))
        await uow.commit()

    async def replay() -> object:
        token = request_nonces.defer(replayed)
        try:
            return await _consume(world, batcher, card, "REPLAYED", 100)
        finally:
            request_nonces.served(token)

    outcomes = await _outcomes([replay(), _consume(world, batcher, other, "HONEST", 100)])
    assert outcomes == ["ok", "ok"]  # booked by the batch; the replay's nonce is checked apart, before its answer
    assert not replayed.stored  # no batch tried to write it (a replay would have failed the whole batch's commit)
    balances = await check_ledger(world.container.database)
    assert (balances[f"card:{card}"], balances[f"card:{other}"]) == (900, 900)
