"""Issue 9: several hub processes and a separate worker on one PostgreSQL. Nothing that a terminal waits for stays in
one process: a long-poll in one hub sees a change made through another within 100 ms, and the worker is woken by
NOTIFY (its poll is set to 30 s here) and its changes reach the waiting hub too. `serve --workers 2` keeps
TCP_NODELAY, spreads connections over its processes and shows all of them in /metrics."""
from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from payhub.entrypoints.terminal_client import TerminalClient
from tests.conftest import migrated_database
from tests.support.harness import WECHAT
from tests.support.processes import LOOPBACK, PAYHUB, Fleet, free_port

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(120)]

MCH_ID, MD5_KEY, TCIS_SECRET = "755437000079", "several-md5-key", "several-tcis-secret"
SIGNAL_WITHIN = 0.1


@dataclass
class World:
    fleet: Fleet
    urls: dict[str, str]
    terminal_key: str


@pytest.fixture
def pg_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    yield from migrated_database("postgresql", request=request, tmp_path=tmp_path)


@pytest.fixture
def world(pg_url: str, tmp_path: Path) -> Iterator[World]:
    names = ("hub_a", "hub_b", "hub_pair", "swiftpass", "tcis")
    ports = {name: free_port() for name in names}
    urls = {name: f"http://{LOOPBACK}:{port}" for name, port in ports.items()}
    env = os.environ | {
        "PAYHUB_DEMO": "true", "PAYHUB_DATABASE_URL": pg_url, "PAYHUB_PUBLIC_URL": urls["hub_a"],
        "PAYHUB_SWIFTPASS__BASE_URL": urls["swiftpass"],
        "PAYHUB_SWIFTPASS__ACCOUNTS": json.dumps({"M1": {"mch_id": MCH_ID, "key": MD5_KEY}}),
        "PAYHUB_TCIS__BASE_URL": urls["tcis"], "PAYHUB_TCIS__SECRET": TCIS_SECRET,
        "PAYHUB_EMBEDDED_WORKER": "false", "PAYHUB_WORKER_POLL_SECONDS": "30", "PAYHUB_DB_POOL_SIZE": "4",
    }
    logs = tmp_path / "logs"
    logs.mkdir()
    fleet = Fleet(env=env, logs=logs)
    fleet.add("swiftpass", "sandbox", "swiftpass", "--port", str(ports["swiftpass"]), "--mch-id", MCH_ID,
              "--key", MD5_KEY, up_url=f"{urls['swiftpass']}/_sandbox/trades")
    fleet.add("tcis", "sandbox", "tcis", "--port", str(ports["tcis"]), "--secret", TCIS_SECRET,
              up_url=f"{urls['tcis']}/_sandbox/customers")
    for hub in ("hub_a", "hub_b"):
        fleet.add(hub, "serve", "--port", str(ports[hub]), up_url=f"{urls[hub]}/healthz")
    fleet.add("hub_pair", "serve", "--workers", "2", "--port", str(ports["hub_pair"]), up_url=f"{urls['hub_pair']}/healthz")
    fleet.add("worker", "worker")
    try:
        subprocess.run([PAYHUB, "db", "upgrade"], env=env, check=True, capture_output=True)
        subprocess.run([PAYHUB, "merchant", "create", "M1", "多进程测试"], env=env, check=True, capture_output=True)
        made = subprocess.run([PAYHUB, "terminal", "create", "M1", "T1", "1号柜台"], env=env, check=True,
                              capture_output=True, text=True)
        subprocess.run([PAYHUB, "operator", "create", "M1", "op1", "--name", "柜员", "--password", "op1-pass"],
                       env=env, check=True, capture_output=True)
        key = re.search(r"[0-9a-f]{64}", made.stdout)
        assert key is not None
        yield World(fleet=fleet, urls=urls, terminal_key=key.group(0))
    finally:
        fleet.stop_all()


async def _long_poll(terminal: TerminalClient, order_no: str, version: int) -> tuple[dict, float]:
    answer = await terminal.request("GET", f"/api/v1/orders/{order_no}", params={"wait_version": version, "timeout": 20})
    return answer.json(), time.monotonic()


async def _waiting(terminal: TerminalClient, order_no: str, version: int) -> asyncio.Task[tuple[dict, float]]:
    """A long-poll that has reached the hub and waits there (the hub answered nothing yet after a moment)."""
    poll = asyncio.create_task(_long_poll(terminal, order_no, version))
    await asyncio.sleep(0.5)
    assert not poll.done(), poll.result()
    return poll


async def test_a_long_poll_in_one_hub_sees_changes_made_through_the_other_and_by_the_worker(world: World) -> None:
    for name in ("swiftpass", "tcis", "hub_a", "hub_b", "worker"):
        world.fleet.spawn(name)
    for name in ("swiftpass", "tcis", "hub_a", "hub_b"):
        world.fleet.wait_up(name)
    async with (httpx.AsyncClient(base_url=world.urls["hub_a"], timeout=30) as http_a,
                httpx.AsyncClient(base_url=world.urls["hub_b"], timeout=30) as http_b):
        terminal_a = TerminalClient(http=http_a, terminal="T1", key=world.terminal_key)
        terminal_b = TerminalClient(http=http_b, terminal="T1", key=world.terminal_key)
        await terminal_a.login("op1", "op1-pass")
        terminal_b.token = terminal_a.token  # one operator session, valid in every process

        for attempt in range(3):  # closing an order: a change made by hub A alone
            created = (await terminal_a.request("POST", "/api/v1/orders", body={
                "out_trade_no": f"close-{attempt}", "fee_type": "other", "account_no": "10010001", "amount": 100})).json()
            poll = await _waiting(terminal_b, created["order_no"], created["version"])
            closed = await terminal_a.request("POST", f"/api/v1/orders/{created['order_no']}/close")
            changed_at = time.monotonic()
            assert closed.json()["state"] == "closed", closed.text
            seen, seen_at = await poll
            assert seen["state"] == "closed"
            assert seen_at - changed_at < SIGNAL_WITHIN, f"hub B answered {seen_at - changed_at:.3f} s after the change"

        # paid through hub A; the worker (woken by NOTIFY, not its 30 s poll) posts it; hub B's long-poll follows
        created = (await terminal_a.request("POST", "/api/v1/orders", body={
            "out_trade_no": "paid-1", "fee_type": "other", "account_no": "10010001", "amount": 200})).json()
        order_no = created["order_no"]
        paid = await terminal_a.request("POST", f"/api/v1/orders/{order_no}/pay/code", body={"auth_code": WECHAT})
        assert paid.json()["state"] in ("paid", "fulfilling", "fulfilled"), paid.text
        started = time.monotonic()
        order = paid.json()
        while not order["final"] and time.monotonic() - started < 5:
            order, _ = await _long_poll(terminal_b, order_no, order["version"])
        assert order["state"] == "fulfilled", world.fleet.tail("worker")
        assert time.monotonic() - started < 5


def _child_pids(pid: int) -> list[int]:
    return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def _established_to(pid: int, port: int) -> int:
    """How many established TCP connections on local port `port` process `pid` holds."""
    inodes = {os.readlink(fd)[8:-1] for fd in Path(f"/proc/{pid}/fd").iterdir()
              if os.readlink(fd).startswith("socket:[")}
    count = 0
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if int(fields[1].split(":")[1], 16) == port and fields[3] == "01" and fields[9] in inodes:
            count += 1
    return count


async def test_serve_workers_keeps_nodelay_spreads_connections_and_adds_up_metrics(world: World) -> None:
    world.fleet.start("hub_pair")
    process = world.fleet.services["hub_pair"].process
    assert process is not None
    port = int(world.urls["hub_pair"].rsplit(":", 1)[1])
    async with httpx.AsyncClient(base_url=world.urls["hub_pair"], timeout=10) as http:
        await http.get("/healthz")
        started = time.perf_counter()
        for _ in range(20):  # without TCP_NODELAY each keep-alive answer waits ~40 ms for a delayed ACK
            assert (await http.get("/healthz")).status_code == 200
        assert time.perf_counter() - started < 0.4

    clients = [httpx.AsyncClient(base_url=world.urls["hub_pair"], timeout=10) for _ in range(16)]
    try:
        # both processes must be listening before the connections are spread over them
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            await asyncio.gather(*(client.get("/healthz") for client in clients))
            held = [n for n in (_established_to(pid, port) for pid in _child_pids(process.pid)) if n]
            if len(held) == 2:
                break
            for client in clients:
                await client.aclose()
            clients = [httpx.AsyncClient(base_url=world.urls["hub_pair"], timeout=10) for _ in range(16)]
            await asyncio.sleep(0.5)
        assert len(held) == 2, f"connections per process: {held}"
        assert sum(held) == 16
        # one process's /metrics counts the requests of both (one process alone answered at most 21 + 8 + 1)
        text = (await clients[0].get("/metrics")).text
        counted = re.search(r'payhub_api_request_seconds_count\{method="GET",route="/healthz",status="200"\} (\S+)', text)
        assert counted is not None and float(counted.group(1)) >= 21 + 16, text[:2000]
    finally:
        for client in clients:
            await client.aclose()
