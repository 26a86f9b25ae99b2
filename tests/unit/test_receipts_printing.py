"""Printing at the counter with a fake printer: failed jobs are kept and retried; status changes reach listeners."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest

from payhub.kernel.adapters.clock import ManualClock
from payhub.kernel.domain.devices import DeviceKind, DeviceState, DeviceStatus, printer_refusal
from payhub.kernel.domain.errors import Conflict, NotFound
from payhub.kernel.domain.receipts import Receipt, ReceiptKind
from payhub.agent.services.device_watch import DeviceWatch
from payhub.agent.job_store import SqliteJobStore
from payhub.agent.services.print_jobs import JobState, PrintQueue

NOW = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)


class FakePrinter:
    kind = DeviceKind.PRINTER
    name = "fake"

    def __init__(self) -> None:
        self.state = DeviceState.READY
        self.printed: list[bytes] = []

    async def status(self) -> DeviceStatus:
        return DeviceStatus(self.kind, self.name, self.state)

    async def print(self, data: bytes) -> None:
        status = await self.status()
        if status.state not in (DeviceState.READY, DeviceState.PAPER_LOW):
            raise printer_refusal(status)
        self.printed.append(data)


def _receipt() -> Receipt:
    return Receipt(kind=ReceiptKind.PAYMENT, locale="zh", title="缴费凭条", merchant="燃气", terminal="T1",
                   operator="柜员", printed_at=NOW, qr="PH1")


@pytest.fixture
def printer() -> FakePrinter:
    return FakePrinter()


@pytest.fixture
def queue(printer: FakePrinter) -> PrintQueue:
    return PrintQueue(printer=printer, render=lambda receipt: receipt.qr.encode(), clock=ManualClock(NOW),
                      store=SqliteJobStore(path=None))


async def test_a_printed_job_is_listed_and_cannot_be_retried_as_an_original(printer: FakePrinter, queue: PrintQueue) -> None:
    job = await queue.print_receipt(receipt=_receipt())
    assert job.state is JobState.PRINTED and printer.printed == [b"PH1"] and job.printed_at == NOW
    with pytest.raises(Conflict) as refused:
        await queue.retry(job_id=job.job_id)
    assert refused.value.code == "PRINT_JOB_PRINTED"
    with pytest.raises(NotFound):
        await queue.retry(job_id="J-nope")


@pytest.mark.parametrize("state, code", [(DeviceState.PAPER_OUT, "PAPER_OUT"), (DeviceState.OFFLINE, "PRINTER_OFFLINE"),
                                         (DeviceState.ERROR, "PRINTER_ERROR")])
async def test_a_failed_job_is_kept_with_the_reason_and_printed_by_a_retry(
    printer: FakePrinter, queue: PrintQueue, state: DeviceState, code: str,
) -> None:
    printer.state = state
    job = await queue.print_receipt(receipt=_receipt())
    assert job.state is JobState.FAILED and job.error is not None and job.error.code == code
    assert queue.jobs() == [job] and printer.printed == []
    again = await queue.retry(job_id=job.job_id)
    assert again.state is JobState.FAILED and again.attempts == 2
    printer.state = DeviceState.PAPER_LOW
    done = await queue.retry(job_id=job.job_id)
    assert done.state is JobState.PRINTED and done.error is None and printer.printed == [b"PH1"]


async def test_listeners_hear_of_status_changes_only(printer: FakePrinter) -> None:
    watch = DeviceWatch(devices=[printer])
    with watch.listen() as changes:
        await watch.refresh()
        await watch.refresh()
        printer.state = DeviceState.OFFLINE
        await watch.refresh()
        heard = [changes.get_nowait(), changes.get_nowait()]
        assert changes.empty()
    assert [statuses[0].state for statuses in heard] == [DeviceState.READY, DeviceState.OFFLINE]
