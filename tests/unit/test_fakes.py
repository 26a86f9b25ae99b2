"""The fakes keep the promises of the ports the services rely on: rollback without commit, guarded updates."""
from __future__ import annotations

from dataclasses import replace

import pytest

from payhub.kernel.domain.errors import Conflict, StaleState
from payhub.kernel.domain.jobs import JobKind
from payhub.kernel.domain.orders import OrderState

from .world import START, World, placed_order


async def test_a_unit_of_work_left_without_commit_keeps_none_of_its_writes(world: World):
    order = await placed_order(world)
    before = world.order(order.order_no)

    async with world.hub.uow() as uow:
        fresh = await uow.orders.get(order_no=order.order_no)
        fresh.cancel_unpaid(reason="test", at=START, actor="test")
        await uow.orders.save(fresh)
        await uow.jobs.enqueue(merchant_id=1, kind=JobKind.REFUND, ref="R", run_at=START)

    assert world.order(order.order_no) == before
    assert world.job(JobKind.REFUND, "R") is None
    assert world.history(order.order_no) == []


async def test_save_refuses_an_order_that_someone_else_moved_first(world: World):
    order = await placed_order(world)
    async with world.hub.uow(read_only=True) as uow:
        mine = await uow.orders.get(order_no=order.order_no)
        theirs = await uow.orders.get(order_no=order.order_no)
    async with world.hub.uow() as uow:
        theirs.cancel_unpaid(reason="first", at=START, actor="them")
        await uow.orders.save(theirs)
        await uow.commit()

    async with world.hub.uow() as uow:
        mine.cancel_unpaid(reason="second", at=START, actor="me")
        with pytest.raises(StaleState):
            await uow.orders.save(mine)

    assert world.order(order.order_no).version == 1
    assert [t.actor for t in world.history(order.order_no)] == ["them"]


async def test_a_read_only_unit_of_work_refuses_writes(world: World):
    async with world.hub.uow(read_only=True) as uow:
        with pytest.raises(AssertionError):
            await uow.jobs.enqueue(merchant_id=1, kind=JobKind.REFUND, ref="R", run_at=START)


async def test_a_second_order_with_the_same_terminal_order_no_is_a_duplicate(world: World):
    order = await placed_order(world)
    copy = replace(world.order(order.order_no), order_no="PH-other", id=None)

    async with world.hub.uow() as uow:
        with pytest.raises(Conflict):
            await uow.orders.add(copy)
    assert world.order(order.order_no).state is OrderState.CREATED

