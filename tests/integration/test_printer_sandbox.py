"""The network printer connection (python-escpos over TCP) against the printer sandbox, and the file printer."""
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from payhub.integrations.printing.client import EscposPrinter
from payhub.integrations.printing.escpos_render import escpos_bytes
from payhub.integrations.printing.sandbox import PrinterSandbox
from payhub.integrations.printing.wire import read_back
from payhub.kernel.domain.devices import DeviceState, DeviceUnavailable
from payhub.kernel.domain.receipts import Receipt, ReceiptKind, ReceiptLine

RECEIPT = Receipt(kind=ReceiptKind.REFUND, locale="zh", title="退款凭条", merchant="测试燃气公司", terminal="1号柜台 T1",
                  operator="柜员一", printed_at=datetime(2026, 11, 2, 2, tzinfo=UTC),
                  lines=(ReceiptLine("退款金额", "12.00", fen=1200),), qr="PH2026110210000000000001")


@pytest.fixture
async def sandbox() -> AsyncIterator[PrinterSandbox]:
    printer = PrinterSandbox()
    await printer.start(port=0)
    yield printer
    await printer.stop()


async def _jobs(sandbox: PrinterSandbox, count: int) -> None:
    for _ in range(100):
        if len(sandbox.jobs) >= count:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"the sandbox has {len(sandbox.jobs)} jobs, not {count}")


@pytest.mark.parametrize("condition, state", [
    ({}, DeviceState.READY), ({"paper": "low"}, DeviceState.PAPER_LOW), ({"paper": "out"}, DeviceState.PAPER_OUT),
    ({"offline": True}, DeviceState.OFFLINE), ({"slow_seconds": 0.2}, DeviceState.READY),
])
async def test_status_comes_from_dle_eot_answers(sandbox: PrinterSandbox, condition: dict, state: DeviceState) -> None:
    sandbox.set_condition(**condition)
    printer = EscposPrinter.from_spec(f"tcp:127.0.0.1:{sandbox.port}")
    assert (await printer.status()).state is state
    assert sandbox.jobs == []  # status requests are not print jobs


async def test_a_receipt_printed_over_tcp_reads_back_in_the_sandbox(sandbox: PrinterSandbox) -> None:
    printer = EscposPrinter.from_spec(f"tcp:127.0.0.1:{sandbox.port}")
    await printer.print(escpos_bytes(receipt=RECEIPT))
    await _jobs(sandbox, 1)
    job = sandbox.jobs[0]
    assert "退款凭条" in job.view.text and "12.00" in job.view.text
    assert job.view.qr_codes == [RECEIPT.qr] and job.view.cuts == 1 and b"\x10\x04" not in job.raw


async def test_out_of_paper_or_gone_is_refused_before_sending(sandbox: PrinterSandbox) -> None:
    printer = EscposPrinter.from_spec(f"tcp:127.0.0.1:{sandbox.port}")
    sandbox.set_condition(paper="out")
    with pytest.raises(DeviceUnavailable) as out:
        await printer.print(b"x")
    assert out.value.code == "PAPER_OUT"
    await sandbox.stop()
    assert (await printer.status()).state is DeviceState.OFFLINE
    with pytest.raises(DeviceUnavailable) as gone:
        await printer.print(b"x")
    assert gone.value.code == "PRINTER_OFFLINE" and sandbox.jobs == [] and sandbox.refused == []


async def test_the_sandbox_http_control_changes_scenarios_and_lists_jobs(sandbox: PrinterSandbox) -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sandbox.app), base_url="http://printer") as control:
        changed = await control.post("/_sandbox/state", json={"paper": "low"})
        assert changed.json()["paper"] == "low"
        assert (await control.post("/_sandbox/state", json={"paper": "wet"})).status_code == 422
        printer = EscposPrinter.from_spec(f"tcp:127.0.0.1:{sandbox.port}")
        await printer.print(escpos_bytes(receipt=RECEIPT))
        await _jobs(sandbox, 1)
        jobs = (await control.get("/_sandbox/jobs")).json()
        assert jobs[0]["qr_codes"] == [RECEIPT.qr] and "退款凭条" in jobs[0]["text"]
        raw = await control.get("/_sandbox/jobs/0/raw")
        assert raw.content == sandbox.jobs[0].raw and (await control.get("/_sandbox/jobs/9/raw")).status_code == 404


async def test_the_file_printer_appends_every_job(tmp_path: Path) -> None:
    path = tmp_path / "var" / "receipts.bin"
    printer = EscposPrinter.from_spec(f"file:{path}")
    assert (await printer.status()).state is DeviceState.READY
    first = escpos_bytes(receipt=RECEIPT)
    await printer.print(first)
    await printer.print(first)
    assert path.read_bytes() == first * 2 and read_back(path.read_bytes()).cuts == 2
    assert (await EscposPrinter.from_spec(f"file:{tmp_path}").status()).state is DeviceState.OFFLINE  # a directory


@pytest.mark.parametrize("spec", ["nothing", "lpt:1", "usb:zz:01", "tcp:host:port"])
def test_bad_printer_specs_are_refused(spec: str) -> None:
    with pytest.raises(ValueError):
        EscposPrinter.from_spec(spec)
