"""The worker side of the outbox: claim due jobs, run each with its handler, record the outcome, park the hopeless."""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection
from datetime import timedelta
from typing import Any

from payhub.kernel.domain.errors import Contention, StaleState
from payhub.kernel.domain.jobs import Done, Job, JobKind, JobOutcome, Retry, RunAgain
from payhub.kernel.domain.orders import OrderState
from payhub.kernel.ports import JobWakeups
from payhub.kernel.services.auth import forget_expired
from payhub.kernel.services.context import Hub
from payhub.kernel.services.job_handlers import JobHandler
from payhub.kernel.services.order_expiry import expire_unpaid_orders
from payhub.kernel.services.payment_jobs import close_payment, poll_payment, reverse_payment
from payhub.kernel.services.fulfilment import fulfil
from payhub.kernel.services.refunds import park_refund, refund_at_channel, undo_fulfilment

log = logging.getLogger(__name__)
FORGET_EVERY = timedelta(minutes=5)
EXPIRE_EVERY = timedelta(seconds=30)  # an order is refused once expired (ORDER_EXPIRED); closing it can lag a little
EXPIRE_BATCH = 200
JOBS_AT_ONCE = 16  # running at once in one worker: each mostly waits on a far system or the database

async def park_order(*, hub: Hub, job: Job, error: str) -> None:
    async with hub.uow() as uow:
        order = await uow.orders.get(order_no=job.ref)
        if order is None or not order.can_move(OrderState.MANUAL):
            return
        order.to_manual(reason=f"{job.kind} 重试次数已用完（retries exhausted）：{error}", at=hub.clock.now(), actor="worker")
        await uow.orders.save(order)
        await uow.commit()
    hub.signals.publish(job.ref)


def kernel_jobs() -> list[JobHandler]:
    """The kernel's own jobs: settling payments, fulfilling orders, refunds."""
    return [
        JobHandler(JobKind.POLL_PAYMENT, poll_payment),
        JobHandler(JobKind.CLOSE_PAYMENT, close_payment),
        JobHandler(JobKind.REVERSE_PAYMENT, reverse_payment),
        JobHandler(JobKind.FULFIL, fulfil),
        JobHandler(JobKind.UNDO_FULFILMENT, undo_fulfilment, park=park_refund),
        JobHandler(JobKind.REFUND, refund_at_channel, park=park_refund),
    ]


async def run_job(*, hub: Hub, job: Job) -> JobOutcome:
    """Run one claimed job and record its outcome; handler errors become retries, never crashes."""
    try:
        outcome = await hub.jobs.of(job.kind).run(hub=hub, job=job)
    except StaleState:
        outcome = RunAgain(at=hub.clock.now())
    except Contention as error:  # the database broke a deadlock or a conflict: not a bug, the retry will do
        log.warning("job met contention", extra={"job_kind": job.kind, "order_no": job.ref})
        outcome = Retry(f"{type(error).__name__}: {error}")
    except Exception as error:  # noqa: BLE001 - one job's bug must not stop the worker
        log.exception("job failed", extra={"job_kind": job.kind, "order_no": job.ref})
        outcome = Retry(f"{type(error).__name__}: {error}")
    if isinstance(outcome, Done) and outcome.recorded:
        return outcome
    async with hub.uow(autocommit=True) as uow:  # one statement: no transaction around it
        owned = await uow.jobs.finish(job=job, outcome=outcome, now=hub.clock.now())
        await uow.commit()
    if owned and isinstance(outcome, Retry) and job.attempts >= job.max_attempts:
        log.error("job parked", extra={"job_kind": job.kind, "order_no": job.ref, "error": outcome.error})
        await (hub.jobs.of(job.kind).park or park_order)(hub=hub, job=job, error=outcome.error)
    return outcome


async def claim_due_jobs(*, hub: Hub, limit: int) -> list[Job]:
    """Claim up to limit jobs that are due now, each leased to this worker."""
    now = hub.clock.now()
    async with hub.uow(autocommit=True) as uow:  # one statement: no transaction around it
        jobs = await uow.jobs.claim(now=now, lease_until=now + timedelta(seconds=hub.policy.job_lease_seconds), limit=limit)
        await uow.commit()
    return jobs


async def run_due_jobs(*, hub: Hub, limit: int = JOBS_AT_ONCE) -> int:
    """Claim and run the jobs that are due now, concurrently; returns how many ran."""
    jobs = await claim_due_jobs(hub=hub, limit=limit)
    await asyncio.gather(*(run_job(hub=hub, job=job) for job in jobs))
    return len(jobs)


async def _forget_expired(*, hub: Hub) -> None:
    try:
        await forget_expired(hub=hub)
    except Exception:  # noqa: BLE001 - housekeeping can wait for the next round
        log.exception("forgetting expired nonces and sign-in counters failed")


async def _expire_unpaid(*, hub: Hub) -> bool:
    """One batch of the sweep; True if it was full (more are waiting)."""
    try:
        return await expire_unpaid_orders(hub=hub, limit=EXPIRE_BATCH) >= EXPIRE_BATCH
    except Exception:  # noqa: BLE001 - the next sweep closes them
        log.exception("closing expired unpaid orders failed")
        return False


async def _rest(*, stop: asyncio.Event, seconds: float, wakeups: JobWakeups | None,
                until_one_of: Collection[asyncio.Task[JobOutcome]] = ()) -> None:
    """Until stop is set, a job is announced (with wakeups), one of the given jobs ends or seconds have passed."""
    waits: list[asyncio.Future[Any]] = [asyncio.ensure_future(stop.wait())]
    if wakeups is not None:
        waits.append(asyncio.ensure_future(wakeups.wait_for_jobs(timeout=seconds)))
    try:
        await asyncio.wait([*waits, *until_one_of], timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiting in waits:
            waiting.cancel()


async def _claim_into(running: set[asyncio.Task[JobOutcome]], *, hub: Hub) -> bool:
    """Start the due jobs that fit beside the running ones; True if as many were due as fitted (more may be)."""
    room = JOBS_AT_ONCE - len(running)
    try:
        jobs = await claim_due_jobs(hub=hub, limit=room)
    except Exception:  # noqa: BLE001 - the database may be away for a moment; keep trying
        log.exception("claiming jobs failed")
        return False
    for job in jobs:
        task = asyncio.create_task(run_job(hub=hub, job=job), name=f"job {job.kind} {job.ref}")
        running.add(task)
        task.add_done_callback(running.discard)
    return len(jobs) == room


async def work_forever(
    *, hub: Hub, idle_seconds: float, stop: asyncio.Event, wakeups: JobWakeups | None = None,
) -> None:
    """The worker loop: run due jobs until stop is set, resting when there is nothing to do (woken early by
    wakeups when given); now and then close the orders nobody paid in time and forget the nonces and sign-in
    counters that can no longer matter. A job starts as soon as it is due and there is room beside the running
    ones: it never waits for a slower job claimed before it. On stop the running jobs are finished."""
    forget_at = expire_at = hub.clock.now()
    running: set[asyncio.Task[JobOutcome]] = set()
    try:
        while not stop.is_set():
            if hub.clock.now() >= forget_at:
                await _forget_expired(hub=hub)
                forget_at = hub.clock.now() + FORGET_EVERY
            more_expired = False
            if hub.clock.now() >= expire_at:
                more_expired = await _expire_unpaid(hub=hub)  # a full batch: sweep on at once, without resting
                if not more_expired:
                    expire_at = hub.clock.now() + EXPIRE_EVERY
            full = len(running) >= JOBS_AT_ONCE or await _claim_into(running, hub=hub)
            if more_expired and not full:
                continue
            await _rest(stop=stop, seconds=idle_seconds, wakeups=wakeups, until_one_of=running if full else ())
    finally:
        await asyncio.gather(*running)
