"""The real thing: hub and sandboxes as separate processes started by the CLI; the hub is killed with SIGKILL
while its posting call is in flight at TCIS, started again, and finishes the order with one posting."""
from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from payhub.entrypoints.terminal_client import TerminalClient
from tests.support.harness import WECHAT

PAYHUB = str(Path(sys.executable).with_name("payhub"))
MCH_ID, MD5_KEY, TCIS_SECRET = "755437000077", "kill-test-md5-key", "kill-test-tcis-secret"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_until_up(url: str, process: subprocess.Popen) -> None:
    for _ in range(200):
        assert process.poll() is None, f"{url} exited with {process.returncode}"
        try:
            httpx.get(url, timeout=0.5)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise AssertionError(f"{url} did not come up")


@pytest.fixture
def services(db_url: str, tmp_path: Path) -> Iterator[dict]:
    ports = {name: _free_port() for name in ("hub", "swiftpass", "tcis")}
    env = os.environ | {
        "PAYHUB_DEMO": "true", "PAYHUB_DATABASE_URL": db_url, "PAYHUB_PUBLIC_URL": f"http://127.0.0.1:{ports['hub']}",
        "PAYHUB_SWIFTPASS__BASE_URL": f"http://127.0.0.1:{ports['swiftpass']}",
        "PAYHUB_SWIFTPASS__ACCOUNTS": json.dumps({"M1": {"mch_id": MCH_ID, "key": MD5_KEY}}),
        "PAYHUB_TCIS__BASE_URL": f"http://127.0.0.1:{ports['tcis']}", "PAYHUB_TCIS__SECRET": TCIS_SECRET,
        "PAYHUB_TCIS__TIMEOUT_SECONDS": "30", "PAYHUB_JOB_LEASE_SECONDS": "2", "PAYHUB_WORKER_POLL_SECONDS": "0.2",
    }
    logs = tmp_path / "logs"
    logs.mkdir()
    started: list[subprocess.Popen] = []

    def spawn(name: str, *args: str) -> subprocess.Popen:
        out = (logs / f"{name}.log").open("ab")
        process = subprocess.Popen([PAYHUB, *args], env=env, stdout=out, stderr=subprocess.STDOUT)
        started.append(process)
        return process

    _wait_until_up(f"http://127.0.0.1:{ports['swiftpass']}/_sandbox/trades",
                   spawn("swiftpass", "sandbox", "swiftpass", "--port", str(ports["swiftpass"]), "--mch-id", MCH_ID, "--key", MD5_KEY))
    _wait_until_up(f"http://127.0.0.1:{ports['tcis']}/_sandbox/customers",
                   spawn("tcis", "sandbox", "tcis", "--port", str(ports["tcis"]), "--secret", TCIS_SECRET))
    subprocess.run([PAYHUB, "db", "upgrade"], env=env, check=True, capture_output=True)
    subprocess.run([PAYHUB, "merchant", "create", "M1", "杀进程测试"], env=env, check=True, capture_output=True)
    made = subprocess.run([PAYHUB, "terminal", "create", "M1", "T1", "1号柜台"], env=env, check=True, capture_output=True, text=True)
    subprocess.run([PAYHUB, "operator", "create", "M1", "op1", "--name", "柜员", "--password", "op1-pass"],
                   env=env, check=True, capture_output=True)

    def start_hub() -> subprocess.Popen:
        hub = spawn("hub", "serve", "--port", str(ports["hub"]))
        _wait_until_up(f"http://127.0.0.1:{ports['hub']}/healthz", hub)
        return hub

    yield {"ports": ports, "key": re.search(r"[0-9a-f]{64}", made.stdout).group(0), "start_hub": start_hub, "logs": logs}
    for process in started:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in started:
        try:
            process.wait(timeout=3)
        except subprocess.TimeoutExpired:
            process.kill()


async def test_hub_killed_during_posting_finishes_the_order_once(services: dict) -> None:
    hub = services["start_hub"]()
    base = f"http://127.0.0.1:{services['ports']['hub']}"
    tcis = f"http://127.0.0.1:{services['ports']['tcis']}"
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        terminal = TerminalClient(http=http, terminal="T1", key=services["key"])
        await terminal.login("op1", "op1-pass")
        created = await terminal.request("POST", "/api/v1/orders", body={
            "out_trade_no": "kill-1", "fee_type": "other", "account_no": "10010092", "amount": 5000})
        order_no = created.json()["order_no"]
        paid = await terminal.request("POST", f"/api/v1/orders/{order_no}/pay/code", body={"auth_code": WECHAT})
        assert paid.json()["state"] == "paid", paid.text

        for _ in range(100):  # TCIS has booked it and is holding the answer back
            if any(p["posting_no"] == f"{order_no}P" for p in httpx.get(f"{tcis}/_sandbox/postings").json()):
                break
            time.sleep(0.05)
        hub.send_signal(signal.SIGKILL)
        hub.wait(timeout=10)

        services["start_hub"]()
        order = (await terminal.request("GET", f"/api/v1/orders/{order_no}")).json()
        while not order["final"]:
            order = (await terminal.request("GET", f"/api/v1/orders/{order_no}",
                                            params={"wait_version": order["version"], "timeout": 20})).json()
    assert order["state"] == "fulfilled", (services["logs"] / "hub.log").read_text()[-3000:]
    postings = [p for p in httpx.get(f"{tcis}/_sandbox/postings").json() if p["posting_no"].startswith(order_no)]
    assert len(postings) == 1
    assert [t["to_state"] for t in order["history"]] == ["paying", "paid", "fulfilling", "fulfilled"]
