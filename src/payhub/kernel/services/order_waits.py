"""Long-polling an order: look, then sleep until its signal (or a second passes) and look again."""
from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from payhub.kernel.services.context import Hub

Seen = TypeVar("Seen")


async def until_changed(*, hub: Hub, order_no: str, seen_version: int, timeout: float,
                        look: Callable[[], Awaitable[Seen]], version: Callable[[Seen], int]) -> Seen:
    """What look() returns once its version differs from seen_version, or when timeout seconds have passed.

    The order's signals are watched from before the first look, so a change committed while looking still wakes
    this waiter at once; without any signal it looks again every second."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    with hub.signals.watch(order_no) as signals:
        while True:
            seen = await look()
            remaining = deadline - loop.time()
            if version(seen) != seen_version or remaining <= 0:
                return seen
            await signals.next_signal(timeout=min(remaining, 1.0))
