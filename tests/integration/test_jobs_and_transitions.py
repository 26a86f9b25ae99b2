"""Guarded transitions and job claiming, on the real databases."""
from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
import sqlalchemy as sa

from payhub.kernel.adapters.clock import ManualClock
from payhub.kernel.adapters.db.engine import Database
from payhub.kernel.adapters.db.uow import SqlUnitOfWorkFactory
from payhub.kernel.domain.errors import StaleState
from payhub.counter.domain.fees import FeeType
from payhub.kernel.domain.jobs import Done, JobKind, Retry, RunAgain
from payhub.kernel.domain.orders import Order, OrderState
from tests.integration.conftest import NOW


async def _order(uow: SqlUnitOfWorkFactory, merchant_id: int) -> Order:
    async with uow() as tx:
        terminal = await tx.tenancy.add_terminal(merchant_id=merchant_id, code="T1", name="t", key_sealed="x", at=NOW)
        operator = await tx.tenancy.add_operator(merchant_id=merchant_id, username="op", display_name="op",
                                                 role="operator", password_hash="x", at=NOW)
        order = Order(
            merchant_id=merchant_id, terminal_id=terminal.id, operator_id=operator.id, order_no="PH1",
            terminal_order_no="t1", request_hash="h", kind="biller_posting", product=FeeType.GAS.value, account_no="1",
            customer_name="张*", amount=100, details={"biller": "tcis", "due_amount": 100}, created_at=NOW,
            expires_at=NOW + timedelta(minutes=30),
        )
        await tx.orders.add(order)
        await tx.commit()
    return order


async def test_a_stale_writer_is_refused_and_every_move_is_recorded(uow: SqlUnitOfWorkFactory, merchant_id: int) -> None:
    await _order(uow, merchant_id)
    async with uow(read_only=True) as tx:
        first = await tx.orders.get(order_no="PH1")
        second = await tx.orders.get(order_no="PH1")
    async with uow() as tx:
        first.cancel_unpaid(reason="counter", at=NOW, actor="op")
        await tx.orders.save(first)
        await tx.commit()
    async with uow() as tx:
        second.cancel_unpaid(reason="expired", at=NOW, actor="worker")
        with pytest.raises(StaleState):
            await tx.orders.save(second)
    async with uow(read_only=True) as tx:
        stored = await tx.orders.get(order_no="PH1")
        history = await tx.orders.history(key="PH1")
    assert stored.state is OrderState.CLOSED and stored.version == 1
    assert [(t.from_state, t.to_state, t.reason, t.actor) for t in history] == [("created", "closed", "counter", "op")]


async def test_two_workers_never_claim_the_same_job(uow: SqlUnitOfWorkFactory, merchant_id: int) -> None:
    async with uow() as tx:
        for n in range(40):
            await tx.jobs.enqueue(merchant_id=merchant_id, kind=JobKind.FULFIL, ref=f"PH{n}", run_at=NOW)
        await tx.commit()

    async def worker() -> list[str]:
        taken = []
        while True:
            async with uow() as tx:
                jobs = await tx.jobs.claim(now=NOW, lease_until=NOW + timedelta(seconds=60), limit=3)
                await tx.commit()
            if not jobs:
                return taken
            taken += [job.ref for job in jobs]
            await asyncio.sleep(0)

    first, second = await asyncio.gather(worker(), worker())
    assert not set(first) & set(second)
    assert sorted(first + second) == sorted(f"PH{n}" for n in range(40))


async def test_job_outcomes_and_leases(uow: SqlUnitOfWorkFactory, merchant_id: int) -> None:
    lease = NOW + timedelta(seconds=60)
    async with uow() as tx:
        await tx.jobs.enqueue(merchant_id=merchant_id, kind=JobKind.REFUND, ref="R1", run_at=NOW)
        await tx.commit()
    async with uow() as tx:
        [job] = await tx.jobs.claim(now=NOW, lease_until=lease, limit=5)
        await tx.commit()
    async with uow() as tx:
        assert await tx.jobs.claim(now=NOW, lease_until=lease, limit=5) == []
        [reclaimed] = await tx.jobs.claim(now=lease + timedelta(seconds=1), lease_until=lease + timedelta(minutes=2), limit=5)
        await tx.commit()
    assert reclaimed.attempts == 2
    async with uow() as tx:
        assert not await tx.jobs.finish(job=job, outcome=Done(), now=NOW)  # the first claim lost it
        assert await tx.jobs.finish(job=reclaimed, outcome=Retry("biller down"), now=lease)
        await tx.commit()
    async with uow() as tx:
        assert await tx.jobs.claim(now=lease + timedelta(seconds=5), lease_until=lease, limit=5) == []
        [third] = await tx.jobs.claim(now=lease + timedelta(seconds=11), lease_until=lease + timedelta(minutes=5), limit=5)
        assert await tx.jobs.finish(job=third, outcome=RunAgain(at=lease + timedelta(seconds=20)), now=lease)
        await tx.commit()
    async with uow(read_only=True) as tx:
        [row] = await tx.jobs.for_ref(ref="R1")
    assert row["state"] == "pending" and row["attempts"] == 2 and row["last_error"] == "biller down"


async def test_job_is_parked_after_its_last_try(uow: SqlUnitOfWorkFactory, merchant_id: int) -> None:
    async with uow() as tx:
        await tx.jobs.enqueue(merchant_id=merchant_id, kind=JobKind.CLOSE_PAYMENT, ref="C1", run_at=NOW)
        await tx.commit()
    now = NOW
    for _ in range(12):
        async with uow() as tx:
            [job] = await tx.jobs.claim(now=now, lease_until=now + timedelta(seconds=60), limit=1)
            await tx.jobs.finish(job=job, outcome=Retry("still down"), now=now)
            await tx.commit()
        now += timedelta(hours=2)
    async with uow(read_only=True) as tx:
        parked = await tx.jobs.parked(limit=5)
    assert [(p.ref, p.attempts, p.state) for p in parked] == [("C1", 12, "parked")]


async def test_a_nonce_is_accepted_once(uow: SqlUnitOfWorkFactory, merchant_id: int) -> None:
    async with uow() as tx:
        terminal = await tx.tenancy.add_terminal(merchant_id=merchant_id, code="T9", name="t", key_sealed="x", at=NOW)
        assert await tx.tenancy.use_nonce(merchant_id=merchant_id, terminal_id=terminal.id, nonce="n1", at=NOW)
        assert not await tx.tenancy.use_nonce(merchant_id=merchant_id, terminal_id=terminal.id, nonce="n1", at=NOW)
        await tx.commit()


async def test_a_guarded_move_and_its_record_are_one_statement_on_postgresql(
        uow: SqlUnitOfWorkFactory, merchant_id: int) -> None:
    await _order(uow, merchant_id)
    statements: list[str] = []

    def count(conn: object, cursor: object, statement: str, *args: object) -> None:
        statements.append(statement)

    async with uow() as tx:
        order = await tx.orders.get(order_no="PH1")
        assert order is not None
        order.cancel_unpaid(reason="柜台取消", at=NOW, actor="op")
        engine = uow.database.write.sync_engine
        sa.event.listen(engine, "before_cursor_execute", count)
        try:
            await tx.orders.save(order)
        finally:
            sa.event.remove(engine, "before_cursor_execute", count)
        await tx.commit()

    postgresql = uow.database.dialect == "postgresql"
    assert len(statements) == (1 if postgresql else 2)
    async with uow(read_only=True) as tx:
        history = await tx.orders.history(key="PH1")
        stored = await tx.orders.get(order_no="PH1")
    assert [(t.from_state, t.to_state) for t in history] == [("created", "closed")]
    assert stored is not None and stored.version == 1 and stored.state is OrderState.CLOSED


class CountedWakeups:
    """JobWakeups that count the units of work's calls."""

    def __init__(self) -> None:
        self.calls = 0

    def jobs_due(self) -> None:
        self.calls += 1

    async def wait_for_jobs(self, *, timeout: float) -> None:
        raise AssertionError("no worker runs here")


async def test_a_commit_that_leaves_a_job_due_wakes_the_workers_and_nothing_else_does(
        database: Database, merchant_id: int) -> None:
    wakeups, clock = CountedWakeups(), ManualClock(NOW)
    uow = SqlUnitOfWorkFactory(database, wakeups=wakeups, clock=clock)

    async with uow() as tx:
        await tx.jobs.enqueue(merchant_id=merchant_id, kind=JobKind.REFUND, ref="R1", run_at=NOW + timedelta(minutes=1))
        await tx.jobs.enqueue(merchant_id=merchant_id, kind=JobKind.REFUND, ref="R2", run_at=NOW + timedelta(minutes=2))
        await tx.commit()
    assert wakeups.calls == 0  # planned for later: the poll finds them when due
    async with uow() as tx:
        await tx.jobs.enqueue(merchant_id=merchant_id, kind=JobKind.REFUND, ref="R3", run_at=NOW)
    assert wakeups.calls == 0  # rolled back
    async with uow() as tx:
        await tx.jobs.hand_over(merchant_id=merchant_id, ref="R1", dropping=JobKind.REFUND, kind=JobKind.FULFIL,
                                run_at=NOW + timedelta(seconds=1))
        await tx.jobs.enqueue(merchant_id=merchant_id, kind=JobKind.REFUND, ref="R4", run_at=NOW)
        assert wakeups.calls == 0  # not before the commit: a worker would look for a job that is not there yet
        await tx.commit()
    assert wakeups.calls == 1  # once for the transaction, however many jobs it made due
    clock.advance(minutes=2)
    async with uow() as tx:
        jobs = await tx.jobs.claim(now=clock.now(), lease_until=clock.now() + timedelta(seconds=60), limit=5)
        await tx.commit()
    assert wakeups.calls == 1  # a claim leaves nothing pending
    async with uow() as tx:
        await tx.jobs.finish(job=jobs[0], outcome=RunAgain(at=clock.now() + timedelta(minutes=5)), now=clock.now())
        await tx.commit()
    assert wakeups.calls == 1  # pending again, but not due yet
    async with uow() as tx:
        await tx.jobs.finish(job=jobs[1], outcome=RunAgain(at=clock.now()), now=clock.now())
        await tx.commit()
    assert wakeups.calls == 2  # due again at once
