"""The terminal agent keeps its print jobs in its data folder: a failed receipt comes back after a restart (a real
second `payhub agent` process) and prints as what it is, an original never printed or a copy."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from pydantic import TypeAdapter

from payhub.integrations.printing.wire import read_back
from payhub.kernel.domain.receipts import Receipt, ReceiptKind
from tests.support.agent_process import AgentProcess

RECEIPT = TypeAdapter(Receipt)


def _receipt(order_no: str, *, copy: bool) -> dict:
    receipt = Receipt(kind=ReceiptKind.PAYMENT, locale="zh", title="缴费凭条", merchant="燃气", terminal="POS001",
                      operator="柜员一", printed_at=datetime(2026, 11, 2, 2, 0, tzinfo=UTC), qr=order_no, copy=copy)
    return RECEIPT.dump_python(receipt, mode="json")


@pytest.fixture
def agent(tmp_path: Path) -> Iterator[AgentProcess]:
    blocker = tmp_path / "printer"
    blocker.write_text("a file where the printer's folder should be: the printer cannot be opened")
    one = AgentProcess(printer=blocker / "receipts.bin", data_dir=tmp_path / "agent-data")
    yield one
    if one.process and one.process.poll() is None:
        one.stop()


def test_failed_jobs_come_back_after_a_restart_and_print_as_original_or_copy(agent: AgentProcess) -> None:
    agent.start()
    original = httpx.post(f"{agent.url}/api/print", json={"receipt": _receipt("PH0001", copy=False)})
    copy = httpx.post(f"{agent.url}/api/print", json={"receipt": _receipt("PH0002", copy=True)})
    assert original.status_code == copy.status_code == 503
    assert original.json()["error"]["code"] == "PRINTER_OFFLINE"
    agent.stop()

    agent.printer.parent.unlink()  # the printer is back
    agent.start()
    kept = {job["order_no"]: job for job in httpx.get(f"{agent.url}/api/jobs").json()["jobs"]}
    assert {no: (job["state"], job["reprint"], job["attempts"], job["error"]["code"]) for no, job in kept.items()} == {
        "PH0001": ("failed", False, 1, "PRINTER_OFFLINE"), "PH0002": ("failed", True, 1, "PRINTER_OFFLINE")}

    printed = []
    for order_no in ("PH0001", "PH0002"):
        answer = httpx.post(f"{agent.url}/api/jobs/{kept[order_no]['job_id']}/retry")
        assert answer.json() == {"job_id": kept[order_no]["job_id"], "state": "printed"}
        printed.append(read_back(agent.printer.read_bytes()))
    assert printed[0].qr_codes == ["PH0001"] and "副本" not in printed[0].text
    assert printed[1].qr_codes == ["PH0001", "PH0002"] and printed[1].cuts == 2
    assert "重打印 / 副本" in printed[1].text[len(printed[0].text):]

    agent.stop()  # printed jobs stay listed as printed, and a printed job is not printed again as an original
    agent.start()
    again = httpx.get(f"{agent.url}/api/jobs").json()["jobs"]
    assert sorted((job["order_no"], job["state"]) for job in again) == [("PH0001", "printed"), ("PH0002", "printed")]
    refused = httpx.post(f"{agent.url}/api/jobs/{kept['PH0001']['job_id']}/retry")
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "PRINT_JOB_PRINTED"
