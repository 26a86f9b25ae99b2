"""A signed request's nonce, stored in the same transaction as the request's first write.

A request that writes pays no transaction of its own for its nonce: the unit of work that commits first while the
request is being served inserts the nonce before its COMMIT, so a replay sent to another process fails on the
database's unique key and rolls back whatever it was about to write. A request that commits nothing has its nonce
stored on its own once it is answered; a read stores it at once. Stored on its own, a nonce costs one autocommit
statement.
"""
from __future__ import annotations

from contextvars import ContextVar, Token
from dataclasses import dataclass
from datetime import datetime

from payhub.kernel.domain.errors import Unauthorized
from payhub.kernel.ports import TenancyRepository, UnitOfWorkFactory


@dataclass
class PendingNonce:
    """A nonce let in by this process and not yet in the database."""

    merchant_id: int
    terminal_id: int
    nonce: str
    at: datetime
    stored: bool = False
    storing: bool = False  # a commit is writing it: another task of the same request leaves it to that commit


_pending: ContextVar[PendingNonce | None] = ContextVar("payhub_pending_nonce", default=None)


def defer(nonce: PendingNonce) -> Token[PendingNonce | None]:
    """Leave the nonce to the first commit of the request served in this context; the token ends that."""
    return _pending.set(nonce)


def served(token: Token[PendingNonce | None]) -> None:
    """The request is over: later commits in this context store no nonce."""
    _pending.reset(token)


def unstored() -> PendingNonce | None:
    """The nonce of the request being served here, if no commit has claimed it yet."""
    pending = _pending.get()
    return pending if pending is not None and not (pending.stored or pending.storing) else None


async def insert(*, tenancy: TenancyRepository, nonce: PendingNonce) -> None:
    """Insert the nonce with the caller's statements; Unauthorized when the database has it already (a replay)."""
    if not await tenancy.use_nonce(merchant_id=nonce.merchant_id, terminal_id=nonce.terminal_id, nonce=nonce.nonce,
                                   at=nonce.at):
        nonce.stored = True  # by the request that used it first
        raise Unauthorized("REPLAYED_REQUEST")


async def store_alone(*, uow: UnitOfWorkFactory, nonce: PendingNonce) -> None:
    """Store the nonce by itself (one autocommit statement on PostgreSQL); Unauthorized on a replay."""
    nonce.storing = True  # so that the commit below does not insert it a second time
    try:
        async with uow(autocommit=True) as unit:
            await insert(tenancy=unit.tenancy, nonce=nonce)
            await unit.commit()
    finally:
        nonce.storing = False
    nonce.stored = True


