"""`payhub serve [--workers N]`: hub API processes on one port, each with its own listening socket.

Why not `uvicorn --workers` or gunicorn: both bind one socket in a parent and hand it down. Its `proto` is 0, so
the event loop never turns TCP_NODELAY on for accepted connections (every keep-alive answer then waits ~40 ms
for the peer's delayed ACK), and whichever process wakes first accepts most keep-alive connections. Here each
process binds the port itself with SO_REUSEPORT and proto TCP: the kernel spreads new connections evenly over
the processes' sockets and every accepted socket gets TCP_NODELAY. Granian would bring a second HTTP stack (Rust)
for what uvicorn with uvloop and httptools already does within a few percent on this workload.
"""
from __future__ import annotations

import logging
import multiprocessing
import os
import shutil
import signal
import socket
import tempfile
import time
from multiprocessing.process import BaseProcess
from types import FrameType

import uvicorn

from payhub.kernel.adapters.observability.logs import configure_logging
from payhub.config import Settings

log = logging.getLogger(__name__)
RESTART_SECONDS = 1.0
METRICS_DIR = "PROMETHEUS_MULTIPROC_DIR"  # prometheus_client's multiprocess mode reads this name


def listener(host: str, port: int) -> socket.socket:
    """This process's own listening socket on host:port, shared with the hub's other processes (SO_REUSEPORT)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)  # proto TCP: accepted sockets get NODELAY
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.setblocking(False)
    return sock


def serve_here(settings: Settings, *, host: str, port: int) -> None:
    """Serve the hub API in this process until SIGINT/SIGTERM (uvloop, httptools)."""
    from payhub.bootstrap import build
    from payhub.api.app import create_app

    config = uvicorn.Config(create_app(build(settings)), loop="uvloop", http="httptools", log_config=None)
    uvicorn.Server(config).run(sockets=[listener(host, port)])


def _hub_process(host: str, port: int) -> None:
    settings = Settings()
    configure_logging(json_lines=settings.log_json)
    serve_here(settings, host=host, port=port)


def serve_processes(*, host: str, port: int, workers: int) -> None:
    """Run `workers` hub processes on host:port, restart one that dies, stop them all on SIGINT/SIGTERM."""
    own_metrics_dir = METRICS_DIR not in os.environ
    if own_metrics_dir:  # one /metrics shows every process of this host
        os.environ[METRICS_DIR] = tempfile.mkdtemp(prefix="payhub-metrics-")
    spawn = multiprocessing.get_context("spawn")
    stopping = False

    def start() -> BaseProcess:
        process = spawn.Process(target=_hub_process, args=(host, port), name="payhub-hub", daemon=False)
        process.start()
        return process

    def stop(_signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    processes = [start() for _ in range(workers)]
    try:
        while not stopping:
            time.sleep(0.2)
            for index, process in enumerate(processes):
                if not process.is_alive() and not stopping:
                    log.error("hub process exited; starting another", extra={"exit_code": process.exitcode})
                    time.sleep(RESTART_SECONDS)
                    if not stopping:
                        processes[index] = start()
    finally:
        for process in processes:
            if process.is_alive() and process.pid is not None:
                os.kill(process.pid, signal.SIGTERM)
        for process in processes:
            process.join(timeout=10)
            if process.is_alive():
                process.kill()
                process.join()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if own_metrics_dir:
            shutil.rmtree(os.environ.pop(METRICS_DIR), ignore_errors=True)
