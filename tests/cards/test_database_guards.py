"""The database itself refuses what the card services never write: unbalanced card entries, overdrawn cards,
refunds beyond a consume, a second booking of one external order no."""
from __future__ import annotations

import uuid
from datetime import date

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from payhub.cards.adapters.db.tables import card_transactions
from payhub.kernel.adapters.db.tables import journal_entries, journal_legs, ledger_accounts
from payhub.cards.domain.money import Funding, TxChannel
from payhub.cards.services import money as card_money
from tests.cards.conftest import START, CardWorld


async def _funded(world: CardWorld) -> tuple[str, dict]:
    card = await world.open_card(1)
    await card_money.recharge(hub=world.hub, merchant_id=world.merchant_id, merchant_code="SHOP1", card_no=card,
                              out_trade_no="R", amount=100, funding=Funding.CASH, channel=TxChannel.OFFLINE)
    c = await card_money.consume(hub=world.hub, merchant_id=world.merchant_id, merchant_code="SHOP1", card_no=card,
                                 out_trade_no="O", amount=60, channel=TxChannel.OFFLINE, pay_password=None)
    async with world.container.database.read.connect() as conn:
        ids = dict(list(await conn.execute(sa.select(ledger_accounts.c.code, ledger_accounts.c.id))))
    return card, {"card": ids[f"card:{card}"], "tx": c.tx_no}


async def test_an_unbalanced_card_entry_is_refused(world: CardWorld) -> None:
    card, ids = await _funded(world)
    entry_id = uuid.uuid4().hex
    with pytest.raises(DBAPIError, match="unbalanced"):
        async with world.container.database.write.begin() as conn:
            await conn.execute(sa.insert(journal_legs).values(
                merchant_id=world.merchant_id, entry_id=entry_id, account_id=ids["card"], amount=-5,
                balance_before=40, balance_after=45, account_version=99))
            await conn.execute(sa.insert(journal_entries).values(
                id=entry_id, merchant_id=world.merchant_id, kind="card_recharge", ref="forged", memo="", created_at=START))


async def test_a_card_balance_below_zero_and_refunds_beyond_the_consume_are_refused(world: CardWorld) -> None:
    card, ids = await _funded(world)
    with pytest.raises(DBAPIError):
        async with world.container.database.write.begin() as conn:
            await conn.execute(sa.update(ledger_accounts).where(ledger_accounts.c.id == ids["card"]).values(balance=-1))
    with pytest.raises(DBAPIError):
        async with world.container.database.write.begin() as conn:
            await conn.execute(sa.update(card_transactions).where(card_transactions.c.tx_no == ids["tx"])
                               .values(refunded=61))


async def test_one_external_order_no_is_booked_once(world: CardWorld) -> None:
    card, ids = await _funded(world)
    async with world.container.database.read.connect() as conn:
        row = dict((await conn.execute(sa.select(card_transactions).where(card_transactions.c.tx_no == ids["tx"]))).one()._mapping)
    row.pop("id")
    with pytest.raises(DBAPIError):
        async with world.container.database.write.begin() as conn:
            await conn.execute(sa.insert(card_transactions).values(**row | {"tx_no": "CTcopy", "business_date": date(2026, 11, 2)}))
