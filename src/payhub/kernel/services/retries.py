"""Running a unit of work again when it lost a race: a guarded save found the row moved (StaleState), or the
database chose the transaction as a deadlock or serialization victim (Contention)."""
from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from typing import TypeVar

from payhub.kernel.domain.errors import Contention

T = TypeVar("T")
TRIES = 8


async def retrying(attempt: Callable[[], Awaitable[T]], *, on: tuple[type[Exception], ...] = (Contention,),
                   tries: int = TRIES, pause: float = 0.005) -> T:
    """Run attempt until it does not raise one of `on`, at most `tries` times; the last try's error propagates.

    Between tries a random pause of up to `pause` seconds, doubling each time, keeps racers from meeting again.
    """
    for n in range(tries - 1):
        try:
            return await attempt()
        except on:
            if pause:
                await asyncio.sleep(random.uniform(0, pause * 2 ** n))
    return await attempt()
