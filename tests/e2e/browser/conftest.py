"""A real hub (demo build: SQLite, embedded worker, both sandboxes) served over HTTP on 127.0.0.1, Debian's
Chromium driven by Playwright, and the counter POS page on it."""
from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

import pytest
import uvicorn

from payhub.entrypoints.demo import build_demo, demo_settings
from tests.e2e.browser.pos import CHROMIUM, CHROMIUM_ARGS, LiveAgent, LiveHub, log_in


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def live_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveHub]:
    port = free_port()
    database = tmp_path_factory.mktemp("hub") / "hub.sqlite3"
    settings = demo_settings(host="127.0.0.1", port=port, database_url=f"sqlite+aiosqlite:///{database}")
    server = uvicorn.Server(uvicorn.Config(build_demo(settings).app, host="127.0.0.1", port=port, log_config=None))
    thread = threading.Thread(target=server.run, name="hub", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the hub did not start"
        time.sleep(0.05)
    yield LiveHub(settings.public_url, database)
    server.should_exit = True
    thread.join(timeout=15)


@pytest.fixture(scope="session")
def live_agent(live_hub: LiveHub, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveAgent]:
    """`payhub agent` as the counter PC runs it, printing to a file, allowing the hub's page."""
    port = free_port()
    receipts = tmp_path_factory.mktemp("agent") / "receipts.bin"
    payhub = shutil.which("payhub", path=str(Path(sys.executable).parent))
    process = subprocess.Popen([payhub, "agent", "--printer", f"file:{receipts}", "--port", str(port),
                                "--allowed-origin", live_hub.base_url],
                               env={**os.environ, "PAYHUB_AGENT_DATA_DIR": str(receipts.parent / "data")})
    agent = LiveAgent(f"http://127.0.0.1:{port}", receipts)
    deadline = time.monotonic() + 30
    while True:
        assert process.poll() is None and time.monotonic() < deadline, "the agent did not start"
        try:
            httpx.get(f"{agent.base_url}/api/status", timeout=1)
            break
        except httpx.TransportError:
            time.sleep(0.1)
    yield agent
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator:
    """Chromium for one module: Playwright's sync API holds an event loop in this thread while it runs, and
    the asyncio tests of other modules need the thread free."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser, live_hub: LiveHub, live_agent: LiveAgent) -> Iterator:
    """A fresh browser profile on the POS page, registered through the setup link but not logged in; its
    terminal agent setting points at the test's agent."""
    context = browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai", viewport={"width": 1280, "height": 900},
                                  accept_downloads=True)
    agent_setting = json.dumps(json.dumps({"agentUrl": live_agent.base_url}))
    context.add_init_script(f"localStorage.getItem('payhub.settings') || localStorage.setItem('payhub.settings', {agent_setting})")
    context.set_default_timeout(15_000)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    tab.goto(live_hub.setup_url())
    tab.locator('[data-name="login"]').wait_for()  # the setup link's key is proved by a signed ping first
    yield tab
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


@pytest.fixture
def counter(page):
    """The POS page with the demo operator logged in, at the fee-type choice."""
    log_in(page)
    return page
