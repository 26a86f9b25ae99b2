"""`payhub` CLI processes for tests that kill them for real: started, SIGKILLed, started again, logged to files."""
from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

PAYHUB = str(Path(sys.executable).with_name("payhub"))
LOOPBACK = "127.0.0.1"


def free_port() -> int:
    """A port on the loopback interface nobody listens on right now."""
    with socket.socket() as s:
        s.bind((LOOPBACK, 0))
        return s.getsockname()[1]


@dataclass
class Service:
    """One named CLI process: its arguments, the URL that answers once it is up (None: none), its log."""

    args: tuple[str, ...]
    up_url: str | None
    log: Path
    process: subprocess.Popen | None = None
    starts: int = 0


@dataclass
class Fleet:
    """The CLI processes of one test, all with the same environment."""

    env: dict[str, str]
    logs: Path
    services: dict[str, Service] = field(default_factory=dict)

    def add(self, name: str, *args: str, up_url: str | None = None) -> None:
        self.services[name] = Service(args=args, up_url=up_url, log=self.logs / f"{name}.log")

    def start(self, name: str, *, up_within: float = 30.0) -> None:
        """Start the process and wait (bounded) until its up_url answers."""
        self.spawn(name)
        self.wait_up(name, up_within=up_within)

    def spawn(self, name: str) -> None:
        """Start the process without waiting for it."""
        service = self.services[name]
        with service.log.open("ab") as out:
            out.write(f"\n=== start #{service.starts + 1} ===\n".encode())
            out.flush()
            service.process = subprocess.Popen([PAYHUB, *service.args], env=self.env, stdout=out,
                                               stderr=subprocess.STDOUT)
        service.starts += 1

    def wait_up(self, name: str, *, up_within: float = 30.0) -> None:
        """Wait (bounded) until the process's up_url answers; at once for a process without one."""
        service = self.services[name]
        assert service.process is not None
        if service.up_url is None:
            return
        deadline = time.monotonic() + up_within
        while time.monotonic() < deadline:
            if service.process.poll() is not None:
                raise AssertionError(f"{name} exited with {service.process.returncode}:\n{self.tail(name)}")
            try:
                httpx.get(service.up_url, timeout=0.5)
                return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise AssertionError(f"{name} did not come up within {up_within} s:\n{self.tail(name)}")

    def kill(self, name: str) -> None:
        """SIGKILL: no shutdown code runs, whatever was in flight is cut off."""
        process = self.services[name].process
        assert process is not None
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)

    def alive(self, name: str) -> bool:
        process = self.services[name].process
        return process is not None and process.poll() is None

    def tail(self, name: str, chars: int = 3000) -> str:
        log = self.services[name].log
        return log.read_text(errors="replace")[-chars:] if log.exists() else ""

    def stop_all(self) -> None:
        """SIGTERM everything still running, SIGKILL what does not stop within a few seconds."""
        running = [s.process for s in self.services.values() if s.process is not None and s.process.poll() is None]
        for process in running:
            process.send_signal(signal.SIGTERM)
        for process in running:
            try:
                process.wait(timeout=3)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=3)
