"""`payhub worker`: runs durable jobs until told to stop (SIGINT/SIGTERM)."""
from __future__ import annotations

import asyncio
import signal

from payhub.bootstrap import build
from payhub.config import Settings
from payhub.kernel.services.outbox import work_forever


async def run_worker(settings: Settings) -> None:
    """Claim and run jobs until a stop signal; a job interrupted by a kill is picked up again after its lease."""
    container = build(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await container.start()  # on PostgreSQL: woken at once when a job becomes due, anywhere
        await work_forever(hub=container.hub, idle_seconds=settings.worker_poll_seconds, stop=stop,
                           wakeups=container.wakeups)
    finally:
        await container.close()
