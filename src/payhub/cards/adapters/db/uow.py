"""The kernel's unit of work with the card repositories bound to its transaction."""
from __future__ import annotations

from payhub.cards.adapters.db.cards_repo import SqlCardRepository
from payhub.cards.adapters.db.money_repo import SqlCardMoneyRepository
from payhub.cards.ports import CardMoneyRepository, CardRepository
from payhub.kernel.adapters.db.uow import SqlUnitOfWork, SqlUnitOfWorkFactory


class SqlCardUnitOfWork(SqlUnitOfWork):
    cards: CardRepository
    card_money: CardMoneyRepository

    async def __aenter__(self) -> SqlCardUnitOfWork:
        await super().__aenter__()
        self.cards = SqlCardRepository(self.connection)
        self.card_money = SqlCardMoneyRepository(self.connection)
        return self


class SqlCardUnitOfWorkFactory(SqlUnitOfWorkFactory):
    def __call__(self, *, read_only: bool = False, autocommit: bool = False) -> SqlCardUnitOfWork:
        return SqlCardUnitOfWork(self.database, read_only=read_only, autocommit=autocommit, wakeups=self.wakeups,
                                 clock=self.clock)
