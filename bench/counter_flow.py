"""Benchmark of the counter bill-payment flow, end to end against PostgreSQL, compared with pgbench TPC-B.

    .venv/bin/python bench/counter_flow.py [--pg-url URL] [--clients 16] [--seconds 30] [--pgbench-seconds 30]
        [--hubs 1] [--workers 0] [--statements 8] [--quick]

Starts (or, with --pg-url, uses) a PostgreSQL server; migrates and seeds a fresh database; runs the hub (uvicorn:
one process with its embedded worker, or --hubs API processes on one port and --workers job workers) and both
sandboxes (SwiftPass + TCIS, answering at once) as separate processes on 127.0.0.1; drives --clients terminals
that each loop place order -> pay by payment code -> long-poll until final for --seconds; prints bill payments per
second, the terminal API's latencies, the CPU and the PostgreSQL statements, transactions and round trips per
payment (pg_stat_statements); checks that every order is posted and that the ledger balances; then runs pgbench
TPC-B on another database of the same server and prints our figures as a ratio of its TPS, next to issue 9's
targets. Not a test: it measures, and fails only on breakage.
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import glob
import itertools
import json
import math
import os
import pwd
import re
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from typing import IO, Any
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from payhub.kernel.adapters.db.engine import most_connections as engine_connections
from payhub.kernel.adapters.db.migrate import upgrade
from payhub.bootstrap import build
from payhub.config import Settings
from payhub.entrypoints.terminal_client import TerminalClient
from payhub.kernel.adapters.pg_notifications import JOBS_CHANNEL
from payhub.kernel.domain.ledger import family_of
from payhub.kernel.services import admin

ROOT = Path(__file__).resolve().parents[1]
PG_SH = ROOT / "scripts" / "pg.sh"
SERVERS = Path(__file__).resolve().parent / "servers.py"
LOOPBACK = "127.0.0.1"

MERCHANT = "BENCH"
MCH_ID = "755437000077"
MD5_KEY = "bench-swiftpass-md5-key"
HUB_SECRET = "bench-hub-secret-" + "x" * 16
TCIS_SECRET = "bench-tcis-secret"
HUB_DATABASE = "payhub_bench"
PGBENCH_DATABASE = "payhub_pgbench"

WECHAT_CODE = "134567890123456700"  # its last digits select no SwiftPass sandbox scenario
ACCOUNTS = ("10010001", "10010002", "10010003", "10010004", "10010005", "20010001", "30010001")  # TCIS seed
FEE_TYPE = "other"      # taken as entered: any amount, never runs out of arrears
POLL_TIMEOUT = 20       # seconds a long-poll may wait on the hub
MAX_POLLS = 8           # long-polls one flow may take before it counts as stuck
FLOW_TIMEOUT = 60.0     # a flow (or one HTTP call) never takes longer than this
ERROR_PAUSE = 0.2       # a client rests this long after a failed flow
SERVER_START_TIMEOUT = 60.0
SETTLE_TIMEOUT = 30.0
KINDS = ("create", "pay", "poll")
BACKENDS_GONE_TIMEOUT = 15.0
QUICK_SECONDS = 15
MAX_HUBS, MAX_WORKERS = 32, 16
SIDE_CONNECTIONS = 2     # each hub-side process's PgNotifications: one LISTEN connection, one NOTIFY sender
SPARE_CONNECTIONS = 10   # kept free for the bench's own connections (settle checks, audits, statistics)


# ---------------------------------------------------------------- options and PostgreSQL

def parse_args(argv: list[str]) -> argparse.Namespace:
    """The benchmark's options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pg-url", help="an existing server (postgresql+psycopg://user@127.0.0.1:port/db); "
                        f"its databases {HUB_DATABASE} and {PGBENCH_DATABASE} are dropped and recreated. "
                        "Default: a throwaway cluster from scripts/pg.sh")
    parser.add_argument("--clients", type=int, default=16, help="concurrent terminals, one operator each (16)")
    parser.add_argument("--seconds", type=float, default=30, help="how long the clients keep starting flows (30)")
    parser.add_argument("--pgbench-seconds", type=int, default=30, help="pgbench -T (30)")
    parser.add_argument("--pgbench-clients", type=int, default=8, help="pgbench -c (8)")
    parser.add_argument("--pgbench-jobs", type=int, default=2, help="pgbench -j (2)")
    parser.add_argument("--pgbench-scale", type=int, default=10, help="pgbench -i -s (10)")
    parser.add_argument("--statements", type=int, default=8, help="how many of the most frequent statements to list (8)")
    parser.add_argument("--hubs", type=int, default=1,
                        help="hub API processes sharing the hub's port (SO_REUSEPORT), as `payhub serve --workers N` (1)")
    parser.add_argument("--workers", type=int, default=0,
                        help="job worker processes, as `payhub worker`; 0: the worker embedded in the one hub process. "
                        "--hubs above 1 needs at least 1 (0)")
    parser.add_argument("--quick", action="store_true",
                        help=f"a short run for a shared machine: --seconds and --pgbench-seconds {QUICK_SECONDS}")
    args = parser.parse_args(argv)
    if args.quick:
        args.seconds, args.pgbench_seconds = QUICK_SECONDS, QUICK_SECONDS
    if not 1 <= args.clients <= 200 or not 1 <= args.seconds <= 600 or not 1 <= args.pgbench_seconds <= 600:
        parser.error("--clients must be 1..200, --seconds and --pgbench-seconds 1..600")
    if not 1 <= args.hubs <= MAX_HUBS or not 0 <= args.workers <= MAX_WORKERS or args.statements < 0:
        parser.error(f"--hubs must be 1..{MAX_HUBS}, --workers 0..{MAX_WORKERS}, --statements 0 or more")
    if args.hubs > 1 and args.workers == 0:
        parser.error("--hubs above 1 needs --workers 1 or more: the hub API processes then run without embedded "
                     "workers, as behind `payhub serve --workers N` with PAYHUB_EMBEDDED_WORKER=false")
    return args


@contextlib.contextmanager
def postgres_server(url: str | None) -> Iterator[str]:
    """The server's URL: the one given, or a throwaway cluster started and stopped with scripts/pg.sh."""
    if url:
        yield url
        return
    started = subprocess.run(["bash", str(PG_SH)], check=True, capture_output=True, text=True, timeout=120)
    server_url, data_dir = started.stdout.split()
    try:
        load_statement_stats(server_url, Path(data_dir))
        yield server_url
    finally:
        subprocess.run(["bash", str(PG_SH), "stop", data_dir], check=False, timeout=120)


def load_statement_stats(server_url: str, cluster: Path) -> None:
    """Restart the throwaway cluster with pg_stat_statements preloaded (pg.sh starts it without)."""
    with autocommit(server_url) as conn:
        conn.exec_driver_sql("ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'")
    owner = ["runuser", "-u", pwd.getpwuid(cluster.stat().st_uid).pw_name, "--"] if os.getuid() == 0 else []
    pg_ctl = Path((cluster / "bindir").read_text().strip()) / "pg_ctl"
    subprocess.run([*owner, str(pg_ctl), "-D", str(cluster / "data"), "-l", str(cluster / "server.log"), "-w",
                    "-m", "fast", "restart"], check=True, capture_output=True, timeout=120)


@contextlib.contextmanager
def autocommit(url: str) -> Iterator[sa.Connection]:
    """A connection in autocommit mode, its engine disposed on exit."""
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            yield conn
    finally:
        engine.dispose()


def database_url(server_url: str, name: str) -> str:
    """The URL of another database on the same server."""
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


def recreate_database(server_url: str, name: str) -> str:
    """Drop and create database name on the server; returns its URL."""
    engine = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    finally:
        engine.dispose()
    return database_url(server_url, name)


def server_version(url: str) -> str:
    """PostgreSQL's version string, short."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return str(conn.exec_driver_sql("SHOW server_version").scalar())
    finally:
        engine.dispose()


# ---------------------------------------------------------------- hub settings and seed data

def free_port() -> int:
    """A port on the loopback interface nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOOPBACK, 0))
        return int(probe.getsockname()[1])


def plural(count: int, noun: str) -> str:
    """'1 worker', '2 workers', '2 hub processes'."""
    return f"{count} {noun}" + ("" if count == 1 else "es" if noun.endswith("s") else "s")


@dataclass(frozen=True)
class Topology:
    """How the hub runs: one process with its embedded worker (workers 0), or hubs API processes on one port
    beside workers job worker processes."""

    hubs: int
    workers: int

    @property
    def embedded(self) -> bool:
        return self.workers == 0

    @property
    def processes(self) -> int:
        return self.hubs + self.workers

    def describe(self) -> str:
        """How many processes of which kind, for the header."""
        if self.embedded:
            return "1 hub process with its embedded worker"
        return f"{plural(self.hubs, 'hub API process')} + {plural(self.workers, 'worker process')}"

    def who(self) -> str:
        """Who sent the hub's statements, for captions."""
        if self.embedded:
            return "the hub with its embedded worker"
        return f"the {plural(self.hubs, 'hub process')} and {plural(self.workers, 'worker')}"


def connection_limit(url: str) -> int:
    """Connections ordinary users may open on the server: max_connections less superuser_reserved_connections."""
    with autocommit(url) as conn:
        total = int(conn.exec_driver_sql("SHOW max_connections").scalar_one())
        reserved = int(conn.exec_driver_sql("SHOW superuser_reserved_connections").scalar_one())
    return total - reserved


def pool_size_for(topology: Topology, limit: int) -> int:
    """Settings.db_pool_size of each hub-side process: the default (20), unless all of them at their fullest would
    pass the server's limit less SPARE_CONNECTIONS. Pools open connections only as requests and jobs need them, so
    a pool larger than a process's share of the clients costs nothing; the cap only keeps many processes legal."""
    default = int(Settings.model_fields["db_pool_size"].default)
    size = next((size for size in range(default, 1, -1)
                 if most_connections(topology, size) <= limit - SPARE_CONNECTIONS), None)
    if size is None:
        raise SystemExit(f"{topology.describe()} need more connections than the server's {limit}: fewer processes")
    return size


def most_connections(topology: Topology, pool_size: int) -> int:
    """The connections all hub-side processes may hold at once: both engines' pools and PgNotifications' two."""
    return topology.processes * (engine_connections(pool_size) + SIDE_CONNECTIONS)


def settings_for(*, db_url: str, hub_port: int, sandbox_port: int, pool_size: int | None = None,
                 embedded_worker: bool = True) -> dict[str, Any]:
    """Keyword arguments of Settings: the hub on hub_port, both sandboxes behind sandbox_port (pool_size None: the
    default db_pool_size; bench/cards_consume.py calls this too)."""
    sandboxes = f"http://{LOOPBACK}:{sandbox_port}"
    return {
        "demo": False, "database_url": db_url, "secret_key": HUB_SECRET, "log_json": True,
        "embedded_worker": embedded_worker, **({} if pool_size is None else {"db_pool_size": pool_size}),
        "public_url": f"http://{LOOPBACK}:{hub_port}", "host": LOOPBACK, "port": hub_port,
        "swiftpass": {"base_url": f"{sandboxes}/swiftpass", "accounts": {MERCHANT: {"mch_id": MCH_ID, "key": MD5_KEY}}},
        "tcis": {"base_url": f"{sandboxes}/tcis", "app_id": "payhub", "secret": TCIS_SECRET},
    }


@dataclass(frozen=True)
class Till:
    """One counter: a terminal with its signing key and the operator logged in on it."""

    terminal: str
    key: str
    username: str
    password: str


async def seed(settings: Settings, count: int) -> list[Till]:
    """One merchant, count terminals and one operator per terminal, through the admin services."""
    container = build(settings)
    hub = container.hub
    tills = []
    try:
        await admin.create_merchant(hub=hub, code=MERCHANT, name="基准测试燃气公司")
        for number in range(1, count + 1):
            terminal, username, password = f"T{number:03d}", f"op{number:03d}", secrets.token_hex(8)
            _, key = await admin.create_terminal(hub=hub, merchant_code=MERCHANT, code=terminal, name=f"{number}号柜台")
            await admin.create_operator(hub=hub, merchant_code=MERCHANT, username=username,
                                        display_name=f"柜员{number}", role="operator", password=password)
            tills.append(Till(terminal, key, username, password))
    finally:
        await container.close()
    return tills


# ---------------------------------------------------------------- server processes

def answers(url: str) -> bool:
    """Whether url answers at all."""
    with contextlib.suppress(httpx.TransportError):
        httpx.get(url, timeout=1.0)
        return True
    return False


def wait_until_ready(processes: list[tuple[subprocess.Popen[bytes], Path]], ready: Callable[[], bool], what: str) -> None:
    """Return once ready(); fail with a log's tail if one of the processes dies, or if it takes too long."""
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    while time.monotonic() < deadline:
        for process, log_path in processes:
            if process.poll() is not None:
                raise RuntimeError(f"{what}: {log_path.name} exited with {process.returncode}:\n"
                                   f"{log_path.read_text()[-3000:]}")
        if ready():
            return
        time.sleep(0.1)
    tails = "\n".join(f"{log_path.name}:\n{log_path.read_text()[-1500:]}" for _, log_path in processes)
    raise RuntimeError(f"{what} not ready within {SERVER_START_TIMEOUT:.0f}s:\n{tails}")


def stop_processes(processes: list[subprocess.Popen[bytes]]) -> None:
    """SIGTERM to all, then SIGKILL to those that have not exited 15 s later."""
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 15
    for process in processes:
        try:
            process.wait(timeout=max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)


def start_role(role: str, settings: dict[str, Any], log: IO[bytes]) -> subprocess.Popen[bytes]:
    """bench/servers.py ROLE in its own process, logging to log."""
    return subprocess.Popen([sys.executable, str(SERVERS), role, json.dumps(settings)],
                            stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)


@contextlib.contextmanager
def server_process(role: str, settings: dict[str, Any], *, ready_url: str, log_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    """bench/servers.py ROLE in its own process, logging to log_path, stopped on exit."""
    with log_path.open("wb") as log:
        process = start_role(role, settings, log)
        try:
            wait_until_ready([(process, log_path)], lambda: answers(ready_url), ready_url)
            yield process
        finally:
            stop_processes([process])


@dataclass(frozen=True)
class HubProcesses:
    """The hub's running processes: API servers (or the one hub with its embedded worker) and job workers."""

    api: list[subprocess.Popen[bytes]]
    workers: list[subprocess.Popen[bytes]]
    logs: list[Path]

    def pids(self) -> dict[str, list[int]]:
        """Process ids by the name their CPU is reported under."""
        named = {"hub": [process.pid for process in self.api]}
        if self.workers:
            named["worker"] = [process.pid for process in self.workers]
        return named


def listening_processes(engine: sa.Engine) -> int:
    """Hub-side processes whose PgNotifications listen on the database (each has its LISTEN connection)."""
    with engine.connect() as conn:
        return int(conn.execute(sa.text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND query = :listen"),
            {"listen": f"LISTEN {JOBS_CHANNEL}"}).scalar_one())


@contextlib.contextmanager
def hub_processes(topology: Topology, settings: dict[str, Any], *, db_url: str, run_dir: Path) -> Iterator[HubProcesses]:
    """The hub: role `hub`, or topology.hubs `hub-api` and topology.workers `worker` processes, stopped on exit;
    ready once /healthz answers and every process listens (its lifespan or run_worker has started)."""
    if topology.embedded:
        roles = [("hub", "hub")]
    else:
        roles = ([("hub-api", f"hub-api-{n}") for n in range(1, topology.hubs + 1)]
                 + [("worker", f"worker-{n}") for n in range(1, topology.workers + 1)])
    started: list[tuple[str, subprocess.Popen[bytes], Path]] = []
    engine = sa.create_engine(db_url)
    with contextlib.ExitStack() as logs:
        try:
            for role, name in roles:
                log_path = run_dir / f"{name}.log"
                started.append((role, start_role(role, settings, logs.enter_context(log_path.open("wb"))), log_path))
            health = f"{settings['public_url']}/healthz"
            wait_until_ready([(process, log_path) for _, process, log_path in started],
                             lambda: answers(health) and listening_processes(engine) >= topology.processes,
                             f"the hub ({topology.describe()})")
            yield HubProcesses(api=[process for role, process, _ in started if role != "worker"],
                               workers=[process for role, process, _ in started if role == "worker"],
                               logs=[log_path for _, _, log_path in started])
        finally:
            engine.dispose()
            stop_processes([process for _, process, _ in started])


# ---------------------------------------------------------------- CPU accounting

def _stat_fields(pid: int) -> list[str]:
    """The fields of /proc/PID/stat after the command name (the first is the state)."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process has used so far."""
    fields = _stat_fields(pid)
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def reaped_children_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of the children a process has waited for."""
    fields = _stat_fields(pid)
    return (int(fields[13]) + int(fields[14])) / os.sysconf("SC_CLK_TCK")


def children_of(pid: int) -> list[int]:
    """The live processes whose parent is pid."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError):
                if int(_stat_fields(int(entry.name))[1]) == pid:
                    found.append(int(entry.name))
    return found


def postgres_cpu_seconds(postmaster: int) -> float:
    """CPU seconds of a PostgreSQL server: the postmaster, its live (or exited, not yet reaped) children and those
    it has reaped. A backend reaped while the live ones are read would be in neither sum (that is how a whole
    pgbench run's backends once went missing), so the scan is repeated until no child was reaped meanwhile."""
    for _ in range(50):
        reaped = reaped_children_cpu_seconds(postmaster)
        live = 0.0
        for child in children_of(postmaster):
            with contextlib.suppress(OSError):
                live += process_cpu_seconds(child)
        if reaped_children_cpu_seconds(postmaster) == reaped:
            break
    return process_cpu_seconds(postmaster) + reaped + live


def backends_of(postmaster: int, database: str) -> list[int]:
    """The postmaster's children still serving database, and those exited but not yet reaped."""
    found = []
    for child in children_of(postmaster):
        with contextlib.suppress(OSError, IndexError):
            title = Path(f"/proc/{child}/cmdline").read_bytes().decode(errors="replace")
            if _stat_fields(child)[0] == "Z" or f" {database} " in title:
                found.append(child)
    return found


def wait_until_backends_gone(postmaster: int | None, database: str) -> None:
    """Wait (bounded) until the backends of database's closed connections have exited and been reaped, so that
    their CPU is in the postmaster's reaped-children time before a snapshot is taken."""
    deadline = time.monotonic() + BACKENDS_GONE_TIMEOUT
    while postmaster is not None and backends_of(postmaster, database) and time.monotonic() < deadline:
        time.sleep(0.05)


def local_postmaster(url: str) -> int | None:
    """The postmaster's pid when the server runs on this machine (the parent of our backend), else None."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            backend = int(conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one())
            with contextlib.suppress(OSError):
                parent = int(_stat_fields(backend)[1])
                if "postgres" in Path(f"/proc/{parent}/cmdline").read_bytes().decode(errors="replace"):
                    return parent
    finally:
        engine.dispose()
    return None


def machine_cpu_seconds() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine so far, summed over cores (from /proc/stat)."""
    ticks = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    idle = ticks[3] + ticks[4]
    clock = os.sysconf("SC_CLK_TCK")
    return (sum(ticks) - idle) / clock, sum(ticks) / clock


# ---------------------------------------------------------------- statements (pg_stat_statements)

TRANSACTION_STARTS = ("BEGIN", "START TRANSACTION")
TRANSACTION_ENDS = ("COMMIT", "ROLLBACK", "END", "ABORT")


def statement_stats_available(server_url: str) -> bool:
    """Whether the server counts statements (pg_stat_statements preloaded); creates the extension in the server
    URL's database, from where every database's counts are read."""
    with autocommit(server_url) as conn:
        if "pg_stat_statements" not in str(conn.exec_driver_sql("SHOW shared_preload_libraries").scalar()):
            return False
        conn.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
    return True


def statement_calls(server_url: str, database: str) -> Counter[str]:
    """Calls so far of each statement text clients sent to database (every call one round trip)."""
    # Foreign-key checks deferred to COMMIT run outside any statement, so pg_stat_statements records them as
    # top-level statements of their own; they are no round trips and are left out (they end FOR KEY SHARE OF x).
    with autocommit(server_url) as conn:
        rows = conn.execute(sa.text(
            "SELECT s.query, sum(s.calls) AS calls FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid"
            " WHERE d.datname = :database AND s.toplevel AND s.query NOT LIKE '%pg_stat_statements%'"
            " AND s.query NOT LIKE '%FOR KEY SHARE OF x' GROUP BY s.query"),
            {"database": database}).all()
    return Counter({str(row.query): int(row.calls) for row in rows})


@dataclass(frozen=True)
class RoundTrips:
    """PostgreSQL calls over a measured stretch, split as the issue counts them."""

    calls: Counter[str]

    def _sum(self, heads: tuple[str, ...]) -> int:
        return sum(n for query, n in self.calls.items() if query.lstrip().upper().startswith(heads))

    @property
    def transactions(self) -> int:
        return self._sum(TRANSACTION_STARTS)

    @property
    def rollbacks(self) -> int:
        return self._sum(("ROLLBACK", "ABORT"))

    @property
    def round_trips(self) -> int:
        return sum(self.calls.values())

    @property
    def statements(self) -> int:
        """Calls other than BEGIN/COMMIT/ROLLBACK."""
        return self.round_trips - self.transactions - self._sum(TRANSACTION_ENDS)

    def per(self, units: int, what: str, *, top: int = 8) -> list[str]:
        """Statements, transactions and round trips per unit of work, and the top most frequent statements."""
        if not units:
            return [f"  no {what} completed"]
        lines = [f"  per {what}: statements {self.statements / units:.1f}, transactions {self.transactions / units:.1f} "
                 f"({self.rollbacks / units:.1f} rolled back), round trips {self.round_trips / units:.1f} "
                 "(statements + BEGIN + COMMIT/ROLLBACK)"]
        lines += [f"    {n / units:6.2f}  {' '.join(query.split())[:160]}" for query, n in self.calls.most_common(top)]
        return lines


def cpu_snapshot(pids: Mapping[str, int | list[int]], postmaster: int | None) -> dict[str, float]:
    """CPU seconds of each named process or group of processes (summed), of PostgreSQL (when local) and of the
    machine (busy, total)."""
    snapshot = {name: sum(map(process_cpu_seconds, group if isinstance(group, list) else [group]))
                for name, group in pids.items()}
    if postmaster is not None:
        snapshot["PostgreSQL"] = postgres_cpu_seconds(postmaster)
    snapshot["machine busy"], snapshot["machine total"] = machine_cpu_seconds()
    return snapshot


# ---------------------------------------------------------------- load

class FlowFailed(Exception):
    """A flow ended without its order posted (already counted in Stats)."""


@dataclass
class Stats:
    """What the clients saw: latencies per API call kind, whole flows, errors with a few samples."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: {kind: [] for kind in KINDS})
    flow_seconds: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    samples: list[str] = field(default_factory=list)

    def error(self, kind: str, detail: str) -> None:
        """Count an error of kind and keep its first few details."""
        self.errors[kind] += 1
        if len(self.samples) < 8:
            self.samples.append(detail)

    @property
    def requests(self) -> int:
        return sum(len(values) for values in self.latencies.values())


async def call(client: TerminalClient, stats: Stats, kind: str, method: str, path: str, *,
               body: dict[str, Any] | None = None, params: dict[str, Any] | None = None,
               expect: int = 200) -> dict[str, Any]:
    """One signed API call, timed; any transport error or unexpected status fails the flow."""
    started = time.perf_counter()
    try:
        response = await client.request(method, path, body=body, params=params)
    except httpx.HTTPError as error:
        stats.error(f"{kind}: {type(error).__name__}", f"{method} {path}: {type(error).__name__}: {error}")
        raise FlowFailed from error
    stats.latencies[kind].append(time.perf_counter() - started)
    if response.status_code != expect:
        stats.error(f"{kind}: HTTP {response.status_code}", f"{method} {path}: {response.status_code} {response.text[:400]}")
        raise FlowFailed
    answer: dict[str, Any] = response.json()
    return answer


def amount_for(number: int) -> int:
    """A varied amount in fen (10.00–509.99 yuan) whose last two digits select no sandbox scenario (91–99)."""
    amount = 1000 + (number * 7919) % 50000
    return amount - 10 if amount % 100 >= 91 else amount


async def counter_flow(client: TerminalClient, stats: Stats, number: int) -> None:
    """Place an order, pay it by payment code, long-poll until final; the order must end posted."""
    started = time.perf_counter()
    order = await call(client, stats, "create", "POST", "/api/v1/orders", expect=201, body={
        "out_trade_no": f"bench{number:010d}", "fee_type": FEE_TYPE,
        "account_no": ACCOUNTS[number % len(ACCOUNTS)], "amount": amount_for(number),
    })
    path = f"/api/v1/orders/{order['order_no']}"
    order = await call(client, stats, "pay", "POST", f"{path}/pay/code", body={"auth_code": WECHAT_CODE})
    for _ in range(MAX_POLLS):
        if order["final"]:
            break
        order = await call(client, stats, "poll", "GET", path,
                           params={"wait_version": order["version"], "timeout": POLL_TIMEOUT})
    if order["state"] != "fulfilled":
        stats.error(f"flow ended {order['state']}", f"{order['order_no']} ended {order['state']}: {order}")
        raise FlowFailed
    stats.flow_seconds.append(time.perf_counter() - started)


async def guarded_flow(client: TerminalClient, stats: Stats, number: int) -> bool:
    """counter_flow within FLOW_TIMEOUT; True when it completed."""
    try:
        await asyncio.wait_for(counter_flow(client, stats, number), timeout=FLOW_TIMEOUT)
        return True
    except FlowFailed:
        pass
    except TimeoutError:
        stats.error("flow timeout", f"flow {number} took over {FLOW_TIMEOUT:.0f}s")
    await asyncio.sleep(ERROR_PAUSE)
    return False


async def till_loop(client: TerminalClient, stats: Stats, numbers: Iterator[int], deadline: float) -> None:
    """Start flows one after another until the deadline; the last one runs to its end."""
    while time.perf_counter() < deadline:
        await guarded_flow(client, stats, next(numbers))


@dataclass(frozen=True)
class Sample:
    """Counters read at one moment: CPU seconds (cpu_snapshot) and PostgreSQL's calls per statement, if counted."""

    cpu: dict[str, float]
    calls: Counter[str] | None


@dataclass
class LoadResult:
    stats: Stats
    elapsed: float
    cpu: dict[str, float]
    calls: RoundTrips | None


def difference(before: Sample, after: Sample) -> tuple[dict[str, float], RoundTrips | None]:
    """CPU seconds and PostgreSQL calls between two samples."""
    cpu = {name: after.cpu[name] - before.cpu[name] for name in after.cpu}
    calls = None if before.calls is None or after.calls is None else RoundTrips(after.calls - before.calls)
    return cpu, calls


async def run_load(tills: list[Till], base_url: str, seconds: float, snapshot: Callable[[], Sample]) -> LoadResult:
    """Log every till in, run one untimed warm-up flow each, then loop all of them for seconds."""
    numbers = itertools.count(1)
    async with contextlib.AsyncExitStack() as stack:
        clients = []
        for till in tills:
            http = await stack.enter_async_context(httpx.AsyncClient(base_url=base_url, timeout=FLOW_TIMEOUT))
            clients.append(TerminalClient(http=http, terminal=till.terminal, key=till.key))
        await asyncio.gather(*(client.login(till.username, till.password) for client, till in zip(clients, tills)))
        warm_up = Stats()
        await asyncio.gather(*(guarded_flow(client, warm_up, next(numbers)) for client in clients))
        if warm_up.errors:
            print(f"warm-up errors: {dict(warm_up.errors)} {warm_up.samples[:2]}", flush=True)
        stats, before = Stats(), snapshot()
        started = time.perf_counter()
        await asyncio.gather(*(till_loop(client, stats, numbers, started + seconds) for client in clients))
        elapsed = time.perf_counter() - started
        after = snapshot()
    return LoadResult(stats, elapsed, *difference(before, after))


# ---------------------------------------------------------------- checks after the load

FINAL = ("fulfilled", "pay_failed", "closed", "refunded", "manual")


def wait_until_settled(engine: sa.Engine) -> int:
    """Wait (bounded) until no order is in a non-final state; returns how many still are."""
    deadline = time.monotonic() + SETTLE_TIMEOUT
    while True:
        with engine.connect() as conn:
            open_orders = conn.execute(
                sa.text("SELECT count(*) FROM orders WHERE state <> ALL(:final)"), {"final": list(FINAL)}
            ).scalar_one()
        if open_orders == 0 or time.monotonic() >= deadline:
            return int(open_orders)
        time.sleep(0.5)


@dataclass
class Audit:
    states: dict[str, int]
    posted_sum: int
    balances: dict[str, int]
    entries: int
    parked_jobs: int

    @property
    def ok(self) -> bool:
        """Every order posted; clearing = payable = sum of the amounts; nothing left unposted; 2 entries each."""
        posted = self.states.get("fulfilled", 0)
        return (set(self.states) <= {"fulfilled"} and self.parked_jobs == 0
                and self.balances.get("channel:swiftpass:clearing") == self.posted_sum
                and self.balances.get("biller:tcis:payable") == self.posted_sum
                and self.balances.get("orders:unposted", 0) == 0 and self.entries == 2 * posted)


def audit(engine: sa.Engine) -> Audit:
    """Order states, the posted amounts, the ledger accounts' balances, journal entries, parked jobs."""
    with engine.connect() as conn:
        states = {row.state: int(row.n) for row in conn.execute(
            sa.text("SELECT state, count(*) AS n FROM orders GROUP BY state"))}
        posted_sum = int(conn.execute(
            sa.text("SELECT coalesce(sum(amount), 0) FROM orders WHERE state = 'fulfilled'")).scalar_one())
        balances: dict[str, int] = {}
        for row in conn.execute(sa.text("SELECT code, balance FROM ledger_accounts")):
            balances[family_of(row.code)] = balances.get(family_of(row.code), 0) + int(row.balance)
        entries = int(conn.execute(sa.text("SELECT count(*) FROM journal_entries")).scalar_one())
        parked = int(conn.execute(sa.text("SELECT count(*) FROM jobs WHERE state = 'parked'")).scalar_one())
    return Audit(states, posted_sum, balances, entries, parked)


DB_COUNTERS = ("sessions", "xact_commit", "xact_rollback", "tup_inserted", "tup_updated", "tup_deleted")


def database_counters(url: str) -> dict[str, int]:
    """Cumulative activity counters of the database (pg_stat_database), read on a fresh connection."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            row = conn.execute(sa.text(
                f"SELECT {', '.join(DB_COUNTERS)} FROM pg_stat_database WHERE datname = current_database()"
            )).one()
    finally:
        engine.dispose()
    return {name: int(value or 0) for name, value in zip(DB_COUNTERS, row)}


def log_problems(log_paths: list[Path]) -> list[str]:
    """The hub logs' ERROR/CRITICAL lines and traceback headers (prefixed with the log's name when several)."""
    problems = []
    for log_path in log_paths:
        prefix = f"{log_path.name}: " if len(log_paths) > 1 else ""
        with log_path.open(encoding="utf-8", errors="replace") as log:
            for line in log:
                if '"level": "ERROR"' in line or '"level": "CRITICAL"' in line or line.startswith("Traceback"):
                    problems.append(prefix + line.strip())
    return problems


# ---------------------------------------------------------------- pgbench

def pgbench_binary() -> str:
    """Debian's newest pgbench, else the one on PATH."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pgbench"), key=lambda p: int(p.split("/")[4]))
    if found:
        return found[-1]
    return "pgbench"


def libpq_arguments(url: str) -> tuple[list[str], dict[str, str]]:
    """pgbench's connection arguments and environment for a SQLAlchemy URL."""
    parsed = make_url(url)
    arguments = ["-h", parsed.host or LOOPBACK, "-p", str(parsed.port or 5432), "-U", parsed.username or "postgres"]
    environment = dict(os.environ)
    if parsed.password:
        environment["PGPASSWORD"] = str(parsed.password)
    return [*arguments, parsed.database or "postgres"], environment


def run_pgbench(url: str, *, scale: int, clients: int, jobs: int, seconds: int) -> tuple[float, str, float]:
    """pgbench -i -s scale, then TPC-B for seconds; returns (TPS without connection time, its summary line,
    cores other processes on the machine used meanwhile: neither PostgreSQL nor pgbench)."""
    binary = pgbench_binary()
    connection, environment = libpq_arguments(url)
    subprocess.run([binary, "-i", "-s", str(scale), "-q", *connection], check=True, capture_output=True,
                   env=environment, timeout=600)
    postmaster, database = local_postmaster(url), str(make_url(url).database)
    wait_until_backends_gone(postmaster, database)
    before = cpu_snapshot({}, postmaster), os.times()
    done = subprocess.run([binary, "-c", str(clients), "-j", str(jobs), "-T", str(seconds), *connection],
                          check=True, capture_output=True, text=True, env=environment, timeout=seconds + 300)
    wait_until_backends_gone(postmaster, database)
    after = cpu_snapshot({}, postmaster), os.times()
    ours = (after[1].children_user + after[1].children_system - before[1].children_user - before[1].children_system
            + after[0].get("PostgreSQL", 0.0) - before[0].get("PostgreSQL", 0.0))
    others = (after[0]["machine busy"] - before[0]["machine busy"] - ours) / (after[1].elapsed - before[1].elapsed)
    match = re.search(r"tps = ([0-9.]+) \(without initial connection time\)", done.stdout)
    if match is None:
        raise RuntimeError(f"no TPS in pgbench's output:\n{done.stdout}\n{done.stderr}")
    return float(match.group(1)), match.group(0), max(others, 0.0)


# ---------------------------------------------------------------- report

def percentile(values: list[float], q: float) -> float:
    """The nearest-rank q-th percentile of values (0 when empty)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def latency_line(label: str, values: list[float]) -> str:
    """'label  n  p50  p99  max' in milliseconds."""
    return (f"  {label:<28}{len(values):>7}  p50 {percentile(values, 50) * 1000:8.1f} ms"
            f"  p99 {percentile(values, 99) * 1000:8.1f} ms  max {max(values, default=0) * 1000:8.1f} ms")


def report_load(load: LoadResult, clients: int, statements: int, topology: Topology) -> list[str]:
    """The load part of the report."""
    stats, elapsed = load.stats, load.elapsed
    flows = len(stats.flow_seconds)
    polls_per_flow = len(stats.latencies["poll"]) / flows if flows else 0.0
    lines = [
        f"counter flows: {clients} clients for {elapsed:.1f} s (create -> pay by code -> long-poll until posted)",
        f"  completed bill payments    {flows:>7}   {flows / elapsed:8.1f} payments/s",
        f"  terminal API requests      {stats.requests:>7}   {stats.requests / elapsed:8.1f} requests/s"
        f"   ({polls_per_flow:.2f} long-polls per flow)",
        f"  errors                     {sum(stats.errors.values()):>7}   {dict(stats.errors) or ''}",
        "latency of the terminal API (n, milliseconds):",
        latency_line("POST /orders (create)", stats.latencies["create"]),
        latency_line("POST /orders/{no}/pay/code", stats.latencies["pay"]),
        latency_line("create + pay", stats.latencies["create"] + stats.latencies["pay"]),
        latency_line("GET /orders/{no}?wait (poll)", stats.latencies["poll"]),
        latency_line("all requests", [v for values in stats.latencies.values() for v in values]),
        latency_line("whole flow (create->posted)", stats.flow_seconds),
    ]
    cpu = load.cpu
    cores = cpu["machine total"] / elapsed
    ours = {name: value for name, value in cpu.items() if not name.startswith("machine")}
    lines.append(f"CPU during the load, in cores of {cores:.0f} ({cpu['machine busy'] / cpu['machine total'] * 100:.0f}% busy): "
                 + ", ".join(f"{name} {value / elapsed:.2f}" for name, value in ours.items())
                 + f", other processes on the machine {other_processes_cores(load):.2f}")
    if flows:
        per_payment = []
        for name, value in ours.items():
            if name != "load generator":
                per_payment.append(f"{name} {value / flows * 1000:.1f} ms")
            if name == "worker":
                per_payment.append(f"hub + worker {hub_side_cpu(cpu) / flows * 1000:.1f} ms")
        lines.append("  CPU per bill payment: " + ", ".join(per_payment))
    lines.append(f"PostgreSQL calls during the load (pg_stat_statements; {topology.who()}):")
    lines += (load.calls.per(flows, "bill payment", top=statements) if load.calls is not None
              else ["  not counted: pg_stat_statements is not loaded on this server"])
    lines += [f"  sample error: {sample}" for sample in stats.samples[:5]]
    return lines


def hub_side_cpu(cpu: dict[str, float]) -> float:
    """CPU seconds of all the hub's Python: its API processes and its workers (or the one with the embedded worker)."""
    return cpu["hub"] + cpu.get("worker", 0.0)


def other_processes_cores(load: LoadResult) -> float:
    """Cores used during the load by processes that are neither ours nor PostgreSQL."""
    ours = sum(value for name, value in load.cpu.items() if not name.startswith("machine"))
    return max(load.cpu["machine busy"] - ours, 0.0) / load.elapsed


def report_audit(result: Audit, unsettled: int) -> list[str]:
    """The consistency part of the report."""
    balances = ", ".join(f"{code} {balance}" for code, balance in sorted(result.balances.items()))
    return [
        f"consistency: orders by state {result.states}; not final after {SETTLE_TIMEOUT:.0f} s: {unsettled}; "
        f"parked jobs {result.parked_jobs}",
        f"  posted amounts {result.posted_sum} fen; ledger: {balances}; journal entries {result.entries}",
        f"  {'OK: every order posted, channel clearing = biller payable = sum of amounts' if result.ok else 'FAILED'}",
    ]


def report_ratio(load: LoadResult, tps: float, summary: str, others: float, args: argparse.Namespace) -> list[str]:
    """pgbench's figure and ours as a ratio of it."""
    payments = len(load.stats.flow_seconds) / load.elapsed
    requests = load.stats.requests / load.elapsed
    return [
        f"pgbench TPC-B (-i -s {args.pgbench_scale}; -c {args.pgbench_clients} -j {args.pgbench_jobs} "
        f"-T {args.pgbench_seconds}), same cluster: {summary}; other processes on the machine {others:.2f} cores",
        f"  bill payments/s / pgbench TPS = {payments:.1f} / {tps:.1f} = {payments / tps:.4f}"
        f"   (one bill payment costs as much as {tps / payments if payments else math.inf:.1f} TPC-B transactions)",
        f"  API requests/s  / pgbench TPS = {requests:.1f} / {tps:.1f} = {requests / tps:.4f}",
        *report_targets(load, payments / tps, others, args.clients, Topology(args.hubs, args.workers)),
        *report_ceiling(load, tps),
    ]


def report_targets(load: LoadResult, ratio: float, pgbench_others: float, clients: int, topology: Topology) -> list[str]:
    """This run against issue 9's targets for the counter flow."""
    flows = len(load.stats.flow_seconds)
    round_trips = f"{load.calls.round_trips / flows:.1f}" if load.calls is not None and flows else "-"
    hub_cpu = f"{hub_side_cpu(load.cpu) / flows * 1000:.1f} ms" if flows else "-"
    whose = "hub with embedded worker" if topology.embedded else "hub API + worker processes"
    return [
        "issue 9 targets (this run / target):",
        f"  {'bill payments/s / pgbench TPS':<50}{ratio:10.4f}   >= 0.05",
        f"  {'round trips per payment':<50}{round_trips:>10}   <= 15",
        f"  {f'hub CPU per payment ({whose})':<50}{hub_cpu:>10}   <= 8 ms",
        f"  {f'whole-flow p99 at {clients} clients':<50}{percentile(load.stats.flow_seconds, 99) * 1000:7.0f} ms"
        "   <= 300 ms at 16",
        f"  other processes on the machine: {other_processes_cores(load):.2f} cores during the load, "
        f"{pgbench_others:.2f} during pgbench (compare runs only when both are near 0)",
    ]


def report_ceiling(load: LoadResult, tps: float) -> list[str]:
    """What the machine allows at this run's CPU per payment (the hub, its workers, the sandboxes, the load generator
    and PostgreSQL share its cores), and what the 0.05x target would allow all of them together."""
    flows = len(load.stats.flow_seconds)
    if not flows:
        return []
    cores = os.cpu_count() or 1
    everything = sum(value for name, value in load.cpu.items() if not name.startswith("machine")) / flows * 1000
    ceiling = cores * 1000 / everything
    return [
        f"  the machine's ceiling at this cost: {cores} cores / {everything:.1f} ms of CPU per payment (all processes"
        f" above) = {ceiling:.0f} payments/s = {ceiling / tps:.4f}x pgbench;",
        f"  0.05x pgbench would leave {cores * 1000 / (0.05 * tps):.1f} ms per payment for all of them together",
    ]


# ---------------------------------------------------------------- main

@dataclass
class Outcome:
    """Everything one hub run produced."""

    load: LoadResult
    audit: Audit
    unsettled: int
    database: dict[str, int]  # pg_stat_database deltas over the hub's whole life
    log_problems: list[str]


def run_hub_and_load(args: argparse.Namespace, server_url: str, db_url: str, run_dir: Path) -> Outcome:
    """Migrate and seed, start the sandboxes and the hub, drive the load, let the hub settle, stop, audit."""
    topology = Topology(args.hubs, args.workers)
    limit = connection_limit(db_url)
    pool_size = pool_size_for(topology, limit)
    hub_port, sandbox_port = free_port(), free_port()
    settings = settings_for(db_url=db_url, hub_port=hub_port, sandbox_port=sandbox_port, pool_size=pool_size,
                            embedded_worker=topology.embedded)
    upgrade(url=db_url)
    tills = asyncio.run(seed(Settings(**settings), args.clients))
    hub_url = f"http://{LOOPBACK}:{hub_port}"
    counters_before = database_counters(db_url)
    with server_process("sandboxes", settings, ready_url=f"http://{LOOPBACK}:{sandbox_port}/",
                        log_path=run_dir / "sandboxes.log") as sandboxes, \
            hub_processes(topology, settings, db_url=db_url, run_dir=run_dir) as hub:
        pids = {**hub.pids(), "sandboxes": [sandboxes.pid], "load generator": [os.getpid()]}
        postmaster = local_postmaster(db_url)
        listed = "; ".join(f"{name} pid{'s' if len(group) > 1 else ''} {', '.join(map(str, group))}"
                           for name, group in hub.pids().items())
        print(f"hub {hub_url}: {topology.describe()} ({listed}); DB pool size {pool_size} "
              f"per process, at most {most_connections(topology, pool_size)} of the server's {limit} connections; "
              f"sandboxes :{sandbox_port} (pid {sandboxes.pid}); {args.clients} terminals seeded; logs in {run_dir}",
              flush=True)
        counted = statement_stats_available(server_url)

        def snapshot() -> Sample:
            return Sample(cpu_snapshot(pids, postmaster), statement_calls(server_url, HUB_DATABASE) if counted else None)

        load = asyncio.run(run_load(tills, hub_url, args.seconds, snapshot))
        engine = sa.create_engine(db_url)
        try:
            unsettled = wait_until_settled(engine)
        finally:
            engine.dispose()
    time.sleep(1.0)  # the hub's backends report their statistics as they exit
    counters_after = database_counters(db_url)
    engine = sa.create_engine(db_url)
    try:
        result = audit(engine)
    finally:
        engine.dispose()
    delta = {name: counters_after[name] - counters_before[name] for name in DB_COUNTERS}
    return Outcome(load, result, unsettled, delta, log_problems(hub.logs))


def report_database(delta: dict[str, int], posted: int, topology: Topology) -> list[str]:
    """What the hub asked of PostgreSQL over its whole life (start, warm-up, load, settling), per posted order."""
    def per(value: int) -> str:
        return f"{value / posted:.1f}" if posted else "-"

    transactions = delta["xact_commit"] + delta["xact_rollback"]
    rows = delta["tup_inserted"] + delta["tup_updated"] + delta["tup_deleted"]
    whose = "the hub over its" if topology.embedded else f"{topology.who()} over their"
    return [
        f"PostgreSQL work of {whose} whole life, {posted} orders posted (pg_stat_database):",
        f"  transactions {transactions} ({per(transactions)} per order; {delta['xact_commit']} commits, "
        f"{delta['xact_rollback']} rollbacks); rows written {rows} ({per(rows)} per order); "
        f"connections opened {delta['sessions']} ({per(delta['sessions'])} per order)",
    ]


def main(argv: list[str]) -> int:
    """Run everything and print the report; exit 1 when the flows failed or the books do not balance."""
    args = parse_args(argv)
    topology = Topology(args.hubs, args.workers)
    run_dir = Path(tempfile.mkdtemp(prefix="payhub-bench-"))
    began = time.monotonic()
    with postgres_server(args.pg_url) as server_url:
        db_url = recreate_database(server_url, HUB_DATABASE)
        print(f"PostgreSQL {server_version(db_url)} at {make_url(db_url).host}:{make_url(db_url).port}, "
              f"{os.cpu_count()} CPUs; hub: {topology.describe()}", flush=True)
        outcome = run_hub_and_load(args, server_url, db_url, run_dir)
        problems = outcome.log_problems
        lines = (report_load(outcome.load, args.clients, args.statements, topology)
                 + report_audit(outcome.audit, outcome.unsettled)
                 + report_database(outcome.database, outcome.audit.states.get("fulfilled", 0), topology))
        logs = "hub log" if topology.embedded else f"hub logs ({topology.processes} files)"
        lines.append(f"{logs}: {len(problems)} ERROR/traceback lines" + (f"; first: {problems[0][:600]}" if problems else ""))
        print("\n".join(lines), flush=True)
        tps, summary, others = run_pgbench(recreate_database(server_url, PGBENCH_DATABASE), scale=args.pgbench_scale,
                                   clients=args.pgbench_clients, jobs=args.pgbench_jobs, seconds=args.pgbench_seconds)
        print("\n".join(report_ratio(outcome.load, tps, summary, others, args)), flush=True)
    print(f"total run time {time.monotonic() - began:.0f} s", flush=True)
    load = outcome.load
    return 0 if outcome.audit.ok and not load.stats.errors and load.stats.flow_seconds else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
