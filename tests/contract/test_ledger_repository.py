"""The LedgerRepository contract: the same cases against the in-memory fake and the SQL ledger on SQLite and
PostgreSQL, so that the fake the unit tests rely on answers exactly as the database does."""
from __future__ import annotations

import asyncio
from dataclasses import dataclass

import pytest

from payhub.kernel.domain.errors import Conflict, InvalidInput, NotFound
from payhub.kernel.domain.ledger import AccountSpec, JournalEntry, LedgerAccount, Leg, NormalSide, transfer
from payhub.kernel.domain.ledger_batch import Postings
from payhub.kernel.ports import UnitOfWorkFactory
from tests.contract.stores import NOW

CASH = AccountSpec("cash", "现金", NormalSide.DEBIT)
SALES = AccountSpec("sales", "收入", NormalSide.CREDIT)
FEES = AccountSpec("fees", "手续费", NormalSide.CREDIT)
WALLET = AccountSpec("wallet", "钱包", NormalSide.CREDIT, non_negative=True)


@dataclass
class LedgerUnderTest:
    """A unit-of-work factory whose ledger is under test, and a merchant to book for."""

    uow: UnitOfWorkFactory
    merchant_id: int

    def sale(self, ref: str, amount: int, *, debit: AccountSpec = CASH, credit: AccountSpec = SALES) -> JournalEntry:
        return transfer(merchant_id=self.merchant_id, kind="sale", ref=ref, debit=debit, credit=credit, amount=amount)

    async def balances(self) -> dict[str, tuple[int, int]]:
        """(balance, version) of every account, by code."""
        async with self.uow(read_only=True) as tx:
            return {row.code: (row.balance, row.version) for row in await tx.ledger.accounts(
                merchant_id=self.merchant_id)}


@pytest.fixture
async def ledger(store: UnitOfWorkFactory) -> LedgerUnderTest:
    async with store() as tx:
        merchant = await tx.tenancy.add_merchant(code="M1", name="商户", channel="fakepay", biller="fakebill", at=NOW)
        await tx.commit()
    return LedgerUnderTest(store, merchant.id)


async def test_accounts_open_once_at_zero(ledger: LedgerUnderTest) -> None:
    async with ledger.uow() as tx:
        for spec in (SALES, CASH, SALES):
            await tx.ledger.open_account(merchant_id=ledger.merchant_id, spec=spec, at=NOW)
        cash_id = await tx.ledger.account_id(merchant_id=ledger.merchant_id, spec=CASH, at=NOW)
        await tx.commit()
    async with ledger.uow(read_only=True) as tx:
        rows = await tx.ledger.accounts(merchant_id=ledger.merchant_id)
        cash = await tx.ledger.balance(merchant_id=ledger.merchant_id, account="cash")
        with pytest.raises(NotFound):
            await tx.ledger.balance(merchant_id=ledger.merchant_id, account="nowhere")
    assert [row.code for row in rows] == ["cash", "sales"] and rows[0] == cash
    assert cash == LedgerAccount(cash_id, ledger.merchant_id, "cash", "现金", "debit", False, 0, 0, NOW)


async def test_booking_moves_balances_in_their_normal_side_once_per_ref(ledger: LedgerUnderTest) -> None:
    async with ledger.uow() as tx:
        assert await tx.ledger.book(entry=ledger.sale("s1", 100), at=NOW)
        assert await tx.ledger.book(entry=ledger.sale("s2", 250), at=NOW)
        assert not await tx.ledger.book(entry=ledger.sale("s1", 100), at=NOW)
        await tx.commit()
    async with ledger.uow() as tx:
        assert not await tx.ledger.book(entry=ledger.sale("s2", 999), at=NOW)
        await tx.commit()
    assert await ledger.balances() == {"cash": (350, 2), "sales": (350, 2)}


async def test_an_entry_whose_legs_do_not_balance_cannot_be_made() -> None:
    with pytest.raises(InvalidInput):
        JournalEntry(1, "sale", "x", (Leg(CASH, 100), Leg(SALES, -99)))
    with pytest.raises(InvalidInput):
        JournalEntry(1, "sale", "x", (Leg(CASH, 100),))


async def test_a_non_negative_account_refuses_and_nothing_is_written(ledger: LedgerUnderTest) -> None:
    async with ledger.uow() as tx:
        await tx.ledger.book(entry=ledger.sale("in", 50, debit=CASH, credit=WALLET), at=NOW)
        await tx.commit()
    for write in ("book", "post"):
        async with ledger.uow() as tx:
            with pytest.raises(Conflict) as refused:
                await getattr(tx.ledger, write)(entry=ledger.sale(f"out-{write}", 51, debit=WALLET, credit=CASH), at=NOW)
            assert refused.value.code == "INSUFFICIENT_BALANCE"
            await tx.commit()
    assert await ledger.balances() == {"cash": (50, 1), "wallet": (50, 1)}
    async with ledger.uow(read_only=True) as tx:
        assert len(await tx.ledger.entries(merchant_id=ledger.merchant_id, account="wallet", limit=10)) == 1


async def test_post_answers_the_new_balances(ledger: LedgerUnderTest) -> None:
    entry = JournalEntry(ledger.merchant_id, "sale", "p1", (Leg(CASH, 100), Leg(SALES, -90), Leg(FEES, -10)))
    async with ledger.uow() as tx:
        assert await tx.ledger.post(entry=entry, at=NOW) == {"cash": 100, "sales": 90, "fees": 10}
        assert await tx.ledger.post(entry=ledger.sale("p2", 5), at=NOW) == {"cash": 105, "sales": 95}
        await tx.commit()
    assert await ledger.balances() == {"cash": (105, 2), "fees": (10, 1), "sales": (95, 2)}


async def test_entries_carry_balances_and_versions_newest_first(ledger: LedgerUnderTest) -> None:
    async with ledger.uow() as tx:
        for n, amount in enumerate((100, 250, 7)):
            await tx.ledger.book(entry=ledger.sale(f"s{n}", amount), at=NOW)
        await tx.commit()
    async with ledger.uow(read_only=True) as tx:
        history = await tx.ledger.entries(merchant_id=ledger.merchant_id, account="cash", limit=2)
        sales = await tx.ledger.entries(merchant_id=ledger.merchant_id, account="sales", limit=10)
    assert [(h.kind, h.ref, h.memo, h.created_at, h.amount, h.balance_before, h.balance_after, h.account_version)
            for h in history] == [("sale", "s2", "", NOW, 7, 350, 357, 3), ("sale", "s1", "", NOW, 250, 100, 350, 2)]
    assert [(h.amount, h.balance_after) for h in sales] == [(-7, 357), (-250, 350), (-100, 100)]
    assert len({h.entry_id for h in sales}) == 3 and history[0].entry_id == sales[0].entry_id


async def test_a_batch_applies_entries_in_order_and_refuses_each_on_its_own(ledger: LedgerUnderTest) -> None:
    async with ledger.uow() as tx:
        await tx.ledger.book(entry=ledger.sale("in", 100, debit=CASH, credit=WALLET), at=NOW)
        await tx.commit()
    outs = [ledger.sale(f"out{n}", amount, debit=WALLET, credit=SALES) for n, amount in enumerate((60, 50, 40))]
    async with ledger.uow() as tx:
        postings = Postings(await tx.ledger.lock_accounts(merchant_id=ledger.merchant_id, specs={WALLET, SALES}, at=NOW))
        answers: list[dict[str, int] | str] = []
        for entry in outs:
            try:
                answers.append(postings.apply(entry))
            except Conflict as refused:
                answers.append(refused.code)
        await tx.ledger.write_postings(postings=postings, at=NOW)
        await tx.commit()
    assert answers == [{"wallet": 40, "sales": 60}, "INSUFFICIENT_BALANCE", {"wallet": 0, "sales": 100}]
    assert await ledger.balances() == {"cash": (100, 1), "sales": (100, 2), "wallet": (0, 3)}
    async with ledger.uow(read_only=True) as tx:
        wallet = await tx.ledger.entries(merchant_id=ledger.merchant_id, account="wallet", limit=10)
    assert [(h.ref, h.balance_before, h.balance_after, h.account_version) for h in wallet] == [
        ("out2", 40, 0, 3), ("out0", 100, 40, 2), ("in", 0, 100, 1)]


async def test_an_empty_batch_writes_nothing(ledger: LedgerUnderTest) -> None:
    async with ledger.uow() as tx:
        postings = Postings(await tx.ledger.lock_accounts(merchant_id=ledger.merchant_id, specs={CASH}, at=NOW))
        await tx.ledger.write_postings(postings=postings, at=NOW)
        await tx.commit()
    assert await ledger.balances() == {"cash": (0, 0)}


async def test_nothing_stays_without_a_commit(ledger: LedgerUnderTest) -> None:
    async with ledger.uow() as tx:
        await tx.ledger.book(entry=ledger.sale("s1", 100), at=NOW)
    async with ledger.uow() as tx:
        assert await tx.ledger.book(entry=ledger.sale("s1", 100), at=NOW)
        await tx.commit()
    assert await ledger.balances() == {"cash": (100, 1), "sales": (100, 1)}



@pytest.mark.parametrize("store", ["postgresql"], indirect=True)
async def test_a_posting_meeting_an_account_another_transaction_is_opening_waits_without_holding_locks(
        ledger: LedgerUnderTest) -> None:
    async with ledger.uow() as tx:  # sales is open, and this process knows its id
        await tx.ledger.lock_accounts(merchant_id=ledger.merchant_id, specs={SALES}, at=NOW)
        await tx.commit()
    opened = asyncio.Event()

    async def opening_cash_then_locking_sales() -> None:
        async with ledger.uow() as tx:
            await tx.ledger.lock_accounts(merchant_id=ledger.merchant_id, specs={CASH}, at=NOW)
            opened.set()
            await asyncio.sleep(0.3)  # the sale below waits for this transaction's new cash account meanwhile
            await tx.ledger.lock_accounts(merchant_id=ledger.merchant_id, specs={SALES}, at=NOW)
            await tx.commit()

    async def selling() -> None:
        await opened.wait()
        async with ledger.uow() as tx:
            await tx.ledger.post(entry=ledger.sale("s1", 100), at=NOW)
            await tx.commit()

    await asyncio.wait_for(asyncio.gather(opening_cash_then_locking_sales(), selling()), timeout=10)
    assert await ledger.balances() == {"cash": (100, 1), "sales": (100, 1)}
