"""In-process order change signals for long-poll and server-sent events (waiters also re-read the database)."""
from __future__ import annotations

import asyncio
from collections import defaultdict


class LocalOrderSignals:
    def __init__(self) -> None:
        self._events: dict[str, set[asyncio.Event]] = defaultdict(set)

    def publish(self, order_no: str) -> None:
        for event in self._events.get(order_no, ()):
            event.set()

    def publish_all(self) -> None:
        """Wake every waiter (they re-read the database), e.g. after signals from elsewhere may have been missed."""
        for waiters in self._events.values():
            for event in waiters:
                event.set()

    async def wait(self, order_no: str, *, timeout: float) -> None:
        event = asyncio.Event()
        self._events[order_no].add(event)
        try:
            await asyncio.wait_for(event.wait(), timeout=timeout)
        except TimeoutError:
            pass
        finally:
            waiters = self._events.get(order_no)
            if waiters is not None:
                waiters.discard(event)
                if not waiters:
                    del self._events[order_no]
