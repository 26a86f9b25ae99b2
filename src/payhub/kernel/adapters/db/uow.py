"""The unit of work: one transaction on one connection, with every repository bound to it.

A read-only unit of work on PostgreSQL runs each statement on its own (autocommit): under READ COMMITTED each
statement of a transaction sees its own snapshot anyway, so BEGIN…ROLLBACK only cost two round trips. SQLite keeps
its deferred BEGIN, which is what gives several reads one snapshot there. An autocommit unit of work does the same
on the primary, for a lone write that needs no transaction around it.

The first commit while a signed request is served also stores that request's nonce (see
kernel/services/request_nonces.py): the replay of a write fails on the nonce's unique key and writes nothing. A
transaction that posts to the ledger writes the nonce just before it locks the ledger's accounts instead, so that the
hub-wide accounts stay locked for as few round trips as possible.

A commit that left a job pending and due (within a second) tells the job wake-ups, after the commit: workers never
look for a job before it is there, and a rolled back one wakes nobody.
"""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from payhub.kernel.adapters.clock import SystemClock
from payhub.kernel.adapters.db.engine import Database
from payhub.kernel.adapters.db.errors import is_contention
from payhub.kernel.adapters.db.jobs_repo import SqlJobRepository
from payhub.kernel.adapters.db.ledger_repo import SqlLedgerRepository
from payhub.kernel.adapters.db.orders_repo import SqlOrderRepository, SqlRefundRepository
from payhub.kernel.adapters.db.tenancy_repo import SqlTenancyRepository
from payhub.kernel.domain.errors import Contention
from payhub.kernel.ports import (
    Clock, JobRepository, JobWakeups, LedgerRepository, OrderRepository, RefundRepository, TenancyRepository,
)
from payhub.kernel.services import request_nonces


DUE_SOON = timedelta(seconds=1)  # a job planned within the second is woken for: the workers' clocks may differ a little


class SqlUnitOfWork:
    """`async with` opens the transaction; leaving without commit() rolls it back."""

    # typed as the ports, which UnitOfWork's (settable) members must match exactly
    orders: OrderRepository
    refunds: RefundRepository
    jobs: JobRepository
    ledger: LedgerRepository
    tenancy: TenancyRepository

    def __init__(self, database: Database, *, read_only: bool = False, autocommit: bool = False,
                 wakeups: JobWakeups | None = None, clock: Clock | None = None) -> None:
        on_postgres = database.dialect == "postgresql"
        self._engine = database.read if read_only or (autocommit and on_postgres) else database.write
        self._read_only = read_only
        self._wakeups, self._clock = wakeups, clock or SystemClock()
        self._jobs: SqlJobRepository | None = None
        self._conn: AsyncConnection | None = None
        self._nonce: request_nonces.PendingNonce | None = None  # written in this transaction, stored by its commit

    async def __aenter__(self) -> SqlUnitOfWork:
        self._conn = await self._engine.connect()
        await self._conn.begin()
        self.orders = SqlOrderRepository(self._conn)
        self.refunds = SqlRefundRepository(self._conn)
        self.jobs = self._jobs = SqlJobRepository(self._conn)
        self.ledger = SqlLedgerRepository(self._conn, before_locking=self._write_nonce)
        self.tenancy = SqlTenancyRepository(self._conn)
        return self

    @property
    def connection(self) -> AsyncConnection:
        """The open connection, for a feature's unit of work that binds its own repositories to it."""
        assert self._conn is not None
        return self._conn

    async def __aexit__(self, *exc: Any) -> None:
        assert self._conn is not None
        try:
            if self._conn.in_transaction():
                await self._conn.rollback()
        finally:
            if self._nonce is not None:  # rolled back with the transaction: a later commit of the request stores it
                self._nonce.storing, self._nonce = False, None
            await self._conn.close()
        if is_contention(exc[1]):
            raise Contention() from exc[1]

    async def commit(self) -> None:
        assert self._conn is not None
        if self._read_only:
            raise RuntimeError("a read-only unit of work cannot commit")
        await self._write_nonce()
        await self._conn.commit()
        if self._nonce is not None:
            self._nonce.storing, self._nonce.stored, self._nonce = False, True, None
        self._wake_workers()

    def _wake_workers(self) -> None:
        """Tell the job wake-ups if what was committed left a job due now (or within the second)."""
        assert self._jobs is not None
        due, self._jobs.earliest_pending = self._jobs.earliest_pending, None
        if self._wakeups is not None and due is not None and due <= self._clock.now() + DUE_SOON:
            self._wakeups.jobs_due()

    async def _write_nonce(self) -> None:
        """Write the nonce of the request being served, unless a commit claimed it already."""
        nonce = request_nonces.unstored()
        if nonce is None:
            return
        nonce.storing = True
        self._nonce = nonce
        await request_nonces.insert(tenancy=self.tenancy, nonce=nonce)


class SqlUnitOfWorkFactory:
    def __init__(self, database: Database, *, wakeups: JobWakeups | None = None, clock: Clock | None = None) -> None:
        self.database, self.wakeups, self.clock = database, wakeups, clock

    def __call__(self, *, read_only: bool = False, autocommit: bool = False) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.database, read_only=read_only, autocommit=autocommit, wakeups=self.wakeups,
                             clock=self.clock)
