"""Benchmark of card consumes against PostgreSQL, through the service layer (each consume its own transaction, and
grouped by a ConsumeBatcher) and through the HTTP API (which groups them), with 1, 8 and 32 concurrent clients,
compared with pgbench TPC-B on the same cluster in the same run.

    .venv/bin/python bench/cards_consume.py [--pg-url URL] [--seconds 10] [--pgbench-seconds 30]
        [--hubs 1] [--workers 0] [--quick]

Every consume is the full path: idempotency row by (merchant, out_trade_no), card row locked and its state checked,
per-transaction and per-day card limits (the usage-row upsert), a guarded balance update on the card's ledger
account, a sharded credit to the one hot merchant every client pays, legs and entry, an event row, the
suspicious-transaction burst query, commit. Each client pays from its own card (one card serializes by design);
all clients pay the same merchant SHOP1 (its payable account is sharded). Grouped, the consumes that arrive while
a batch is being booked share the next transaction, each still refused or replayed on its own. Prints the CPU
each run used (ours, PostgreSQL's and that of other processes on the machine) and PostgreSQL's statements,
transactions and round trips per consume (pg_stat_statements), and the rates as ratios of pgbench next to issue 9's
targets. Not a test: it measures.
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import os
import secrets
import sys
import tempfile
import time
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parents[1])]

import counter_flow as cf  # noqa: E402  (the counter benchmark's cluster, process and pgbench helpers)
import httpx  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from payhub.kernel.adapters.db.migrate import upgrade  # noqa: E402
from payhub.bootstrap import build  # noqa: E402
from payhub.config import Settings  # noqa: E402
from payhub.cards.domain.money import Funding, TxChannel  # noqa: E402
from payhub.cards.domain.cards import CardKind, luhn_digit  # noqa: E402
from payhub.entrypoints.terminal_client import TerminalClient  # noqa: E402
from payhub.kernel.services import admin  # noqa: E402
from payhub.cards.services import lifecycle as card_lifecycle  # noqa: E402
from payhub.cards.services import limits as card_limits  # noqa: E402
from payhub.cards.services import money as card_money  # noqa: E402
from payhub.cards.services.consumes import ConsumeBatcher  # noqa: E402
from tests.cards.invariants import check_ledger  # noqa: E402

LEVELS = (1, 8, 32)
DATABASE = "payhub_cards_bench"
AMOUNT = 1
FUNDS = 100_000_000
QUICK = {"seconds": 5.0, "pgbench_seconds": 15}
TARGETS = {"service layer": 0.1, "service grouped": 0.5, "HTTP API": 0.15}  # issue 9, as ratios of pgbench TPS


def card_no(n: int) -> str:
    body = f"886600{n:09d}"
    return body + luhn_digit(body)


async def seed(settings: Settings, clients: int) -> list[tuple[str, str, str]]:
    """The issuer, SHOP1 (offline consumes of AMOUNT without the pay password), limits, one funded card per client, one terminal and operator per client."""
    container = build(settings)
    hub, tills = container.hub, []
    try:
        merchant = await admin.create_merchant(hub=hub, code=cf.MERCHANT, name="储值卡基准")
        await card_lifecycle.add_card_merchant(hub=hub, merchant_id=merchant.id, code="SHOP1", name="热点商户")
        await card_lifecycle.set_pinless_offline(hub=hub, merchant_id=merchant.id, code="SHOP1", max_amount=100 * AMOUNT)
        await card_limits.set_limit(hub=hub, merchant_id=merchant.id, subject="card:*", per_txn=10_000, per_day=10**12)
        account = await card_lifecycle.open_account(hub=hub, merchant_id=merchant.id, holder_name="基准",
                                                    phone="13800000000", pay_password="123456")
        for n in range(clients):
            await card_lifecycle.open_card(hub=hub, merchant_id=merchant.id, account_no=account.account_no,
                                           card_no=card_no(n), kind=CardKind.PHYSICAL, actor="bench")
            await card_lifecycle.audit(hub=hub, merchant_id=merchant.id, card_no=card_no(n), actor="bench")
            await card_lifecycle.activate(hub=hub, merchant_id=merchant.id, card_no=card_no(n), actor="bench")
            await card_money.recharge(hub=hub, merchant_id=merchant.id, merchant_code="SHOP1", card_no=card_no(n),
                                      out_trade_no=f"fund{n}", amount=FUNDS, funding=Funding.CASH,
                                      channel=TxChannel.OFFLINE)
            terminal, username, password = f"T{n:03d}", f"op{n:03d}", secrets.token_hex(8)
            _, key = await admin.create_terminal(hub=hub, merchant_code=cf.MERCHANT, code=terminal, name=terminal)
            await admin.create_operator(hub=hub, merchant_code=cf.MERCHANT, username=username, display_name=username,
                                        role="operator", password=password)
            tills.append((terminal, key, f"{username}:{password}"))
    finally:
        await container.close()
    return tills


async def service_run(settings: Settings, merchant_id: int, clients: int, seconds: float, run: str,
                      grouped: bool) -> tuple[int, list[str]]:
    """Consumes through card_money.consume from `clients` tasks in this process, grouped or not; (done, errors)."""
    container = build(settings)
    batcher = ConsumeBatcher() if grouped else None
    counter, errors = itertools.count(), []
    deadline = time.monotonic() + seconds

    async def client(n: int) -> int:
        done = 0
        while time.monotonic() < deadline:
            try:
                await card_money.consume(hub=container.hub, merchant_id=merchant_id, merchant_code="SHOP1",
                                         card_no=card_no(n), out_trade_no=f"{run}-{next(counter)}", amount=AMOUNT,
                                         channel=TxChannel.OFFLINE, pay_password=None, batcher=batcher)
                done += 1
            except Exception as error:  # noqa: BLE001 - counted, the run goes on
                errors.append(f"{type(error).__name__}: {error}")
        return done

    try:
        return sum(await asyncio.gather(*(client(n) for n in range(clients)))), errors
    finally:
        await container.close()


async def api_run(base_url: str, tills: list, clients: int, seconds: float, run: str,
                  meter: Meter) -> tuple[int, list[str]]:
    """Consumes through POST /api/v1/cards/consumes, one signed terminal client per task; (done, errors). Every
    till signs in first: the meter measures the consumes only, not the password checks of the sign-ins."""
    counter, errors = itertools.count(), []

    async def client(n: int, session: TerminalClient) -> int:
        deadline, done = time.monotonic() + seconds, 0
        while time.monotonic() < deadline:
            response = await session.request("POST", "/api/v1/cards/consumes", body={
                "card_no": card_no(n), "merchant_code": "SHOP1", "out_trade_no": f"{run}-{next(counter)}",
                "amount": AMOUNT, "channel": "offline"})
            if response.status_code == 200:
                done += 1
            else:
                errors.append(f"HTTP {response.status_code}: {response.text[:300]}")
        return done

    async with contextlib.AsyncExitStack() as stack:
        sessions = []
        for terminal, key, _ in tills[:clients]:
            http = await stack.enter_async_context(httpx.AsyncClient(base_url=base_url, timeout=60))
            sessions.append(TerminalClient(http=http, terminal=terminal, key=key))
        await asyncio.gather(*(session.login(*login.split(":"))
                               for session, (_, _, login) in zip(sessions, tills, strict=False)))
        with meter:
            done = sum(await asyncio.gather(*(client(n, session) for n, session in enumerate(sessions))))
    return done, errors


class Meter:
    """CPU used during a run by our processes, by PostgreSQL (when local) and by everything else, and PostgreSQL's
    calls in the bench database (when counted). With closing, the run's connections close at its end: the snapshot
    waits for their backends to be reaped, else their CPU would be counted as other processes'."""

    def __init__(self, postmaster: int | None, pids: dict[str, int | list[int]], *, server_url: str | None,
                 closing: bool) -> None:
        self.postmaster, self.pids, self.server_url, self.closing = postmaster, pids, server_url, closing

    def sample(self) -> cf.Sample:
        calls = cf.statement_calls(self.server_url, DATABASE) if self.server_url else None
        return cf.Sample(cf.cpu_snapshot(self.pids, self.postmaster), calls)

    def __enter__(self) -> Meter:
        if self.closing:
            cf.wait_until_backends_gone(self.postmaster, DATABASE)
        self.before, self.started = self.sample(), time.monotonic()
        return self

    def __exit__(self, *_: object) -> None:
        if self.closing:
            cf.wait_until_backends_gone(self.postmaster, DATABASE)
        self.elapsed = time.monotonic() - self.started
        self.cpu, self.calls = cf.difference(self.before, self.sample())

    def lines(self, done: int) -> list[str]:
        """CPU in cores and per consume, PostgreSQL calls per consume."""
        ours = [name for name in (*self.pids, "PostgreSQL") if name in self.cpu]
        others = max(self.cpu["machine busy"] - sum(self.cpu[name] for name in ours), 0.0) / self.elapsed
        per = ", ".join(f"{name} {self.cpu[name] / done * 1000:.2f}" for name in ours) if done else "-"
        calls = self.calls.per(done, "consume", top=0) if self.calls is not None else []
        everything = sum(self.cpu[name] for name in ours) / done * 1000 if done else 0.0
        cores = os.cpu_count() or 1
        ceiling = (f"; the machine's ceiling at this cost: {cores} cores / {everything:.2f} ms = "
                   f"{cores * 1000 / everything:.0f} consumes/s") if everything else ""
        return [f"      CPU cores: {', '.join(f'{name} {self.cpu[name] / self.elapsed:.2f}' for name in ours)}, "
                f"other processes {others:.2f}; CPU ms per consume: {per}{ceiling}", *(f"    {line}" for line in calls)]


def report(rows: list, path: str, clients: int, done: int, errors: list[str], seconds: float, meter: Meter) -> None:
    rows.append((path, clients, done / seconds, len(errors)))
    print("\n".join([f"  {path:<16}{clients:>3} clients: {done / seconds:8.1f} consumes/s  errors {len(errors)}",
                     *meter.lines(done), *(f"      first error: {errors[0]}" for _ in errors[:1])]), flush=True)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pg-url", help="an existing server; default: a throwaway cluster from scripts/pg.sh")
    parser.add_argument("--seconds", type=float, default=10, help="load per level and path (10)")
    parser.add_argument("--pgbench-seconds", type=int, default=30)
    parser.add_argument("--hubs", type=int, default=1,
                        help="hub API processes on one port for the HTTP runs (1: one hub with its embedded worker)")
    parser.add_argument("--workers", type=int, default=0,
                        help="job worker processes beside them; --hubs above 1 needs at least 1 (0)")
    parser.add_argument("--quick", action="store_true", help=f"a short run for a shared machine: {QUICK}")
    args = parser.parse_args(argv)
    if not 1 <= args.hubs <= cf.MAX_HUBS or not 0 <= args.workers <= cf.MAX_WORKERS:
        parser.error(f"--hubs must be 1..{cf.MAX_HUBS}, --workers 0..{cf.MAX_WORKERS}")
    if args.hubs > 1 and args.workers == 0:
        parser.error("--hubs above 1 needs --workers 1 or more: the hub API processes then run without embedded "
                     "workers")
    topology = cf.Topology(args.hubs, args.workers)
    if args.quick:
        vars(args).update(QUICK)
    began, rows, failed = time.monotonic(), [], False
    with cf.postgres_server(args.pg_url) as server_url:
        db_url = cf.recreate_database(server_url, DATABASE)
        upgrade(url=db_url)
        print(f"PostgreSQL {cf.server_version(db_url)} at {make_url(db_url).host}:{make_url(db_url).port}, "
              f"{os.cpu_count()} CPUs", flush=True)
        postmaster = cf.local_postmaster(db_url)
        counted = server_url if cf.statement_stats_available(server_url) else None
        kwargs = cf.settings_for(db_url=db_url, hub_port=cf.free_port(), sandbox_port=cf.free_port(),
                                 embedded_worker=topology.embedded) | {"log_json": True, "db_pool_size": (
            40 if topology.embedded else cf.pool_size_for(topology, cf.connection_limit(db_url)))}
        settings = Settings(**kwargs)
        tills = asyncio.run(seed(settings, max(LEVELS)))
        merchant_id = 1
        for path, grouped, prefix in (("service layer", False, "s"), ("service grouped", True, "g")):
            for clients in LEVELS:
                with Meter(postmaster, {"bench": os.getpid()}, server_url=counted, closing=True) as meter:
                    done, errors = asyncio.run(service_run(settings, merchant_id, clients, args.seconds,
                                                           f"{prefix}{clients}", grouped))
                report(rows, path, clients, done, errors, args.seconds, meter)
        run_dir = Path(tempfile.mkdtemp(prefix="payhub-cards-bench-"))
        hub_url = f"http://{cf.LOOPBACK}:{settings.port}"
        print(f"HTTP runs: {topology.describe()}; logs in {run_dir}", flush=True)
        with cf.hub_processes(topology, kwargs, db_url=db_url, run_dir=run_dir) as hub:
            for clients in LEVELS:
                meter = Meter(postmaster, {"bench": os.getpid(), **hub.pids()}, server_url=counted, closing=False)
                done, errors = asyncio.run(api_run(hub_url, tills, clients, args.seconds, f"a{clients}", meter))
                report(rows, "HTTP API", clients, done, errors, args.seconds, meter)
        container = build(settings)
        try:
            balances = asyncio.run(check_ledger(container.database))
        finally:
            asyncio.run(container.close())
        spent = sum(FUNDS - v for k, v in balances.items() if k.startswith("card:"))
        hot = sum(v for k, v in balances.items() if k.startswith("cardmerchant:SHOP1:payable:"))
        print(f"books: every entry balanced, balances = sum of legs, versions = leg counts; cards spent {spent} fen "
              f"= SHOP1 payable over its shards {hot} fen: {'OK' if spent == hot else 'MISMATCH'}", flush=True)
        failed = spent != hot
        tps, summary, others = cf.run_pgbench(cf.recreate_database(server_url, cf.PGBENCH_DATABASE), scale=10, clients=8,
                                              jobs=2, seconds=args.pgbench_seconds)
        print(f"pgbench TPC-B (-i -s 10; -c 8 -j 2 -T {args.pgbench_seconds}), same cluster: {summary}; "
              f"other processes on the machine {others:.2f} cores", flush=True)
        for path, clients, rate, errors in rows:
            target = f"   issue 9 target >= {TARGETS[path]}" + (" at 32 clients" if path == "HTTP API" else "")
            print(f"  {path:<16}{clients:>3} clients  {rate:8.1f} consumes/s  / pgbench {tps:.1f} TPS = {rate / tps:.3f}"
                  + (target if clients == max(LEVELS) else ""), flush=True)
    print(f"total run time {time.monotonic() - began:.0f} s", flush=True)
    return 1 if failed or any(errors for *_, errors in rows) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
