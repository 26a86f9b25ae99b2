"""A signed request's nonce, stored in the same transaction as the request's first write.

A request that writes pays no transaction of its own for its nonce: the unit of work that commits first while the
request is being served inserts the nonce before its COMMIT, so a replay sent to another process fails on the
database's unique key and rolls back whatever it was about to write. A request that commits nothing has its nonce
stored on its own once it is answered; a read stores it at once. Nonces stored on their own are written in groups
(NonceWrites): one autocommit statement for all those that came while the previous one was on its way.
"""
from __future__ import annotations

import asyncio
import contextvars
from contextvars import ContextVar, Token
from dataclasses import dataclass
from datetime import datetime

from payhub.kernel.domain.errors import Unauthorized
from payhub.kernel.domain.tenancy import NonceUse
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


class NonceWrites:
    """Group commit of the nonces stored on their own: those that come while one insert is on its way go together
    in the next (one statement on PostgreSQL), each still refused on its own as a replay."""

    def __init__(self, *, most: int = 256) -> None:
        self._most = most
        self._waiting: list[tuple[PendingNonce, asyncio.Future[bool]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def store(self, *, uow: UnitOfWorkFactory, nonce: PendingNonce) -> None:
        """Store the nonce by itself (with others); Unauthorized on a replay."""
        nonce.storing = True  # so that a commit of the same request does not insert it a second time
        try:
            first = asyncio.get_running_loop().create_future()
            self._waiting.append((nonce, first))
            if self._writer is None or self._writer.done():
                # nobody's request: its own context, so no request's nonce or log fields ride along
                self._writer = asyncio.create_task(self._write(uow), context=contextvars.Context())
            fresh = await first
        finally:
            nonce.storing = False
        nonce.stored = True
        if not fresh:
            raise Unauthorized("REPLAYED_REQUEST")

    async def _write(self, uow: UnitOfWorkFactory) -> None:
        while self._waiting:
            taken, self._waiting = self._waiting[:self._most], self._waiting[self._most:]
            try:
                async with uow(autocommit=True) as unit:
                    fresh = await unit.tenancy.use_nonces(uses=[
                        NonceUse(merchant_id=n.merchant_id, terminal_id=n.terminal_id, nonce=n.nonce, at=n.at)
                        for n, _ in taken])
                    await unit.commit()
            except Exception as error:  # noqa: BLE001 - each waiter gets the failure and answers its request with it
                for _, first in taken:
                    if not first.done():
                        first.set_exception(error)
                continue
            for (_, first), stored in zip(taken, fresh, strict=True):
                if not first.done():
                    first.set_result(stored)

