"""Pay passwords cannot be guessed: a frozen card answers the same whatever the PIN, and parallel guesses are
counted before they are checked, so no more than the allowed number is ever checked."""
from __future__ import annotations

import asyncio
import dataclasses
from collections import Counter

from payhub.cards.domain.money import Funding, TxChannel
from payhub.kernel.domain.errors import PayhubError
from payhub.kernel.domain.messages import render
from payhub.kernel.domain.tenancy import Role
from payhub.cards.services import lifecycle as card_lifecycle
from payhub.cards.services import money as card_money
from tests.cards.conftest import PASSWORD, CardWorld, expect
from tests.unit.fakes import PlainHasher

ALLOWED = 3  # the default wrong-password limit


class CountingHasher(PlainHasher):
    """The tests' hasher, counting how many passwords were checked."""

    checks = 0

    def verify(self, password_hash: str | None, password: str) -> bool:
        self.checks += 1
        return super().verify(password_hash, password)


async def _loaded_card(world: CardWorld) -> str:
    card = await world.open_card(1)
    await card_money.recharge(hub=world.hub, merchant_id=world.merchant_id, merchant_code="SHOP1", card_no=card,
                              out_trade_no="LOAD", amount=1_000, funding=Funding.CASH, channel=TxChannel.OFFLINE)
    return card


def _consume(world: CardWorld, card: str, out_no: str, pin: str):  # type: ignore[no-untyped-def]
    return card_money.consume(hub=world.hub, merchant_id=world.merchant_id, merchant_code="SHOP1", card_no=card,
                              out_trade_no=out_no, amount=100, channel=TxChannel.ONLINE, pay_password=pin)


async def _refusal(call) -> PayhubError:  # type: ignore[no-untyped-def]
    try:
        await call
    except PayhubError as error:
        return error
    raise AssertionError("the call was not refused")


async def test_a_frozen_card_answers_the_same_to_the_right_and_a_wrong_pin(world: CardWorld) -> None:
    card = await _loaded_card(world)
    for n in range(ALLOWED):
        await _refusal(_consume(world, card, f"G{n}", "000000"))
    assert (await card_lifecycle.card_info(hub=world.hub, merchant_id=world.merchant_id, card_no=card))["state"] == "frozen"

    wrong = await _refusal(_consume(world, card, "W", "999999"))
    right = await _refusal(_consume(world, card, "R", PASSWORD))
    transfer = await _refusal(card_money.transfer(
        hub=world.hub, merchant_id=world.merchant_id, merchant_code="ONLINE", from_card=card,
        to_card=await world.open_card(2, phone="13900000000"), out_trade_no="T", amount=1, pay_password=PASSWORD))

    assert (wrong.code, wrong.params) == (right.code, right.params) == (transfer.code, transfer.params)
    assert right.code == "CARD_NOT_ACTIVE"
    assert render(wrong.code, "zh", wrong.params) == render(right.code, "zh", right.params)


async def test_a_frozen_card_does_not_check_the_old_pin_of_a_password_reset(world: CardWorld) -> None:
    card = await _loaded_card(world)
    await card_lifecycle.freeze(hub=world.hub, merchant_id=world.merchant_id, card_no=card, reason="t", actor="t")

    for old in ("000000", PASSWORD):
        with expect("CARD_NOT_ACTIVE"):
            await card_lifecycle.reset_password(hub=world.hub, merchant_id=world.merchant_id, card_no=card,
                                                new_password="654321", old_password=old, role=Role.OPERATOR)
    await card_lifecycle.unfreeze(hub=world.hub, merchant_id=world.merchant_id, card_no=card, actor="sup")
    assert (await _consume(world, card, "O", PASSWORD)).amount == 100  # the password did not change


async def test_parallel_guesses_are_counted_before_they_are_checked(world: CardWorld) -> None:
    hasher = CountingHasher()
    world.hub = dataclasses.replace(world.hub, passwords=hasher)
    card = await _loaded_card(world)

    refusals = await asyncio.gather(*[_refusal(_consume(world, card, f"G{n}", f"{n:06d}")) for n in range(1, 41)])
    right = await _refusal(_consume(world, card, "R", PASSWORD))

    codes = Counter(r.code for r in refusals)
    assert hasher.checks <= ALLOWED, (hasher.checks, codes)
    assert set(codes) <= {"PAY_PASSWORD_WRONG", "PAY_PASSWORD_LOCKED", "CARD_NOT_ACTIVE"}, codes
    assert right.code == "CARD_NOT_ACTIVE"
    assert (await card_lifecycle.card_info(hub=world.hub, merchant_id=world.merchant_id, card_no=card))["state"] == "frozen"


async def test_parallel_right_pins_all_pass(world: CardWorld) -> None:
    card = await _loaded_card(world)

    results = await asyncio.gather(*[_consume(world, card, f"O{n}", PASSWORD) for n in range(8)])

    assert sorted(r.balance for r in results) == list(range(200, 1_000, 100))
    with expect("PAY_PASSWORD_WRONG") as raised:
        await _consume(world, card, "W", "000000")
    assert raised.error.params == {"left": ALLOWED - 1}  # the right ones left no try counted


async def test_tries_counted_by_a_process_that_died_count_as_wrong(world: CardWorld) -> None:
    card = await _loaded_card(world)
    async with world.hub.uow() as uow:  # three tries counted, then the process died before comparing the PINs
        account_id = (await uow.cards.card(merchant_id=world.merchant_id, card_no=card)).account_id
        for _ in range(ALLOWED):
            assert await uow.cards.take_password_try(account_id=account_id, allowed=ALLOWED, at=world.clock.now())
        assert await uow.cards.take_password_try(account_id=account_id, allowed=ALLOWED, at=world.clock.now()) is None
        await uow.commit()

    with expect("PAY_PASSWORD_LOCKED"):  # after waiting for them a while
        await _consume(world, card, "R", PASSWORD)
    assert (await card_lifecycle.card_info(hub=world.hub, merchant_id=world.merchant_id, card_no=card))["state"] == "frozen"
    await card_lifecycle.unfreeze(hub=world.hub, merchant_id=world.merchant_id, card_no=card, actor="sup")
    assert (await _consume(world, card, "R", PASSWORD)).balance == 900
