"""The shape of every job that calls a far system (channel, biller): read what the call is about, call outside
any transaction, then reopen a unit of work, reload, and apply the answer only if nothing moved meanwhile.

A guarded save that loses a race raises StaleState out of the job; the job runner tries the job again."""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TypeVar

from payhub.kernel.domain.jobs import Done, JobOutcome
from payhub.kernel.domain.orders import Order
from payhub.kernel.ports import UnitOfWork
from payhub.kernel.services.context import Hub

T = TypeVar("T")
Loader = Callable[[UnitOfWork], Awaitable[T]]
# writes the answer and returns None (then committed), or returns the job's outcome having written nothing
Apply = Callable[[UnitOfWork, T, datetime], Awaitable[JobOutcome | None]]


async def read(*, hub: Hub, load: Loader[T]) -> T:
    """What load finds, read in a unit of work that is over before the far system is called."""
    async with hub.uow(read_only=True) as uow:
        return await load(uow)


async def apply_answer(*, hub: Hub, reload: Loader[T], apply: Apply[T], signal: str,
                       still: Callable[[T], bool] = lambda _: True) -> JobOutcome:
    """Reload in a new unit of work and, while `still` holds, apply the far system's answer, commit and wake the
    order's watchers (signal: its order no.); Done when the state moved on meanwhile."""
    async with hub.uow() as uow:
        fresh = await reload(uow)
        if not still(fresh):
            return Done()
        outcome = await apply(uow, fresh, hub.clock.now())
        if outcome is not None:
            return outcome
        await uow.commit()
    hub.signals.publish(signal)
    return Done()


async def order_of(uow: UnitOfWork, order_no: str) -> Order:
    """The order a job is about (it exists: jobs are written with their order)."""
    order = await uow.orders.get(order_no=order_no)
    assert order is not None, order_no
    return order
