"""Watching the agent's devices: the current status of each, and a push to every listener when one changes."""
from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator, Sequence

from payhub.kernel.domain.devices import DeviceStatus
from payhub.kernel.ports import Device


class DeviceWatch:
    """Polls every device; listeners get the whole list each time any status differs from the last one."""

    def __init__(self, *, devices: Sequence[Device]) -> None:
        self.devices = list(devices)
        self.last: list[DeviceStatus] = []
        self._listeners: set[asyncio.Queue[list[DeviceStatus]]] = set()

    async def refresh(self) -> list[DeviceStatus]:
        """Ask every device now; tell the listeners if anything changed."""
        current = list(await asyncio.gather(*(device.status() for device in self.devices)))
        if current != self.last:
            self.last = current
            for queue in self._listeners:
                queue.put_nowait(current)
        return current

    @contextlib.contextmanager
    def listen(self) -> Iterator[asyncio.Queue[list[DeviceStatus]]]:
        """A queue that receives the device list on every change, while the `with` lasts."""
        queue: asyncio.Queue[list[DeviceStatus]] = asyncio.Queue()
        self._listeners.add(queue)
        try:
            yield queue
        finally:
            self._listeners.discard(queue)

    async def run(self, *, every_seconds: float, stop: asyncio.Event) -> None:
        """Refresh until stopped."""
        while not stop.is_set():
            await self.refresh()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=every_seconds)
