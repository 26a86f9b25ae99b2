"""A long-poll wakes on the order's signal, also on one that comes while it is still looking at the order."""
from __future__ import annotations

import asyncio
import dataclasses

from payhub.kernel.adapters.signals import LocalOrderSignals
from payhub.kernel.services.order_waits import until_changed

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
    seen = await until_changed(hub=hub, order_no="P1", seen_version=1, timeout=5, look=look, version=lambda v: v)
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
    assert await until_changed(hub=hub, order_no="P1", seen_version=1, timeout=1.5, look=look, version=lambda v: v) == 1
    assert 1.4 < loop.time() - started < 2.0 and looks == 3
