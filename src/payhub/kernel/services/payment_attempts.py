"""Pay requests this process is still talking to the channel about, so that a retry racing one can wait for its
answer. Only a shortcut: a retry reaching another process answers "in progress" until the attempt must be over."""
from __future__ import annotations

import asyncio


class PaymentAttempts:
    """Order numbers whose first pay request runs here, each with an event set once that request has its answer."""

    def __init__(self) -> None:
        self._running: dict[str, asyncio.Event] = {}

    def begin(self, order_no: str) -> None:
        """The order's first pay request runs here (call it once the guarded save that started the payment won)."""
        self._running[order_no] = asyncio.Event()

    def end(self, order_no: str) -> None:
        """The order's first pay request has its answer (or failed): wake the retries waiting for it."""
        done = self._running.pop(order_no, None)
        if done is not None:
            done.set()

    async def wait(self, order_no: str, *, timeout: float) -> None:
        """Until the order's pay request running here, if any, has its answer; at most timeout seconds."""
        done = self._running.get(order_no)
        if done is None:
            return
        try:
            await asyncio.wait_for(done.wait(), timeout=timeout)
        except TimeoutError:
            pass
