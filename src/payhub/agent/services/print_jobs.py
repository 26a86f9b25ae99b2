"""Printing receipts at the counter: every job is kept (in the agent's store, so a restart loses none), and one that
failed can be printed again later, as what it was: an original never printed stays an original, a copy a copy."""
from __future__ import annotations

import itertools
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from payhub.kernel.domain.devices import DeviceUnavailable
from payhub.kernel.domain.errors import Conflict, NotFound
from payhub.kernel.domain.receipts import Receipt
from payhub.kernel.ports import Clock, ReceiptPrinter

KEEP_JOBS = 200


class JobState(StrEnum):
    PRINTED = "printed"
    FAILED = "failed"  # kept with its bytes until printed by a retry


@dataclass
class PrintJob:
    job_id: str
    receipt: Receipt
    data: bytes
    created_at: datetime
    state: JobState = JobState.FAILED
    attempts: int = 0
    error: DeviceUnavailable | None = None
    printed_at: datetime | None = None


class JobStore(Protocol):
    def load(self) -> list[PrintJob]:
        """Every kept job."""
        ...

    def save(self, job: PrintJob) -> None: ...

    def forget(self, job_ids: list[str]) -> None: ...


class PrintQueue:
    """Renders and prints receipts on one printer; failed jobs stay listed (and stored) for a retry."""

    def __init__(self, *, printer: ReceiptPrinter, render: Callable[[Receipt], bytes], clock: Clock,
                 store: JobStore) -> None:
        self.printer = printer
        self._render = render
        self._clock = clock
        self._store = store
        self._jobs = {job.job_id: job for job in store.load()}
        self._numbers = itertools.count(len(self._jobs) + 1)

    def jobs(self) -> list[PrintJob]:
        """Every kept job, newest first."""
        return sorted(self._jobs.values(), key=lambda job: job.created_at, reverse=True)

    async def print_receipt(self, *, receipt: Receipt) -> PrintJob:
        """Render and print; the job comes back printed, or failed with the printer's reason and kept."""
        job = PrintJob(job_id=f"J{next(self._numbers):05d}-{secrets.token_hex(3)}", receipt=receipt,
                       data=self._render(receipt), created_at=self._clock.now())
        self._jobs[job.job_id] = job
        self._store.save(job)
        self._forget_old()
        return await self._attempt(job)

    async def retry(self, *, job_id: str) -> PrintJob:
        """Print a failed job again; a printed one is refused (a reprint is a copy the hub marks as such)."""
        job = self._jobs.get(job_id)
        if job is None:
            raise NotFound("PRINT_JOB_NOT_FOUND", job_id=job_id)
        if job.state is JobState.PRINTED:
            raise Conflict("PRINT_JOB_PRINTED", job_id=job_id)
        return await self._attempt(job)

    async def _attempt(self, job: PrintJob) -> PrintJob:
        job.attempts += 1
        try:
            await self.printer.print(job.data)
        except DeviceUnavailable as error:
            job.state, job.error = JobState.FAILED, error
        else:
            job.state, job.error, job.printed_at = JobState.PRINTED, None, self._clock.now()
        self._store.save(job)
        return job

    def _forget_old(self) -> None:
        printed = [job for job in self.jobs() if job.state is JobState.PRINTED]
        for job in printed[KEEP_JOBS:]:
            del self._jobs[job.job_id]
        self._store.forget([job.job_id for job in printed[KEEP_JOBS:]])
