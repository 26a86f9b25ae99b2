"""A long-poll wakes on the order's signal, also on one that comes while it is still looking at the order; a change
to a state the hub moves on from by itself waits a moment for the next one, without a look when its signal says so."""
from __future__ import annotations

import asyncio
import dataclasses

import pytest

from payhub.kernel.adapters.signals import LocalOrderSignals
from payhub.kernel.services.context import Hub
from payhub.kernel.services.order_waits import SETTLE_SECONDS, until_changed

from .world import World


async def test_a_signal_sent_while_the_waiter_looks_wakes_it_at_once(world: World):
    signals = LocalOrderSignals()
    hub = dataclasses.replace(world.hub, signals=signals)
    versions = iter([1, 2])

    async def look() -> int:
        seen = next(versions)
        if seen == 1:  # the change commits and signals while this first look is on its way back
            signals.publish("P1")
        await asyncio.sleep(0)
        return seen

    loop = asyncio.get_running_loop()
    started = loop.time()
    seen = await until_changed(hub=hub, order_no="P1", seen_version=1, timeout=5, look=look, version=lambda v: v,
                              moving_on=lambda v: False)
    assert seen == 2
    assert loop.time() - started < 0.5  # not the one-second fallback look


async def test_without_a_signal_the_waiter_looks_again_every_second_until_its_timeout(world: World):
    hub = dataclasses.replace(world.hub, signals=LocalOrderSignals())
    looks = 0

    async def look() -> int:
        nonlocal looks
        looks += 1
        return 1

    loop = asyncio.get_running_loop()
    started = loop.time()
    assert await until_changed(hub=hub, order_no="P1", seen_version=1, timeout=1.5, look=look, version=lambda v: v,
                              moving_on=lambda v: False) == 1
    assert 1.4 < loop.time() - started < 2.0 and looks == 3


async def test_a_change_the_hub_moves_on_from_is_answered_with_the_next_change_that_follows_at_once(world: World):
    signals = LocalOrderSignals()
    hub = dataclasses.replace(world.hub, signals=signals)
    states = iter(["paid", "fulfilling", "fulfilled"])
    looks: list[str] = []

    async def look() -> tuple[int, str]:
        state = next(states)
        looks.append(state)
        if state != "fulfilled":  # the worker's next move commits right after this look
            asyncio.get_running_loop().call_later(0.02, signals.publish, "P1")
        return len(looks) + 1, state

    seen = await until_changed(hub=hub, order_no="P1", seen_version=1, timeout=5, look=look,
                               version=lambda v: v[0], moving_on=lambda v: v[1] in ("paid", "fulfilling"))
    assert seen == (4, "fulfilled") and looks == ["paid", "fulfilling", "fulfilled"]


@pytest.mark.parametrize(("timeout", "answered_after"), [(5, SETTLE_SECONDS), (0, 0.0)])
async def test_without_a_next_change_the_moving_on_state_is_answered_after_the_settle_time_within_the_timeout(
        world: World, timeout: float, answered_after: float):
    hub = dataclasses.replace(world.hub, signals=LocalOrderSignals())

    async def look() -> tuple[int, str]:
        return 2, "fulfilling"

    loop = asyncio.get_running_loop()
    started = loop.time()
    seen = await until_changed(hub=hub, order_no="P1", seen_version=1, timeout=timeout, look=look,
                               version=lambda v: v[0], moving_on=lambda v: v[1] == "fulfilling")
    assert seen == (2, "fulfilling")
    assert answered_after - 0.05 < loop.time() - started < answered_after + 0.2


class MovingOrder:
    """An order that moves on by itself: each look sees where it is now."""

    def __init__(self) -> None:
        self.now: tuple[int, str] = (1, "paid")
        self.looks: list[str] = []

    async def look(self) -> tuple[int, str]:
        self.looks.append(self.now[1])
        return self.now


async def _waiting(hub: Hub, order: MovingOrder) -> asyncio.Task[tuple[int, str]]:
    waiter = asyncio.create_task(until_changed(
        hub=hub, order_no="P1", seen_version=1, timeout=5, look=order.look,
        version=lambda v: v[0], moving_on=lambda v: v[1] in ("paid", "fulfilling")))
    await asyncio.sleep(0.01)  # it has looked once and waits
    return waiter


async def test_a_signal_that_the_order_moved_on_by_itself_is_waited_past_without_a_look(world: World):
    signals = LocalOrderSignals()
    order = MovingOrder()
    waiter = await _waiting(dataclasses.replace(world.hub, signals=signals), order)

    order.now = (2, "fulfilling")
    signals.publish("P1", moving_on_at=2)
    await asyncio.sleep(0.05)
    order.now = (3, "fulfilled")
    signals.publish("P1")

    assert await asyncio.wait_for(waiter, timeout=2) == (3, "fulfilled")
    assert order.looks == ["paid", "fulfilled"]


async def test_without_a_next_signal_the_order_is_looked_at_once_the_settle_time_is_over(world: World):
    signals = LocalOrderSignals()
    order = MovingOrder()
    waiter = await _waiting(dataclasses.replace(world.hub, signals=signals), order)
    started = asyncio.get_running_loop().time()

    order.now = (2, "fulfilling")
    signals.publish("P1", moving_on_at=2)

    assert await asyncio.wait_for(waiter, timeout=2) == (2, "fulfilling")
    assert order.looks == ["paid", "fulfilling"]
    assert SETTLE_SECONDS - 0.05 < asyncio.get_running_loop().time() - started < SETTLE_SECONDS + 0.2


async def test_a_plain_signal_taken_with_a_moving_on_one_is_looked_at(world: World):
    signals = LocalOrderSignals()
    order = MovingOrder()
    waiter = await _waiting(dataclasses.replace(world.hub, signals=signals), order)

    order.now = (3, "pay_failed")  # e.g. the payment was refused meanwhile: both signals reach the waiter at once
    signals.publish("P1", moving_on_at=2)
    signals.publish("P1")

    assert await asyncio.wait_for(waiter, timeout=2) == (3, "pay_failed")
    assert order.looks == ["paid", "pay_failed"]
