"""Order signals and job wake-ups across processes and hosts, through PostgreSQL LISTEN/NOTIFY.

One listening connection per process fans notifications out to the waiters of this process; a second one sends
this process's order signals, batched. An order signal is sent after the state change has committed (services
publish after commit), so a waiter woken anywhere reads the change; a signal lost with a crash costs latency
only, because waiters re-read the database at least every second. Job wake-ups go the same way, after the
commit of a transaction that made a job due (the unit of work calls jobs_due), in the same batch: a NOTIFY inside
the writing transaction would take PostgreSQL's notify lock at its commit, which serializes every notifying commit
and its WAL flush cluster-wide (migration 0010). An order signal's payload is its order no., followed by `@` and the
version for a move on to a state the hub moves on from by itself.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
from contextlib import AbstractContextManager

import psycopg
from psycopg.conninfo import make_conninfo
from sqlalchemy.engine import make_url

from payhub.kernel.adapters.signals import LocalOrderSignals, LocalWatch

log = logging.getLogger(__name__)
ORDERS_CHANNEL = "payhub_orders"
JOBS_CHANNEL = "payhub_jobs"
RECONNECT_SECONDS = 1.0
# an idle LISTEN connection cut by a firewall or a failed-over server is noticed within about a minute
KEEPALIVES = {"keepalives": 1, "keepalives_idle": 30, "keepalives_interval": 10, "keepalives_count": 3}


def libpq_url(database_url: str) -> str:
    """The SQLAlchemy URL of the database as a libpq connection string."""
    return make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)


class PgNotifications:
    """OrderSignals and JobWakeups for every process on one PostgreSQL; start() in the process's event loop."""

    def __init__(self, *, database_url: str) -> None:
        self._conninfo = make_conninfo(libpq_url(database_url), **KEEPALIVES)
        self._local = LocalOrderSignals()
        self._jobs_due = asyncio.Event()
        self._outbox: set[str] = set()
        self._wake_workers = False  # a job became due here: tell the other processes' workers with the next batch
        self._outbox_ready = asyncio.Event()
        self._sender_pid: int | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._listening = asyncio.Event()

    async def start(self) -> None:
        """Listen and send in the background; returns once listening (or after a few seconds without a database)."""
        if self._tasks:
            return
        self._tasks = [asyncio.create_task(self._listen(), name="pg-listen"),
                       asyncio.create_task(self._send(), name="pg-notify")]
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._listening.wait(), timeout=5)

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []

    # --- OrderSignals -----------------------------------------------------------------------------------------

    def publish(self, order_no: str, *, moving_on_at: int | None = None) -> None:
        self._local.publish(order_no, moving_on_at=moving_on_at)
        if self._tasks:
            self._outbox.add(order_no if moving_on_at is None else f"{order_no}@{moving_on_at}")
            self._outbox_ready.set()

    def watch(self, order_no: str) -> AbstractContextManager[LocalWatch]:
        return self._local.watch(order_no)

    # --- JobWakeups -------------------------------------------------------------------------------------------

    def jobs_due(self) -> None:
        self._jobs_due.set()
        if self._tasks:
            self._wake_workers = True
            self._outbox_ready.set()

    async def wait_for_jobs(self, *, timeout: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._jobs_due.wait(), timeout=timeout)
        self._jobs_due.clear()

    # --- the two connections ----------------------------------------------------------------------------------

    async def _listen(self) -> None:
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(self._conninfo, autocommit=True) as conn:
                    await conn.execute(f"LISTEN {ORDERS_CHANNEL}")
                    await conn.execute(f"LISTEN {JOBS_CHANNEL}")
                    self._listening.set()
                    self._missed_anything()
                    async for note in conn.notifies():
                        if note.pid == self._sender_pid:  # ours woke this process's waiters and worker when published
                            continue
                        if note.channel == JOBS_CHANNEL:
                            self._jobs_due.set()
                        else:
                            self._received(note.payload)
            except (psycopg.Error, OSError) as error:
                log.warning("order signal listener lost its connection; reconnecting", extra={"error": str(error)})
            await asyncio.sleep(RECONNECT_SECONDS)

    def _next_batch(self) -> tuple[list[str], list[str]]:
        """The channel and payload of each notification waiting to be sent, taken out of the outbox."""
        payloads, self._outbox = sorted(self._outbox), set()
        channels = [ORDERS_CHANNEL] * len(payloads)
        if self._wake_workers:
            self._wake_workers = False
            channels.append(JOBS_CHANNEL)
            payloads.append("")
        return channels, payloads

    def _received(self, payload: str) -> None:
        order_no, _, version = payload.partition("@")
        self._local.publish(order_no, moving_on_at=int(version) if version.isdigit() else None)

    def _missed_anything(self) -> None:
        """After (re)connecting, notifications may have been missed: wake everyone to re-read."""
        self._local.publish_all()
        self._jobs_due.set()

    async def _send(self) -> None:
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(self._conninfo, autocommit=True) as conn:
                    self._sender_pid = conn.info.backend_pid
                    while True:
                        await self._outbox_ready.wait()
                        self._outbox_ready.clear()
                        channels, payloads = self._next_batch()
                        await conn.execute("SELECT pg_notify(c, n) FROM unnest(%s::text[], %s::text[]) AS b(c, n)",
                                           (channels, payloads))
            except (psycopg.Error, OSError) as error:
                # the batch in flight is lost: its waiters find the change at their next re-read
                log.warning("order signal sender lost its connection; reconnecting", extra={"error": str(error)})
            self._sender_pid = None
            await asyncio.sleep(RECONNECT_SECONDS)
