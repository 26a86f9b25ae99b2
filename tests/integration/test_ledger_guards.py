"""The database itself refuses an unbalanced or edited journal entry; booking keeps balances and versions exact."""
from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from payhub.kernel.adapters.db.engine import Database
from payhub.kernel.adapters.db.tables import journal_entries, journal_legs, ledger_accounts
from payhub.kernel.adapters.db.uow import SqlUnitOfWorkFactory
from payhub.kernel.domain.errors import Conflict
from payhub.kernel.domain.ledger import AccountSpec, NormalSide, transfer
from tests.integration.conftest import NOW

CASH = AccountSpec("cash", "现金", NormalSide.DEBIT)
SALES = AccountSpec("sales", "收入", NormalSide.CREDIT)
WALLET = AccountSpec("wallet", "钱包", NormalSide.CREDIT, non_negative=True)


async def _accounts(uow: SqlUnitOfWorkFactory, merchant_id: int) -> dict[str, int]:
    async with uow() as tx:
        for spec in (CASH, SALES):
            await tx.ledger.open_account(merchant_id=merchant_id, spec=spec, at=NOW)
        await tx.commit()
        rows = await tx.ledger.accounts(merchant_id=merchant_id)
    return {row.code: row.id for row in rows}


async def _raw_entry(database: Database, merchant_id: int, legs: list[tuple[int, int]]) -> None:
    entry_id = uuid.uuid4().hex
    async with database.write.begin() as conn:
        for account_id, amount in legs:
            await conn.execute(sa.insert(journal_legs).values(
                merchant_id=merchant_id, entry_id=entry_id, account_id=account_id, amount=amount,
                balance_before=0, balance_after=0, account_version=hash((entry_id, account_id)) % 10**9))
        await conn.execute(sa.insert(journal_entries).values(
            id=entry_id, merchant_id=merchant_id, kind="raw", ref=entry_id, memo="", created_at=NOW))


async def test_unbalanced_entry_is_refused_by_the_database(database: Database, uow, merchant_id: int) -> None:
    ids = await _accounts(uow, merchant_id)
    with pytest.raises(DBAPIError, match="unbalanced"):
        await _raw_entry(database, merchant_id, [(ids["cash"], 100), (ids["sales"], -99)])
    with pytest.raises(DBAPIError, match="unbalanced"):
        await _raw_entry(database, merchant_id, [(ids["cash"], 100)])
    await _raw_entry(database, merchant_id, [(ids["cash"], 100), (ids["sales"], -100)])
    async with database.read.connect() as conn:
        assert (await conn.execute(sa.select(sa.func.count()).select_from(journal_legs))).scalar_one() == 2


async def test_legs_without_an_entry_fail_at_commit(database: Database, uow, merchant_id: int) -> None:
    ids = await _accounts(uow, merchant_id)
    with pytest.raises(DBAPIError):
        async with database.write.begin() as conn:
            await conn.execute(sa.insert(journal_legs).values(
                merchant_id=merchant_id, entry_id="orphan", account_id=ids["cash"], amount=5,
                balance_before=0, balance_after=5, account_version=1))


async def test_booked_entries_cannot_be_changed_or_extended(database: Database, uow, merchant_id: int) -> None:
    ids = await _accounts(uow, merchant_id)
    async with uow() as tx:
        await tx.ledger.book(entry=transfer(merchant_id=merchant_id, kind="sale", ref="s1", debit=CASH, credit=SALES, amount=100), at=NOW)
        await tx.commit()
    async with database.read.connect() as conn:
        entry_id = (await conn.execute(sa.select(journal_entries.c.id))).scalar_one()
    for statement in (
        sa.update(journal_legs).values(amount=1),
        sa.delete(journal_legs),
        sa.update(journal_entries).values(memo="edited"),
        sa.insert(journal_legs).values(merchant_id=merchant_id, entry_id=entry_id, account_id=ids["cash"], amount=1,
                                       balance_before=0, balance_after=0, account_version=99),
    ):
        with pytest.raises(DBAPIError):
            async with database.write.begin() as conn:
                await conn.execute(statement)


async def test_booking_keeps_balances_versions_and_history(uow: SqlUnitOfWorkFactory, merchant_id: int) -> None:
    async with uow() as tx:
        for n, amount in enumerate((100, 250, 7)):
            assert await tx.ledger.book(entry=transfer(
                merchant_id=merchant_id, kind="sale", ref=f"s{n}", debit=CASH, credit=SALES, amount=amount), at=NOW)
        assert not await tx.ledger.book(entry=transfer(
            merchant_id=merchant_id, kind="sale", ref="s0", debit=CASH, credit=SALES, amount=100), at=NOW)
        await tx.commit()
    async with uow(read_only=True) as tx:
        cash = await tx.ledger.balance(merchant_id=merchant_id, account="cash")
        sales = await tx.ledger.balance(merchant_id=merchant_id, account="sales")
        history = await tx.ledger.entries(merchant_id=merchant_id, account="cash", limit=10)
    assert (cash.balance, cash.version) == (357, 3) and (sales.balance, sales.version) == (357, 3)
    assert [(h.balance_before, h.balance_after, h.account_version) for h in history] == [
        (350, 357, 3), (100, 350, 2), (0, 100, 1)]


async def test_a_non_negative_account_refuses_to_go_below_zero(uow: SqlUnitOfWorkFactory, database: Database,
                                                               merchant_id: int) -> None:
    async with uow() as tx:
        with pytest.raises(Conflict):
            await tx.ledger.book(entry=transfer(
                merchant_id=merchant_id, kind="spend", ref="w1", debit=WALLET, credit=SALES, amount=1), at=NOW)
    async with uow() as tx:
        await tx.ledger.open_account(merchant_id=merchant_id, spec=WALLET, at=NOW)
        await tx.commit()
    with pytest.raises(DBAPIError):
        async with database.write.begin() as conn:
            await conn.execute(sa.update(ledger_accounts).where(ledger_accounts.c.code == "wallet").values(balance=-1))
