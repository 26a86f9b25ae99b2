"""The worker rests until a job is announced (LISTEN/NOTIFY on PostgreSQL) or its poll comes round, whichever first."""
from __future__ import annotations

import asyncio

from payhub.kernel.adapters.signals import LocalJobWakeups
from payhub.kernel.domain.jobs import JobKind
from payhub.kernel.domain.payments import PayStatus
from payhub.kernel.services import outbox

from .world import World, paying_by_code


async def test_an_announced_job_runs_at_once_although_the_poll_is_a_minute_away(world: World):
    order = await paying_by_code(world)
    wakeups, stop = LocalJobWakeups(), asyncio.Event()
    worker = asyncio.create_task(outbox.work_forever(hub=world.hub, idle_seconds=60, stop=stop, wakeups=wakeups))
    await asyncio.sleep(0.05)  # the poll job is not due yet: the worker rests
    assert world.pending(JobKind.POLL_PAYMENT, order.order_no).attempts == 0

    world.clock.advance(seconds=5)
    world.channel.answer("query", PayStatus.PAID)
    wakeups.jobs_due()
    for _ in range(100):
        if world.job(JobKind.POLL_PAYMENT, order.order_no).state == "done":
            break
        await asyncio.sleep(0.01)
    assert world.job(JobKind.POLL_PAYMENT, order.order_no).state == "done"

    stop.set()
    await asyncio.wait_for(worker, timeout=1)  # stop ends the rest too
