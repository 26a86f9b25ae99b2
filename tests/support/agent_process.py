"""A real `payhub agent` process that can be stopped and started again on the same port and data folder."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class AgentProcess:
    """`payhub agent` printing to a file, its jobs kept in data_dir."""

    def __init__(self, *, printer: Path, data_dir: Path, allowed_origin: str = "http://127.0.0.1:8000") -> None:
        self.printer, self.data_dir, self.port, self.allowed_origin = printer, data_dir, _free_port(), allowed_origin
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        payhub = shutil.which("payhub", path=str(Path(sys.executable).parent))
        assert payhub
        self.process = subprocess.Popen(
            [payhub, "agent", "--printer", f"file:{self.printer}", "--port", str(self.port),
             "--allowed-origin", self.allowed_origin], env={**os.environ, "PAYHUB_AGENT_DATA_DIR": str(self.data_dir)})
        deadline = time.monotonic() + 30
        while True:
            assert self.process.poll() is None and time.monotonic() < deadline, "the agent did not start"
            try:
                httpx.get(f"{self.url}/api/status", timeout=1)
                return
            except httpx.TransportError:
                time.sleep(0.1)

    def stop(self) -> None:
        assert self.process is not None
        self.process.terminate()
        self.process.wait(timeout=10)
