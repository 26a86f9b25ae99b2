"""The ledger's invariants, read straight from the tables after any step."""
from __future__ import annotations

import sqlalchemy as sa

from payhub.cards.adapters.db.tables import card_transactions
from payhub.kernel.adapters.db.engine import Database
from payhub.kernel.adapters.db.tables import journal_entries, journal_legs, ledger_accounts
from payhub.kernel.domain.ledger import NormalSide, balance_change

TX_KINDS = ("card_recharge", "card_consume", "card_refund", "card_transfer")  # one card transaction row each


async def check_ledger(database: Database) -> dict[str, int]:
    """Assert: entries sum to zero; balance = sum of legs; version = number of legs; legs chain; no card below zero;
    no external number booked twice. Returns the balances by account code."""
    async with database.read.connect() as conn:
        unbalanced = (await conn.execute(
            sa.select(journal_legs.c.entry_id).group_by(journal_legs.c.entry_id)
            .having(sa.or_(sa.func.sum(journal_legs.c.amount) != 0, sa.func.count() < 2)))).all()
        assert not unbalanced, f"unbalanced entries {unbalanced}"
        accounts = {r.id: r for r in await conn.execute(sa.select(ledger_accounts))}
        legs: dict[int, list] = {account_id: [] for account_id in accounts}
        for leg in await conn.execute(sa.select(journal_legs).order_by(journal_legs.c.account_id,
                                                                      journal_legs.c.account_version)):
            legs[leg.account_id].append(leg)
        for account_id, account in accounts.items():
            side = NormalSide(account.normal_side)
            total = sum(balance_change(normal_side=side, leg_amount=leg.amount) for leg in legs[account_id])
            assert account.balance == total, f"{account.code}: balance {account.balance} != sum of legs {total}"
            assert account.version == len(legs[account_id]), f"{account.code}: version != number of legs"
            running = 0
            for n, leg in enumerate(legs[account_id], start=1):
                assert leg.account_version == n and leg.balance_before == running
                running = leg.balance_after
            if account.code.startswith("card:"):
                assert account.balance >= 0, f"{account.code} below zero"
        t = card_transactions.c
        doubles = (await conn.execute(
            sa.select(t.card_merchant_id, t.kind, t.out_no).group_by(t.card_merchant_id, t.kind, t.out_no)
            .having(sa.func.count() > 1))).all()
        assert not doubles, f"external numbers booked twice: {doubles}"
        txs = (await conn.execute(sa.select(sa.func.count()).select_from(card_transactions))).scalar_one()
        entries = (await conn.execute(sa.select(sa.func.count()).select_from(journal_entries)
                                      .where(journal_entries.c.kind.in_(TX_KINDS)))).scalar_one()
        assert txs == entries, f"{txs} card transactions but {entries} card journal entries"
        return {account.code: account.balance for account in accounts.values()}
