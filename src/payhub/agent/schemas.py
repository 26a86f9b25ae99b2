"""The agent's wire shapes; the receipt is the hub's JSON receipt as it is."""
from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

from payhub.kernel.domain.devices import DeviceStatus
from payhub.kernel.domain.messages import render
from payhub.kernel.domain.receipts import Receipt
from payhub.agent.services.print_jobs import PrintJob


class PrintIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    receipt: Receipt


class DeviceOut(BaseModel):
    kind: str
    name: str
    state: str
    detail: str

    @classmethod
    def of(cls, status: DeviceStatus) -> DeviceOut:
        return cls(kind=status.kind.value, name=status.name, state=status.state.value, detail=status.detail)


class StatusOut(BaseModel):
    devices: list[DeviceOut]

    @classmethod
    def of(cls, statuses: list[DeviceStatus]) -> StatusOut:
        return cls(devices=[DeviceOut.of(s) for s in statuses])


class PrintedOut(BaseModel):
    job_id: str
    state: str


class JobErrorOut(BaseModel):
    code: str
    message: str


class JobOut(BaseModel):
    job_id: str
    state: str
    kind: str
    title: str
    order_no: str | None
    reprint: bool  # the receipt's copy flag
    attempts: int
    created_at: datetime
    printed_at: datetime | None
    error: JobErrorOut | None

    @classmethod
    def of(cls, job: PrintJob, locale: str) -> JobOut:
        error = job.error and JobErrorOut(code=job.error.code, message=render(job.error.code, locale, job.error.params))
        return cls(job_id=job.job_id, state=job.state.value, kind=job.receipt.kind.value, title=job.receipt.title,
                   order_no=job.receipt.qr, reprint=job.receipt.copy, attempts=job.attempts, created_at=job.created_at,
                   printed_at=job.printed_at, error=error)


class JobsOut(BaseModel):
    jobs: list[JobOut]
