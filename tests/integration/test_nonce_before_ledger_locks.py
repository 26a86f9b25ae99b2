"""A transaction that posts to the ledger writes the request's nonce before it locks the ledger's accounts (the hub-wide
accounts stay locked for fewer round trips), and the nonce is still stored exactly when that transaction commits."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa

from payhub.kernel.adapters.db.tables import terminal_nonces
from payhub.kernel.adapters.db.uow import SqlUnitOfWorkFactory
from payhub.kernel.domain.ledger import AccountSpec, NormalSide, transfer
from payhub.kernel.services import request_nonces
from payhub.kernel.services.request_nonces import PendingNonce
from tests.integration.conftest import NOW
from tests.support.statements import listening, one_line

CASH = AccountSpec("cash", "现金", NormalSide.DEBIT)
SALES = AccountSpec("sales", "收入", NormalSide.CREDIT)


@contextmanager
def serving(nonce: PendingNonce) -> Iterator[None]:
    """As while a signed request with this nonce is served."""
    token = request_nonces.defer(nonce)
    try:
        yield
    finally:
        request_nonces.served(token)


async def _nonce(uow: SqlUnitOfWorkFactory, merchant_id: int) -> PendingNonce:
    async with uow() as tx:
        terminal = await tx.tenancy.add_terminal(merchant_id=merchant_id, code="T1", name="一号柜台", key_sealed="k",
                                                 at=NOW)
        await tx.commit()
    return PendingNonce(merchant_id=merchant_id, terminal_id=terminal.id, nonce="n-1", at=NOW)


async def _stored(uow: SqlUnitOfWorkFactory) -> list[str]:
    async with uow(read_only=True) as tx:
        return list((await tx.connection.scalars(sa.select(terminal_nonces.c.nonce))).all())


async def test_the_nonce_is_written_before_the_ledger_locks_and_stored_by_the_commit(
        uow: SqlUnitOfWorkFactory, merchant_id: int) -> None:
    nonce = await _nonce(uow, merchant_id)
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(one_line(statement))

    with serving(nonce), listening((uow.database.write.sync_engine,), record):
        async with uow() as tx:
            await tx.ledger.post(entry=transfer(merchant_id=merchant_id, kind="sale", ref="s1", debit=CASH,
                                                credit=SALES, amount=100), at=NOW)
            await tx.commit()

    nonce_at = next(i for i, s in enumerate(seen) if s.startswith("INSERT INTO terminal_nonces"))
    lock_at = next(i for i, s in enumerate(seen) if s.startswith("SELECT ledger_accounts.id, ledger_accounts.merchant_id"))
    assert nonce_at < lock_at, seen
    assert nonce.stored and await _stored(uow) == ["n-1"]


async def test_a_nonce_written_by_a_transaction_that_rolled_back_is_stored_by_the_next_commit(
        uow: SqlUnitOfWorkFactory, merchant_id: int) -> None:
    nonce = await _nonce(uow, merchant_id)
    with serving(nonce):
        async with uow() as tx:
            await tx.ledger.lock_accounts(merchant_id=merchant_id, specs={CASH}, at=NOW)
        assert not nonce.stored and await _stored(uow) == []

        async with uow() as tx:
            await tx.commit()
    assert nonce.stored and await _stored(uow) == ["n-1"]
