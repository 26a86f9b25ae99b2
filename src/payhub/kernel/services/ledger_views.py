"""The merchant's ledger as supervisors read it: every account's balance, and one account's newest lines."""
from __future__ import annotations

from dataclasses import dataclass

from payhub.kernel.domain.ledger import AccountLine, LedgerAccount
from payhub.kernel.services.context import Hub


@dataclass(frozen=True, slots=True)
class AccountHistory:
    """One account with its newest lines, newest first."""

    account: LedgerAccount
    entries: list[AccountLine]


async def accounts(*, hub: Hub, merchant_id: int) -> list[LedgerAccount]:
    """Every ledger account of a merchant with its balance."""
    async with hub.uow(read_only=True) as uow:
        return await uow.ledger.accounts(merchant_id=merchant_id)


async def history(*, hub: Hub, merchant_id: int, account: str, limit: int = 100) -> AccountHistory:
    """One account's balance and its newest lines; NotFound if it was never opened."""
    async with hub.uow(read_only=True) as uow:
        found = await uow.ledger.balance(merchant_id=merchant_id, account=account)
        lines = await uow.ledger.entries(merchant_id=merchant_id, account=account, limit=limit)
    return AccountHistory(found, lines)
