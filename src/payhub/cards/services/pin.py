"""Pay password (PIN) checks that cannot be guessed around. The card's state is checked before the PIN, so a frozen
or lost card answers the same whatever PIN is given; each try is counted (one atomic increment) before the PIN is
compared and stays counted unless it proves right, so parallel guesses never get more checks than the issuer allows."""
from __future__ import annotations

import asyncio
import time

from payhub.cards.domain.cards import Card, require_transactable
from payhub.kernel.domain.errors import Forbidden, NotFound
from payhub.cards.domain.funds import FundsAccount, count_wrong_password
from payhub.cards.ports import CardUnitOfWork
from payhub.cards.services.context import CardHub

WAIT_SECONDS = 3.0  # how long a try waits while the allowed number of others are being checked


async def verify(*, hub: CardHub, merchant_id: int, card_no: str, password: str,
                 wrong_code: str = "PAY_PASSWORD_WRONG") -> int:
    """Check the PIN of the card's account; the password version the money step re-checks, or the refusal."""
    account, allowed = await _take_try(hub, merchant_id, card_no)
    if await asyncio.to_thread(hub.passwords.verify, account.password_hash, password):
        async with hub.uow() as uow:
            await uow.cards.set_wrong_tries(account_id=account.id, tries=0, at=hub.clock.now())
            await uow.commit()
        return account.password_version
    left = await _count_wrong(hub, merchant_id, card_no, account.id, allowed)
    if left == 0:
        raise Forbidden("PAY_PASSWORD_LOCKED")
    raise Forbidden(wrong_code, left=left)


async def _allowed(uow: CardUnitOfWork, hub: CardHub, merchant_id: int) -> int:
    program = await uow.cards.program(merchant_id=merchant_id)
    return program.password_tries if program else hub.cards.password_tries


async def _card(uow: CardUnitOfWork, merchant_id: int, card_no: str) -> Card:
    card = await uow.cards.card(merchant_id=merchant_id, card_no=card_no)
    if card is None:
        raise NotFound("CARD_NOT_FOUND", card_no=card_no)
    return card


async def _require_active(uow: CardUnitOfWork, merchant_id: int, card_no: str) -> None:
    require_transactable(card_no=card_no, state=(await _card(uow, merchant_id, card_no)).state.value)


async def _take_try(hub: CardHub, merchant_id: int, card_no: str) -> tuple[FundsAccount, int]:
    """Count this try on an active card; waits while all allowed tries are being checked, freezes if they stay so."""
    deadline, pause = time.monotonic() + WAIT_SECONDS, 0.005
    while True:
        async with hub.uow() as uow:
            account_id = (await _card(uow, merchant_id, card_no)).account_id
            allowed = await _allowed(uow, hub, merchant_id)
            account = await uow.cards.take_password_try(account_id=account_id, allowed=allowed, at=hub.clock.now())
            # the state is read after the count, which waits for a freeze in progress: a frozen card is never checked
            await _require_active(uow, merchant_id, card_no)
            if account is not None:
                await uow.commit()
                return account, allowed
            if time.monotonic() >= deadline:  # tries counted and never settled (a crash): as many wrong ones
                await _freeze(uow, hub, account_id, allowed)
                await uow.commit()
                raise Forbidden("PAY_PASSWORD_LOCKED")
        await asyncio.sleep(pause)
        pause = min(pause * 2, 0.1)


async def _count_wrong(hub: CardHub, merchant_id: int, card_no: str, account_id: int, allowed: int) -> int:
    """Settle a wrong try (already counted); at the limit every active card of the account freezes. Tries left."""
    async with hub.uow() as uow:
        account = await uow.cards.account(merchant_id=merchant_id, account_id=account_id, lock=True)
        assert account is not None
        await _require_active(uow, merchant_id, card_no)  # frozen meanwhile: answer as a frozen card does
        # the try was counted when taken (unless a right PIN cleared the count since): it is one of wrong_tries
        outcome = count_wrong_password(tries_before=max(account.wrong_tries - 1, 0), allowed=allowed)
        if outcome.freeze:
            await _freeze(uow, hub, account_id, allowed)
        else:
            await uow.cards.set_wrong_tries(account_id=account_id, tries=outcome.tries, at=hub.clock.now())
        await uow.commit()
    return 0 if outcome.freeze else allowed - outcome.tries


async def _freeze(uow: CardUnitOfWork, hub: CardHub, account_id: int, allowed: int) -> None:
    """Freeze every active card of the account and start counting again."""
    now = hub.clock.now()
    await uow.cards.set_wrong_tries(account_id=account_id, tries=0, at=now)
    for card in await uow.cards.cards_of(account_id=account_id):
        if card.can_transact:
            card.freeze(reason=f"pay password wrong {allowed} times", at=now, actor="system")
            await uow.cards.save_card(card)
