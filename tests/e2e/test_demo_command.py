"""`payhub demo`, `payhub try` and `payhub try-cards` as someone following the README runs them: real processes on
free loopback ports, each demo in a folder of its own."""
from __future__ import annotations

import asyncio
import json
import re
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from payhub.entrypoints.demo import OPERATORS, TERMINAL, TERMINAL_KEY
from payhub.entrypoints.terminal_client import TerminalClient
from payhub.integrations.tcis.sandbox import DEFAULT_SEED
from tests.support.processes import LOOPBACK, PAYHUB, free_port

SEED_DUE = {customer.account_no: sum(bill.amount for bill in customer.bills) for customer in DEFAULT_SEED}


@dataclass
class RunningDemo:
    folder: Path
    port: int
    process: subprocess.Popen[bytes]

    @property
    def base_url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def stop(self) -> None:
        self.process.send_signal(signal.SIGINT)  # Ctrl-C
        self.process.wait(timeout=20)


def start_demo(folder: Path, *args: str, port: int | None = None) -> RunningDemo:
    """Start `payhub demo` in the folder (its data in folder/var) and wait until the hub answers."""
    port = port or free_port()
    with (folder / "stderr.log").open("ab") as err:  # its banner on stdout shows the demo's terminal key: not kept
        process = subprocess.Popen([PAYHUB, "demo", "--port", str(port), "--agent-port", "0", *args], cwd=folder,
                                   stdout=subprocess.DEVNULL, stderr=err)
    demo = RunningDemo(folder=folder, port=port, process=process)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, (folder / "stderr.log").read_text()[-3000:]
        try:
            if httpx.get(f"{demo.base_url}/healthz", timeout=1).status_code == 200:
                return demo
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    demo.stop()
    raise AssertionError("the demo did not come up within 60 s")


def payhub(*args: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([PAYHUB, *args], cwd=cwd, capture_output=True, text=True, timeout=timeout)


def customers(demo: RunningDemo) -> dict[str, int]:
    """Each TCIS account's amount due."""
    answer = httpx.get(f"{demo.base_url}/sandbox/tcis/_sandbox/customers", timeout=10).json()
    return {customer["account_no"]: customer["total_due"] for customer in answer}


def hub_order_count(demo: RunningDemo) -> int:
    async def count() -> int:
        async with httpx.AsyncClient(base_url=demo.base_url, timeout=30) as http:
            client = TerminalClient(http=http, terminal=TERMINAL, key=TERMINAL_KEY)
            await client.login(OPERATORS[1][0], OPERATORS[1][3])
            response = await client.request("GET", "/api/v1/orders")
            response.raise_for_status()
            return len(response.json()["orders"])

    return asyncio.run(count())


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningDemo]:
    running = start_demo(tmp_path_factory.mktemp("demo"))
    yield running
    running.stop()


def test_try_finds_the_demo_on_its_port_without_being_told(demo: RunningDemo) -> None:
    assert demo.port != 8000
    done = payhub("try", cwd=demo.folder)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "全部流程符合预期" in done.stdout


def test_try_leaves_the_accounts_of_the_counter_walkthrough_owing(demo: RunningDemo) -> None:
    done = payhub("try", "--base-url", demo.base_url, cwd=demo.folder)
    assert done.returncode == 0, done.stdout + done.stderr
    due = customers(demo)
    for account_no in ("10010001", "30010001"):  # the accounts the README's counter walkthrough looks up
        assert due[account_no] == SEED_DUE[account_no] > 0, account_no


def test_try_without_a_demo_says_so_in_one_chinese_line(tmp_path: Path) -> None:
    done = payhub("try", "--base-url", f"http://{LOOPBACK}:{free_port()}", cwd=tmp_path)
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert "连不上交易宝演示" in done.stderr and "--base-url" in done.stderr


def test_the_demos_logs_are_json_lines(demo: RunningDemo) -> None:
    lines = [line for line in (demo.folder / "stderr.log").read_text().splitlines() if line.strip()]
    assert lines
    for line in lines:
        record = json.loads(line)
        assert {"time", "level", "logger", "message", "request_id", "order_no"} <= set(record), line
        assert "color_message" not in record


def test_try_cards_speaks_chinese_in_yuan_and_counts_what_it_lists(demo: RunningDemo) -> None:
    done = payhub("try-cards", "--base-url", demo.base_url, cwd=demo.folder)
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    words = re.sub(r"https?://\S+", "", out)
    assert not re.search(r"\b(fen|yuan|push|balance|events?)\b", words, re.IGNORECASE), out
    listed = [line for line in out.splitlines() if line.startswith("  推送 ")]
    summary = re.search(r"共收到本卡 (\d+) 条推送：(\d+) 条资金变动", out)
    assert summary is not None, out
    assert int(summary.group(1)) == len(listed)
    assert int(summary.group(2)) == sum(" 元，余额 " in line for line in listed) == 4
    assert "余额 70.00 元" in out


@pytest.mark.parametrize(("option", "taken"), [("--port", "hub"), ("--agent-port", "agent")])
def test_a_taken_port_stops_the_demo_at_once_naming_the_port_and_the_option(
        tmp_path: Path, option: str, taken: str) -> None:
    with socket.socket() as holder:
        holder.bind((LOOPBACK, 0))
        holder.listen()
        busy = holder.getsockname()[1]
        ports = {"--port": str(busy if taken == "hub" else free_port()),
                 "--agent-port": str(busy if taken == "agent" else free_port())}
        done = payhub("demo", *(part for pair in ports.items() for part in pair), cwd=tmp_path, timeout=60)
    assert done.returncode != 0
    assert f"端口 {busy} 已被占用" in done.stderr and option in done.stderr
    assert "running" not in done.stdout and "已启动" not in done.stdout
    assert "Traceback" not in done.stderr


def test_a_restart_keeps_hub_and_tcis_together_and_reset_clears_both(tmp_path: Path) -> None:
    first = start_demo(tmp_path)
    try:
        assert payhub("try", "--base-url", first.base_url, cwd=tmp_path).returncode == 0
        orders = hub_order_count(first)
    finally:
        first.stop()
    assert orders >= 3

    again = start_demo(tmp_path)
    try:
        assert hub_order_count(again) == orders
        due = customers(again)
        assert due["10010002"] == 0 and due["20010001"] == 0  # paid by `payhub try` before the restart
        assert due["10010091"] == SEED_DUE["10010091"]  # its posting was refused
    finally:
        again.stop()

    fresh = start_demo(tmp_path, "--reset")
    try:
        assert hub_order_count(fresh) == 0
        assert customers(fresh) == SEED_DUE
    finally:
        fresh.stop()
