"""In-process signals: order changes for long-poll and server-sent events (waiters also re-read the database), and
job wake-ups for the worker running in this process."""
from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from collections.abc import Iterator


class LocalWatch:
    """One waiter's signals of one order: set by publish, cleared as the waiter takes them."""

    def __init__(self) -> None:
        self.signalled = asyncio.Event()
        self.moving_on_at: int | None = None
        self._highest: int | None = None  # of the moving-on signals since the last take
        self._plain = False               # a plain signal came since the last take

    def signal(self, *, moving_on_at: int | None) -> None:
        if moving_on_at is None:
            self._plain = True
        else:
            self._highest = max(self._highest or 0, moving_on_at)
        self.signalled.set()

    async def next_signal(self, *, timeout: float) -> bool:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.signalled.wait(), timeout=timeout)
        signalled = self.signalled.is_set()
        self.signalled.clear()
        self.moving_on_at = None if self._plain or not signalled else self._highest
        self._highest, self._plain = None, False
        return signalled


class LocalOrderSignals:
    def __init__(self) -> None:
        self._watches: dict[str, set[LocalWatch]] = defaultdict(set)

    def publish(self, order_no: str, *, moving_on_at: int | None = None) -> None:
        for watch in self._watches.get(order_no, ()):
            watch.signal(moving_on_at=moving_on_at)

    def publish_all(self) -> None:
        """Wake every waiter (they re-read the database), e.g. after signals from elsewhere may have been missed."""
        for watches in self._watches.values():
            for watch in watches:
                watch.signal(moving_on_at=None)

    @contextlib.contextmanager
    def watch(self, order_no: str) -> Iterator[LocalWatch]:
        watch = LocalWatch()
        self._watches[order_no].add(watch)
        try:
            yield watch
        finally:
            watches = self._watches.get(order_no)
            if watches is not None:
                watches.discard(watch)
                if not watches:
                    del self._watches[order_no]


class LocalJobWakeups:
    """JobWakeups within one process (SQLite: the embedded worker is the only one)."""

    def __init__(self) -> None:
        self._due = asyncio.Event()

    def jobs_due(self) -> None:
        self._due.set()

    async def wait_for_jobs(self, *, timeout: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._due.wait(), timeout=timeout)
        self._due.clear()
