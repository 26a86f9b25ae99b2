"""Long-polling an order: look, then sleep until its signal (or a second passes) and look again."""
from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from payhub.kernel.services.context import Hub

Seen = TypeVar("Seen")

# how long a change to a state the hub moves on from by itself (MOVING_ON_STATES) waits for the next one, so that
# paid -> fulfilling -> fulfilled usually reaches a waiter as one answer instead of three
SETTLE_SECONDS = 0.25


async def until_changed(*, hub: Hub, order_no: str, seen_version: int, timeout: float,
                        look: Callable[[], Awaitable[Seen]], version: Callable[[Seen], int],
                        moving_on: Callable[[Seen], bool]) -> Seen:
    """What look() returns once its version differs from seen_version, or when timeout seconds have passed.

    The order's signals are watched from before the first look, so a change committed while looking still wakes
    this waiter at once; without any signal it looks again every second. A change to a state the hub moves on from
    by itself (moving_on) is answered once the next change comes, or SETTLE_SECONDS after it if none does; a signal
    that says no more than such a change (OrderWatch.moving_on_at) is waited past without looking."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    settle_until: float | None = None

    def settling(now: float) -> float:  # the first change seen: the settle time runs from here, within the timeout
        nonlocal settle_until
        if settle_until is None:
            settle_until = min(now + SETTLE_SECONDS, max(deadline, now))
        return settle_until

    with hub.signals.watch(order_no) as signals:
        seen = await look()
        while True:
            now = loop.time()
            if version(seen) != seen_version:
                if not moving_on(seen):
                    return seen
                until = settling(now)
                if now >= until or not await signals.next_signal(timeout=until - now):
                    return seen
            elif now >= deadline:
                return seen
            elif not await signals.next_signal(timeout=min(deadline - now, 1.0)):
                seen = await look()
                continue
            while (signals.moving_on_at or 0) > version(seen):  # moved on past what was seen, and moving on still
                now = loop.time()
                until = settling(now)
                if now >= until or not await signals.next_signal(timeout=until - now):
                    break  # settled without a further signal: the look below is the answer
            seen = await look()
