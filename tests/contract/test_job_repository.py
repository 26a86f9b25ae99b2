"""The JobRepository contract (the outbox), for the fakes and SQL on both engines."""
from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from payhub.kernel.adapters.db.uow import SqlUnitOfWorkFactory
from payhub.kernel.domain.jobs import Done, Job, JobKind, JobState, Retry, RunAgain, backoff
from payhub.kernel.ports import UnitOfWorkFactory
from tests.contract.stores import NOW, add_tenant
from tests.support.statements import listening, one_line

LEASE = timedelta(minutes=1)
POST = JobKind.FULFIL


async def enqueue(store: UnitOfWorkFactory, merchant_id: int, ref: str, *, kind: JobKind = POST,
                  seconds: float = 0) -> None:
    async with store() as uow:
        await uow.jobs.enqueue(merchant_id=merchant_id, kind=kind, ref=ref, run_at=NOW + timedelta(seconds=seconds))
        await uow.commit()


async def claim(store: UnitOfWorkFactory, *, seconds: float = 0, limit: int = 10) -> list[Job]:
    now = NOW + timedelta(seconds=seconds)
    async with store() as uow:
        jobs = await uow.jobs.claim(now=now, lease_until=now + LEASE, limit=limit)
        await uow.commit()
    return jobs


async def finish(store: UnitOfWorkFactory, job: Job, outcome: Done | Retry | RunAgain, *, seconds: float = 0) -> bool:
    async with store() as uow:
        kept = await uow.jobs.finish(job=job, outcome=outcome, now=NOW + timedelta(seconds=seconds))
        await uow.commit()
    return kept


ON_JOBS = re.compile(r'^(WITH \w+ AS \()?(SELECT .*? FROM|INSERT INTO|UPDATE|DELETE FROM) "?jobs\b')


@contextmanager
def statements_on_jobs(store: UnitOfWorkFactory) -> Iterator[list[str]]:
    """The SQL run on the jobs table meanwhile (nothing for the fake store)."""
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if ON_JOBS.match(one_line(statement)):
            seen.append(statement)

    engines = [store.database.write.sync_engine] if isinstance(store, SqlUnitOfWorkFactory) else []
    with listening(engines, record):
        yield seen


async def test_due_jobs_are_claimed_oldest_first_up_to_the_limit(store: UnitOfWorkFactory) -> None:
    merchant_id = (await add_tenant(store)).merchant.id
    await enqueue(store, merchant_id, "B", seconds=-5)
    await enqueue(store, merchant_id, "A", seconds=-10)
    await enqueue(store, merchant_id, "C", seconds=0)
    await enqueue(store, merchant_id, "LATER", seconds=60)

    first = await claim(store, limit=2)
    rest = await claim(store)

    assert [(j.ref, j.attempts, j.kind, j.merchant_id) for j in first] == [("A", 1, POST, merchant_id),
                                                                         ("B", 1, POST, merchant_id)]
    assert first[0].max_attempts == POST.max_attempts and first[0].run_at == NOW - timedelta(seconds=10)
    assert [j.ref for j in rest] == ["C"]
    assert [j.ref for j in await claim(store, seconds=60)] == ["LATER"]


async def test_enqueueing_a_pending_job_again_moves_it_and_keeps_one(store: UnitOfWorkFactory) -> None:
    merchant_id = (await add_tenant(store)).merchant.id
    await enqueue(store, merchant_id, "A", seconds=0)
    await enqueue(store, merchant_id, "A", seconds=30)
    await enqueue(store, merchant_id, "A", kind=JobKind.REFUND, seconds=0)  # another kind: another job

    assert [(j.kind, j.ref) for j in await claim(store)] == [(JobKind.REFUND, "A")]
    assert [(j.kind, j.ref) for j in await claim(store, seconds=30)] == [(POST, "A")]
    async with store(read_only=True) as uow:
        assert await uow.jobs.queue_stats(now=NOW + timedelta(seconds=30)) == (2, 30.0)


async def test_a_claimed_job_is_not_claimed_again_until_its_lease_ends(store: UnitOfWorkFactory) -> None:
    merchant_id = (await add_tenant(store)).merchant.id
    await enqueue(store, merchant_id, "A")
    [job] = await claim(store)

    await enqueue(store, merchant_id, "A", seconds=-30)  # a running job keeps running
    assert await claim(store, seconds=59) == []
    assert await claim(store, seconds=60) == []  # the lease ends after lease_until
    [again] = await claim(store, seconds=61)

    assert again.attempts == 2
    assert not await finish(store, job, Done())  # the first claim lost the job
    assert await finish(store, again, Done(), seconds=62)
    assert await claim(store, seconds=3600) == []


async def test_outcomes_done_run_again_and_retry_with_backoff(store: UnitOfWorkFactory) -> None:
    merchant_id = (await add_tenant(store)).merchant.id
    await enqueue(store, merchant_id, "A")

    [job] = await claim(store)
    assert await finish(store, job, RunAgain(at=NOW + timedelta(seconds=20)))
    assert await claim(store, seconds=19) == []
    [polled] = await claim(store, seconds=20)
    assert polled.attempts == 1  # polling gave its try back

    assert await finish(store, polled, Retry(error="biller down"), seconds=20)
    wait = backoff(attempt=1).total_seconds()
    assert await claim(store, seconds=20 + wait - 1) == []
    [retried] = await claim(store, seconds=20 + wait)
    assert retried.attempts == 2

    assert await finish(store, retried, Done(), seconds=30)
    assert not await finish(store, retried, Done(), seconds=31)
    async with store(read_only=True) as uow:
        assert await uow.jobs.queue_stats(now=NOW + timedelta(hours=1)) == (0, 0.0)
        assert await uow.jobs.parked(limit=10) == []


async def test_the_last_failed_try_parks_the_job_and_enqueueing_opens_it_again(store: UnitOfWorkFactory) -> None:
    merchant_id = (await add_tenant(store)).merchant.id
    kind = JobKind.REVERSE_PAYMENT
    await enqueue(store, merchant_id, "A", kind=kind)
    seconds = 0.0
    for attempt in range(1, kind.max_attempts + 1):
        [job] = await claim(store, seconds=seconds)
        assert job.attempts == attempt
        assert await finish(store, job, Retry(error=f"failure {attempt}"), seconds=seconds)
        seconds += 3600

    assert await claim(store, seconds=seconds + 3600) == []
    async with store(read_only=True) as uow:
        [parked] = await uow.jobs.parked(limit=10)
        assert await uow.jobs.queue_stats(now=NOW) == (0, 0.0)
    assert (parked.merchant_id, parked.kind, parked.ref, parked.state, parked.attempts, parked.max_attempts,
            parked.last_error) == (merchant_id, kind, "A", JobState.PARKED, kind.max_attempts, kind.max_attempts,
                                   f"failure {kind.max_attempts}")

    await enqueue(store, merchant_id, "A", kind=kind, seconds=seconds)
    [reopened] = await claim(store, seconds=seconds)
    assert reopened.attempts == 1


async def test_a_done_job_enqueued_again_runs_again(store: UnitOfWorkFactory) -> None:
    merchant_id = (await add_tenant(store)).merchant.id
    await enqueue(store, merchant_id, "A")
    [job] = await claim(store)
    await finish(store, job, Done())
    await enqueue(store, merchant_id, "A", seconds=10)
    [again] = await claim(store, seconds=10)
    assert (again.attempts, again.run_at) == (1, NOW + timedelta(seconds=10))


async def test_queue_stats_counts_open_jobs_and_the_age_of_the_oldest_due(store: UnitOfWorkFactory) -> None:
    merchant_id = (await add_tenant(store)).merchant.id
    async with store(read_only=True) as uow:
        assert await uow.jobs.queue_stats(now=NOW) == (0, 0.0)
    await enqueue(store, merchant_id, "A", seconds=-90)
    await enqueue(store, merchant_id, "B", seconds=-30)
    await enqueue(store, merchant_id, "C", seconds=600)
    await claim(store, limit=1)  # A runs: still open
    async with store(read_only=True) as uow:
        assert await uow.jobs.queue_stats(now=NOW) == (3, 90.0)


async def test_an_enqueue_without_commit_leaves_no_job(store: UnitOfWorkFactory) -> None:
    merchant_id = (await add_tenant(store)).merchant.id
    async with store() as uow:
        await uow.jobs.enqueue(merchant_id=merchant_id, kind=POST, ref="A", run_at=NOW)
    assert await claim(store) == []


async def test_enqueue_and_claim_are_one_statement_each(store: UnitOfWorkFactory) -> None:
    merchant_id = (await add_tenant(store)).merchant.id
    with statements_on_jobs(store) as first_enqueue:
        await enqueue(store, merchant_id, "A", seconds=-5)
    with statements_on_jobs(store) as enqueue_again:
        await enqueue(store, merchant_id, "A", seconds=-10)
    await enqueue(store, merchant_id, "B")
    with statements_on_jobs(store) as claiming:
        jobs = await claim(store)

    assert [(j.ref, j.attempts, j.run_at) for j in jobs] == [("A", 1, NOW - timedelta(seconds=10)), ("B", 1, NOW)]
    if isinstance(store, SqlUnitOfWorkFactory):
        assert (len(first_enqueue), len(enqueue_again), len(claiming)) == (1, 1, 1)


async def test_dropping_a_pending_job_leaves_nothing_to_claim_and_spares_a_running_one(
        store: UnitOfWorkFactory) -> None:
    merchant_id = (await add_tenant(store)).merchant.id
    await enqueue(store, merchant_id, "PENDING")
    await enqueue(store, merchant_id, "RUNNING", seconds=-1)
    [running] = await claim(store, limit=1)
    async with store() as uow:
        for ref in ("PENDING", "RUNNING", "UNKNOWN"):
            await uow.jobs.drop_pending(kind=POST, ref=ref, now=NOW)
        await uow.commit()

    assert await claim(store, seconds=30) == []  # nothing pending; RUNNING is still leased
    assert await finish(store, running, Done())
    async with store(read_only=True) as uow:
        assert await uow.jobs.queue_stats(now=NOW) == (0, 0.0)
    await enqueue(store, merchant_id, "PENDING", seconds=10)  # a dropped job can be enqueued again
    assert [j.ref for j in await claim(store, seconds=10)] == ["PENDING"]


async def test_handing_over_drops_the_pending_job_and_enqueues_the_next_in_one_statement(
        store: UnitOfWorkFactory) -> None:
    merchant_id = (await add_tenant(store)).merchant.id
    await enqueue(store, merchant_id, "O1", kind=JobKind.POLL_PAYMENT, seconds=5)
    await enqueue(store, merchant_id, "O2", kind=JobKind.POLL_PAYMENT, seconds=5)
    with statements_on_jobs(store) as seen:
        async with store() as uow:
            await uow.jobs.hand_over(merchant_id=merchant_id, ref="O1", dropping=JobKind.POLL_PAYMENT, kind=POST,
                                     run_at=NOW)
            await uow.commit()

    claimed = await claim(store, seconds=10)
    assert [(j.kind, j.ref) for j in claimed] == [(POST.value, "O1"), (JobKind.POLL_PAYMENT.value, "O2")]
    if isinstance(store, SqlUnitOfWorkFactory) and store.database.dialect == "postgresql":
        assert len(seen) == 1, seen
