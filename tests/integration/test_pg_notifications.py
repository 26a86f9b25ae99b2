"""Order signals and job wake-ups through PostgreSQL LISTEN/NOTIFY, between two processes' worth of listeners."""
from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from payhub.kernel.adapters.clock import SystemClock
from payhub.kernel.adapters.db.engine import open_database
from payhub.kernel.adapters.db.uow import SqlUnitOfWorkFactory
from payhub.kernel.adapters.pg_notifications import PgNotifications, libpq_url
from payhub.kernel.domain.jobs import JobKind
from tests.conftest import migrated_database

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(60)]


@pytest.fixture
def pg_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    yield from migrated_database("postgresql", request=request, tmp_path=tmp_path)


@pytest.fixture
async def two(pg_url: str) -> AsyncIterator[tuple[PgNotifications, PgNotifications]]:
    first, second = PgNotifications(database_url=pg_url), PgNotifications(database_url=pg_url)
    await first.start()
    await second.start()
    yield first, second
    await first.close()
    await second.close()


async def _woken_within(signals: PgNotifications, order_no: str, action: Callable[[], None]) -> float:
    """Seconds from action() until a waiter on order_no in signals returns."""
    with signals.watch(order_no) as watch:
        await watch.next_signal(timeout=0.2)  # the wake-up every (re)connection gives: signals may have been missed
        started = time.monotonic()
        action()
        await watch.next_signal(timeout=5)
    return time.monotonic() - started


async def test_a_signal_published_in_one_process_wakes_a_waiter_in_another(two: tuple[PgNotifications, PgNotifications]):
    first, second = two
    assert await _woken_within(second, "P1", lambda: first.publish("P1")) < 0.1
    assert await _woken_within(first, "P1", lambda: first.publish("P1")) < 0.1  # its own waiters at once


async def test_a_lost_listening_connection_comes_back_and_wakes_its_waiters(
        pg_url: str, two: tuple[PgNotifications, PgNotifications]):
    first, second = two
    with psycopg.connect(libpq_url(pg_url), autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                      "WHERE query LIKE 'LISTEN%%' AND datname = current_database()")
    # the waiters re-read after the reconnection (a signal may have been missed meanwhile)
    with second.watch("P2") as watch:
        await asyncio.wait_for(watch.next_signal(timeout=5), timeout=4)
    await asyncio.sleep(0.2)
    assert await _woken_within(second, "P3", lambda: first.publish("P3")) < 0.1


async def _woken_within_half_a_second(worker: PgNotifications, action: Callable[[], Awaitable[None]]) -> bool:
    """Whether worker's wait for jobs returned within 0.5 s of action()."""
    await worker.wait_for_jobs(timeout=0.01)  # the wake-up every (re)connection gives, or one left from before
    waiting = asyncio.create_task(worker.wait_for_jobs(timeout=2))
    await asyncio.sleep(0.05)
    started = time.monotonic()
    await action()
    await waiting
    return time.monotonic() - started < 0.5


async def test_a_committed_job_that_is_due_wakes_the_workers_of_every_process(
        pg_url: str, two: tuple[PgNotifications, PgNotifications]):
    hub, worker = two
    database = open_database(pg_url)
    uow = SqlUnitOfWorkFactory(database, wakeups=hub, clock=SystemClock())

    async def enqueue(ref: str, *, later: timedelta = timedelta(0), commit: bool = True) -> None:
        async with uow() as tx:
            await tx.jobs.enqueue(merchant_id=1, kind=JobKind.FULFIL, ref=ref, run_at=datetime.now(UTC) + later)
            if commit:
                await tx.commit()

    async def inserted_by_sql() -> None:
        async with await psycopg.AsyncConnection.connect(libpq_url(pg_url), autocommit=True) as conn:
            await conn.execute("INSERT INTO jobs (merchant_id, kind, ref, state, attempts, max_attempts, run_at,"
                               " created_at, updated_at) VALUES (1, 'fulfil', 'J5', 'pending', 0, 5, now(), now(), now())")

    try:
        assert await _woken_within_half_a_second(worker, lambda: enqueue("J1"))
        assert await _woken_within_half_a_second(hub, lambda: enqueue("J2"))  # its own worker too
        assert not await _woken_within_half_a_second(worker, lambda: enqueue("J3", later=timedelta(minutes=1)))
        assert not await _woken_within_half_a_second(worker, lambda: enqueue("J4", commit=False))  # rolled back
        # no NOTIFY inside a writing transaction (its commit would take the notify lock): the poll finds this one
        assert not await _woken_within_half_a_second(worker, inserted_by_sql)
    finally:
        await database.dispose()


async def test_a_moving_on_signal_tells_a_waiter_in_another_process_the_version(
        two: tuple[PgNotifications, PgNotifications]):
    first, second = two
    with second.watch("P4") as watch:
        await watch.next_signal(timeout=0.2)  # the wake-up every (re)connection gives
        first.publish("P4", moving_on_at=7)
        assert await watch.next_signal(timeout=5) and watch.moving_on_at == 7
        first.publish("P4")
        assert await watch.next_signal(timeout=5) and watch.moving_on_at is None
