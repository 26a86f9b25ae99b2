"""Issue 7: `payhub serve` and `payhub worker` on PostgreSQL are SIGKILLed at random moments during a mixed load of
counter payments and card money, and started again. Afterwards every order is final, nothing was booked twice at
TCIS, at SwiftPass or on a card, and the hub's ledger agrees with both sandboxes (separate processes that never
die: they are the far side's truth).

The seed (PAYHUB_KILL_SEED, else a random one) chooses the load and when to kill what; every failure names it.
The exact instants still depend on timing, so a seed narrows a failure down rather than replaying it.
"""
from __future__ import annotations

import asyncio
import json
import os
import random
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psycopg
import pytest

from payhub.kernel.domain.ledger import family_of
from payhub.bootstrap import build
from payhub.config import Settings, SwiftPassAccount, SwiftPassSettings, TcisSettings
from payhub.cards.domain.money import Funding, TxChannel
from payhub.cards.domain.cards import luhn_digit
from payhub.entrypoints.terminal_client import TerminalClient
from payhub.kernel.services import admin
from payhub.cards.services import lifecycle as card_lifecycle
from payhub.cards.services import money as card_money
from tests.support.cards import open_active_card
from tests.support.harness import WECHAT, code_for
from tests.support.processes import LOOPBACK, Fleet, free_port

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(240)]

MCH_ID, MD5_KEY, TCIS_SECRET = "755437000078", "kill-load-md5-key", "kill-load-tcis-secret"
COUNTER_LANES, CARD_LANES = 6, 3
CARDS, CARD_START, PAY_PASSWORD, SHOP = 8, 100_000, "246810", "SHOP1"
# A kill cuts pay password checks, and a cut try stays counted as a wrong one (cards/services/pin.py: a crash must not
# give a guesser more tries); with the default 3 a few kills freeze every card and the card lanes get nowhere.
PASSWORD_TRIES = 10
LOAD_SECONDS = 45        # no kill starts later than this; the lanes stop once the kills are done
SETTLE_SECONDS = 40      # then every order must be final within this
RESEND_SECONDS = 30      # a terminal resends one request at most this long
FINAL = ["fulfilled", "pay_failed", "closed", "refunded", "manual"]
PAID_AT_CHANNEL = {"SUCCESS", "REFUND"}
PAYMENT_CODES = {  # how a lane pays by payment code: the sandbox scenario the code's last digits choose
    "paid": WECHAT, "declined": code_for(91), "slow": code_for(94), "user_paying": code_for(95),
    "never_confirmed": code_for(96),
}


def _card_no(n: int) -> str:
    body = f"886600{n:09d}"
    return body + luhn_digit(body)


def _amount(rng: random.Random) -> int:
    """Fen whose last two digits choose no sandbox scenario (91-99 would, for QR trades)."""
    return rng.randrange(1, 200) * 100 + rng.randrange(0, 90)


@dataclass
class Record:
    """What the terminals sent and what they were told: the test's own account of the load."""

    orders: dict[str, dict] = field(default_factory=dict)            # out_trade_no -> {order_no, plan, amount}
    card_ok: dict[tuple[str, str], dict] = field(default_factory=dict)  # (kind, out_no) -> {card_no, amount}
    card_refused: dict[tuple[str, str], str] = field(default_factory=dict)
    cut: int = 0                                                     # requests cut off by a kill
    answered: int = 0                                                # requests the hub answered
    server_errors: list[str] = field(default_factory=list)
    answers: Counter = field(default_factory=Counter)                # (path kind, status, code) of non-2xx answers
    kills: list[str] = field(default_factory=list)


@dataclass
class World:
    fleet: Fleet
    db_url: str
    hub_url: str
    swiftpass_url: str
    tcis_url: str
    keys: dict[str, str]


@pytest.fixture
async def world(db_url: str, tmp_path: Path) -> AsyncIterator[World]:
    ports = {name: free_port() for name in ("hub", "swiftpass", "tcis")}
    urls = {name: f"http://{LOOPBACK}:{port}" for name, port in ports.items()}
    env = os.environ | {
        "PAYHUB_DEMO": "true", "PAYHUB_DATABASE_URL": db_url, "PAYHUB_PUBLIC_URL": urls["hub"],
        "PAYHUB_EMBEDDED_WORKER": "false", "PAYHUB_DB_POOL_SIZE": "6",
        "PAYHUB_SWIFTPASS__BASE_URL": urls["swiftpass"], "PAYHUB_SWIFTPASS__TIMEOUT_SECONDS": "2",
        "PAYHUB_SWIFTPASS__ACCOUNTS": json.dumps({"M1": {"mch_id": MCH_ID, "key": MD5_KEY}}),
        "PAYHUB_TCIS__BASE_URL": urls["tcis"], "PAYHUB_TCIS__SECRET": TCIS_SECRET, "PAYHUB_TCIS__TIMEOUT_SECONDS": "2",
        "PAYHUB_JOB_LEASE_SECONDS": "2", "PAYHUB_WORKER_POLL_SECONDS": "0.2",
        "PAYHUB_MICROPAY_POLL_SECONDS": "1", "PAYHUB_MICROPAY_POLL_CAP_SECONDS": "8",
    }
    logs = tmp_path / "logs"
    logs.mkdir()
    fleet = Fleet(env=env, logs=logs)
    fleet.add("swiftpass", "sandbox", "swiftpass", "--host", LOOPBACK, "--port", str(ports["swiftpass"]),
              "--mch-id", MCH_ID, "--key", MD5_KEY, up_url=f"{urls['swiftpass']}/_sandbox/trades")
    fleet.add("tcis", "sandbox", "tcis", "--host", LOOPBACK, "--port", str(ports["tcis"]), "--secret", TCIS_SECRET,
              up_url=f"{urls['tcis']}/_sandbox/customers")
    fleet.add("hub", "serve", "--host", LOOPBACK, "--port", str(ports["hub"]), up_url=f"{urls['hub']}/healthz")
    fleet.add("worker", "worker")
    try:
        for name in fleet.services:
            fleet.spawn(name)
        keys = await _seed(db_url)
        for name in fleet.services:
            await asyncio.to_thread(fleet.wait_up, name)
        yield World(fleet, db_url, urls["hub"], urls["swiftpass"], urls["tcis"], keys)
    finally:
        fleet.stop_all()


async def _seed(db_url: str) -> dict[str, str]:
    """Merchant M1 with a terminal and an operator per lane, a supervisor, and CARDS cards of CARD_START fen each
    whose pay password allows PASSWORD_TRIES tries."""
    container = build(Settings(
        demo=True, database_url=db_url, db_pool_size=2,
        swiftpass=SwiftPassSettings(accounts={"M1": SwiftPassAccount(mch_id=MCH_ID, key=MD5_KEY)}),
        tcis=TcisSettings(secret=TCIS_SECRET),
    ))
    hub = container.hub
    keys = {}
    try:
        merchant = await admin.create_merchant(hub=hub, code="M1", name="杀进程混合负载")
        for lane in range(COUNTER_LANES + CARD_LANES):
            keys[f"T{lane}"] = f"kill-load-terminal-key-{lane:02d}"
            await admin.create_terminal(hub=hub, merchant_code="M1", code=f"T{lane}", name=f"{lane}号柜台",
                                        key=keys[f"T{lane}"])
            await admin.create_operator(hub=hub, merchant_code="M1", username=f"op{lane}", display_name=f"柜员{lane}",
                                        role="operator", password=f"op{lane}-pass")
        await admin.create_operator(hub=hub, merchant_code="M1", username="sup1", display_name="主管",
                                    role="supervisor", password="sup1-pass")
        await card_lifecycle.add_card_merchant(hub=hub, merchant_id=merchant.id, code=SHOP, name="门店")
        await card_lifecycle.configure_program(hub=hub, merchant_id=merchant.id, push_url=None, push_secret=None,
                                               password_tries=PASSWORD_TRIES)
        for n in range(CARDS):
            card = await open_active_card(hub=hub, merchant_id=merchant.id, card_no=_card_no(n),
                                          phone=f"1370000000{n}", pay_password=PAY_PASSWORD)
            await card_money.recharge(hub=hub, merchant_id=merchant.id, merchant_code=SHOP, card_no=card,
                                      out_trade_no=f"LOAD{n}", amount=CARD_START, funding=Funding.CASH,
                                      channel=TxChannel.OFFLINE)
    finally:
        await container.close()
    return keys


class Terminal:
    """One counter: signs, and resends the very same request while a kill keeps the hub away (bounded)."""

    def __init__(self, *, http: httpx.AsyncClient, code: str, key: str, record: Record) -> None:
        self.client = TerminalClient(http=http, terminal=code, key=key)
        self.record = record

    async def login(self, username: str, password: str) -> None:
        answer = await self.send("POST", "/api/v1/session", {"username": username, "password": password})
        assert answer.status_code == 200, answer.text
        self.client.token = answer.json()["token"]

    async def send(self, method: str, path: str, body: dict | None = None,
                   params: dict | None = None) -> httpx.Response:
        """The hub's answer; 5xx and "in progress" answers are resent too, a 5xx is also written down."""
        deadline = time.monotonic() + RESEND_SECONDS
        while True:
            try:
                response = await self.client.request(method, path, body=body, params=params)
            except httpx.TransportError:
                self.record.cut += 1
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.3)
                continue
            self.record.answered += 1
            code = _error_code(response)
            if response.status_code >= 500:
                self.record.server_errors.append(f"{method} {path}: {response.status_code} {response.text[:200]}")
            elif response.status_code >= 400:
                route = "/".join(part for part in path.split("/") if not any(ch.isdigit() for ch in part))
                self.record.answers[(route, response.status_code, code)] += 1
            busy = response.status_code >= 500 or "IN_PROGRESS" in code
            if busy and time.monotonic() < deadline:
                await asyncio.sleep(0.3)
                continue
            return response


def _error_code(response: httpx.Response) -> str:
    try:
        return str(response.json().get("error", {}).get("code", ""))
    except (ValueError, AttributeError):
        return ""


async def _counter_lane(lane: int, terminal: Terminal, swiftpass: httpx.AsyncClient, rng: random.Random,
                        stop: asyncio.Event) -> None:
    """A counter's day: orders paid by payment code (sandbox scenarios), by QR, closed QRs, refused postings,
    a supervisor's partial refund now and then."""
    await terminal.login(f"op{lane}", f"op{lane}-pass")
    plans = ["paid"] * 5 + ["declined", "slow", "user_paying", "never_confirmed", "qr_paid", "qr_paid", "qr_paid",
                            "qr_notify_chaos", "qr_closed", "refused", "refund", "refund"]
    for i in range(40):
        if stop.is_set():
            return
        plan, out = rng.choice(plans), f"L{lane}-{i}"
        amount = _amount(rng) // 100 * 100 + 99 if plan == "qr_notify_chaos" else _amount(rng)  # 99: notifies twice
        account = "10010091" if plan == "refused" else rng.choice(["10010001", "10010002", "20010001", "30010001"])
        terminal.record.orders[out] = {"plan": plan, "amount": amount, "order_no": None}
        created = await terminal.send("POST", "/api/v1/orders", {
            "out_trade_no": out, "fee_type": "other", "account_no": account, "amount": amount})
        assert created.status_code in (200, 201), created.text
        order_no = created.json()["order_no"]
        terminal.record.orders[out]["order_no"] = order_no
        if plan.startswith("qr"):
            await terminal.send("POST", f"/api/v1/orders/{order_no}/pay/qr")
            paid = plan != "qr_closed" and (await swiftpass.post(f"/_sandbox/trades/{order_no}/pay")).status_code == 200
            if not paid:
                await terminal.send("POST", f"/api/v1/orders/{order_no}/close")
        else:
            code = PAYMENT_CODES.get(plan, WECHAT)
            await terminal.send("POST", f"/api/v1/orders/{order_no}/pay/code", {"auth_code": code})
            if plan == "refund":
                await _refund_when_posted(terminal, order_no, out, amount, rng)
        order = (await terminal.send("GET", f"/api/v1/orders/{order_no}")).json()
        if order.get("state") == "created":  # the payment request never got through: the cashier cancels
            await terminal.send("POST", f"/api/v1/orders/{order_no}/close")
        await asyncio.sleep(rng.uniform(0, 0.3))


async def _refund_when_posted(terminal: Terminal, order_no: str, out: str, amount: int, rng: random.Random) -> None:
    deadline = time.monotonic() + 12
    order = (await terminal.send("GET", f"/api/v1/orders/{order_no}")).json()
    while not order.get("final") and time.monotonic() < deadline:
        order = (await terminal.send("GET", f"/api/v1/orders/{order_no}",
                                     params={"wait_version": order["version"], "timeout": 3})).json()
    if order.get("state") == "fulfilled":
        await terminal.send("POST", f"/api/v1/orders/{order_no}/refunds", {
            "request_no": f"{out}-R", "amount": rng.randrange(1, amount + 1),
            "supervisor_username": "sup1", "supervisor_password": "sup1-pass"})


async def _card_lane(lane: int, terminal: Terminal, rng: random.Random, stop: asyncio.Event) -> None:
    """A shop's till: consumes with the pay password, partial refunds of some, cash recharges now and then."""
    await terminal.login(f"op{lane}", f"op{lane}-pass")
    for i in range(60):
        if stop.is_set():
            return
        card, amount, out = _card_no(rng.randrange(CARDS)), rng.randrange(100, 3000), f"C{lane}-{i}"
        if rng.random() < 0.15:
            await _card_tx(terminal, "recharge", out, card, amount, "/api/v1/cards/recharges", {
                "card_no": card, "merchant_code": SHOP, "out_trade_no": out, "amount": amount})
            continue
        consumed = await _card_tx(terminal, "consume", out, card, amount, "/api/v1/cards/consumes", {
            "card_no": card, "merchant_code": SHOP, "out_trade_no": out, "amount": amount, "channel": "online",
            "pay_password": PAY_PASSWORD})
        if consumed and rng.random() < 0.35:
            back = rng.randrange(1, amount + 1)
            await _card_tx(terminal, "refund", f"{out}-F", card, back, "/api/v1/cards/refunds", {
                "merchant_code": SHOP, "out_trade_no": out, "out_refund_no": f"{out}-F", "amount": back,
                "channel": "online"})
        await asyncio.sleep(rng.uniform(0, 0.2))


async def _card_tx(terminal: Terminal, kind: str, out: str, card: str, amount: int, path: str, body: dict) -> bool:
    answer = await terminal.send("POST", path, body)
    if answer.status_code == 200:
        terminal.record.card_ok[(kind, out)] = {"card_no": card, "amount": amount}
        return True
    terminal.record.card_refused[(kind, out)] = f"{answer.status_code} {answer.text[:200]}"
    return False


async def _chaos(fleet: Fleet, name: str, kills: int, rng: random.Random, record: Record) -> None:
    """SIGKILL one process at random moments and start it again at once; the hub is killed only after it has
    answered a random number of requests since it came back, so that the load gets on however slow the machine
    (the worker shows no sign of being up: its pauses cover its start-up). No kill starts after LOAD_SECONDS."""
    start = time.monotonic()
    for _ in range(kills):
        if name == "hub":
            answered, wait_until = record.answered + rng.randint(2, 20), time.monotonic() + 10
            while record.answered < answered and time.monotonic() < wait_until:
                await asyncio.sleep(0.05)
            await asyncio.sleep(rng.uniform(0, 1.0))
        else:
            await asyncio.sleep(rng.uniform(2.0, 6.0))
        if time.monotonic() - start > LOAD_SECONDS:
            return
        await asyncio.to_thread(fleet.kill, name)
        record.kills.append(f"{name}@{time.monotonic() - start:.1f}s")
        await asyncio.sleep(rng.uniform(0, 0.5))
        await asyncio.to_thread(fleet.start, name)


def _sql(db_url: str, query: str, *params: object) -> list[tuple]:
    with psycopg.connect(db_url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        return conn.execute(query, params or None).fetchall()


async def _wait_all_final(world: World) -> list[tuple]:
    """Every order and refund final (bounded); returns what is still open when the time is up."""
    deadline = time.monotonic() + SETTLE_SECONDS
    while True:
        open_ = _sql(world.db_url, "SELECT 'order', order_no, state FROM orders WHERE state <> ALL(%s) "
                                   "UNION ALL SELECT 'refund', refund_no, state FROM refunds "
                                   "WHERE state IN ('unposting', 'refunding')", FINAL)
        if not open_ or time.monotonic() > deadline:
            return open_
        await asyncio.sleep(0.5)


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
async def test_random_kills_during_mixed_load_lose_and_double_nothing(world: World) -> None:
    seed = int(os.environ.get("PAYHUB_KILL_SEED") or random.randrange(1_000_000))
    rng, record, stop = random.Random(seed), Record(), asyncio.Event()
    async with httpx.AsyncClient(base_url=world.hub_url, timeout=15) as http, \
            httpx.AsyncClient(base_url=world.swiftpass_url, timeout=5) as swiftpass:
        terminals = [Terminal(http=http, code=f"T{lane}", key=world.keys[f"T{lane}"], record=record)
                     for lane in range(COUNTER_LANES + CARD_LANES)]
        lanes = [_counter_lane(lane, terminals[lane], swiftpass, random.Random(rng.random()), stop)
                 for lane in range(COUNTER_LANES)]
        lanes += [_card_lane(lane, terminals[lane], random.Random(rng.random()), stop)
                  for lane in range(COUNTER_LANES, COUNTER_LANES + CARD_LANES)]
        load = asyncio.gather(*lanes)
        try:
            await asyncio.gather(*(_chaos(world.fleet, name, rng.randint(3, 5), random.Random(rng.random()), record)
                                   for name in ("hub", "worker")))
        finally:
            stop.set()  # the lanes finish the order in hand and stop
        try:
            await asyncio.wait_for(load, timeout=RESEND_SECONDS + 30)
        except httpx.TransportError as error:
            pytest.fail(f"the hub stayed away over {RESEND_SECONDS} s ({error!r})\n{_context(world, seed, record)}")
        for name in ("hub", "worker"):
            assert world.fleet.alive(name), f"{name} died by itself\n{_context(world, seed, record)}"

    still_open = await _wait_all_final(world)
    context = _context(world, seed, record)
    states = Counter(state for (state,) in _sql(world.db_url, "SELECT state FROM orders"))
    print(f"seed {seed}: {len(record.kills)} kills {record.kills}; orders {dict(states)}, "
          f"{len(record.card_ok)} card movements, {record.cut} requests cut; refusals {dict(record.answers)}")
    assert not still_open, f"not final after {SETTLE_SECONDS} s:\n{_story(world, record, still_open)}\n{context}"
    assert len(record.kills) >= 6, context
    assert states["fulfilled"] and record.card_ok, f"the load got nowhere\n{context}"
    assert not record.server_errors, f"server errors: {record.server_errors}\n{context}"
    for name in ("hub", "worker"):  # a 500 to a notify, a job that blew up: the hub logs them and goes on
        failures = [line for line in world.fleet.tail(name, 10**7).splitlines()
                    if '"level": "ERROR"' in line or '"level": "CRITICAL"' in line or line.startswith("Traceback")]
        assert not failures, f"{name} logged errors:\n" + "\n".join(failures[:10]) + f"\n{context}"
    trades = {t["out_trade_no"]: t for t in httpx.get(f"{world.swiftpass_url}/_sandbox/trades").json() if t["kind"]}
    postings = httpx.get(f"{world.tcis_url}/_sandbox/postings").json()
    _check_orders(world, record, trades, postings, context)
    _check_ledger(world, trades, postings, context)
    _check_cards(world, record, context)


def _context(world: World, seed: int, record: Record) -> str:
    return (f"seed {seed} (PAYHUB_KILL_SEED), kills {record.kills}, {record.cut} requests cut, "
            f"refusals {dict(record.answers)}\nhub log: {world.fleet.tail('hub', 1500)}\n"
            f"worker log: {world.fleet.tail('worker', 1500)}")


def _story(world: World, record: Record, rows: list[tuple]) -> str:
    """What the test sent for these orders and what the hub did with them: transitions and jobs."""
    plans = {o["order_no"]: (out, o["plan"], o["amount"]) for out, o in record.orders.items()}
    lines = []
    for _, key, state in rows:
        lines.append(f"{key} {state} {plans.get(key)}")
        lines += [f"  {row}" for row in _sql(world.db_url, "SELECT at, from_state, to_state, actor, reason FROM "
                                             "state_transitions WHERE aggregate_key = %s ORDER BY id", key)]
        lines += [f"  job {row}" for row in _sql(world.db_url, "SELECT kind, state, attempts, run_at, lease_until, "
                                                 "last_error FROM jobs WHERE ref = %s ORDER BY id", key)]
    return "\n".join(lines)


def _check_orders(world: World, record: Record, trades: dict[str, dict], postings: list[dict], context: str) -> None:
    """One order per terminal order no., each final, and each as SwiftPass and TCIS know it."""
    orders = {row[0]: row for row in _sql(world.db_url, "SELECT order_no, terminal_order_no, state, amount "
                                                        "FROM orders")}
    refunds = _sql(world.db_url, "SELECT order_no, refund_no, amount, state FROM refunds")
    by_out = Counter(row[1] for row in orders.values())
    assert by_out == Counter(list(record.orders)), f"orders at the hub {by_out}, sent {list(record.orders)}\n{context}"
    assert {o["order_no"] for o in record.orders.values()} == set(orders), context
    postings_of: dict[str, list[dict]] = {}
    for posting in postings:
        assert posting["posting_no"][:-1] in orders, f"TCIS posting of no order: {posting}\n{context}"
        postings_of.setdefault(posting["posting_no"][:-1], []).append(posting)
    for out_trade_no in trades:
        assert out_trade_no in orders, f"SwiftPass trade of no order: {trades[out_trade_no]}\n{context}"
    for order_no, (_, out, state, amount) in orders.items():
        trade, booked = trades.get(order_no), postings_of.get(order_no, [])
        paid = trade is not None and trade["state"] in PAID_AT_CHANNEL
        channel_back = sum(r["refund_fee"] for r in trade["refunds"] if r["state"] == "SUCCESS") if trade else 0
        hub_back = sum(r[2] for r in refunds if r[0] == order_no and r[3] == "refunded")
        what = f"order {order_no} ({out}, {record.orders[out]['plan']}) {state}: trade {trade}, postings {booked}"
        assert state != "manual", f"{what}\n{context}"
        assert all(r[3] in ("refunded", "rejected") for r in refunds if r[0] == order_no), f"{what}\n{context}"
        assert channel_back == hub_back, f"{what}: SwiftPass refunded {channel_back}, hub {hub_back}\n{context}"
        assert len(booked) <= 1, f"{what}\n{context}"
        if state == "fulfilled":
            assert paid and trade["total_fee"] == amount, f"{what}\n{context}"
            [posting] = booked
            assert posting["status"] == "posted" and posting["amount"] == amount, f"{what}\n{context}"
            assert posting["reversed_amount"] == hub_back, f"{what}\n{context}"
        elif state == "refunded":
            assert paid and channel_back == amount == trade["total_fee"], f"{what}\n{context}"
            assert all(p["status"] == "refused" or p["reversed_amount"] == amount for p in booked), \
                f"{what}\n{context}"
        else:  # pay_failed, closed: no money moved anywhere
            assert not paid and not booked and hub_back == 0, f"{what}\n{context}"


def _check_ledger(world: World, trades: dict[str, dict], postings: list[dict], context: str) -> None:
    """Every entry balanced, every balance the sum of its legs, and the accounts equal the sandboxes' totals."""
    unbalanced = _sql(world.db_url, "SELECT e.id, e.kind, e.ref, COALESCE(SUM(l.amount), 0), COUNT(l.id) "
                                    "FROM journal_entries e LEFT JOIN journal_legs l ON l.entry_id = e.id "
                                    "GROUP BY e.id HAVING COALESCE(SUM(l.amount), 0) <> 0 OR COUNT(l.id) < 2")
    assert not unbalanced, f"unbalanced entries {unbalanced}\n{context}"
    accounts = _sql(world.db_url, "SELECT a.code, a.normal_side, a.balance, COALESCE(SUM(l.amount), 0) FROM "
                                  "ledger_accounts a LEFT JOIN journal_legs l ON l.account_id = a.id GROUP BY a.id")
    balances = {}
    for code, side, balance, legs in accounts:
        assert balance == (legs if side == "debit" else -legs), f"{code}: {balance} vs legs {legs}\n{context}"
        balances[family_of(code)] = balances.get(family_of(code), 0) + balance
    at_channel = sum(t["total_fee"] - sum(r["refund_fee"] for r in t["refunds"] if r["state"] == "SUCCESS")
                     for t in trades.values() if t["state"] in PAID_AT_CHANNEL)
    at_biller = sum(p["amount"] - p["reversed_amount"] for p in postings if p["status"] != "refused")
    assert balances.get("channel:swiftpass:clearing", 0) == at_channel, f"{balances}\n{context}"
    assert balances.get("biller:tcis:payable", 0) == at_biller, f"{balances}\n{context}"
    assert balances.get("orders:unposted", 0) == 0, f"{balances}\n{context}"


def _check_cards(world: World, record: Record, context: str) -> None:
    """Each movement the tills were told of is booked once, nothing else is, and each card's balance adds up."""
    txs = _sql(world.db_url, "SELECT kind, out_no, card_no, amount, tx_no FROM card_transactions")
    booked = {(kind, out): (card, amount) for kind, out, card, amount, _ in txs if not out.startswith("LOAD")}
    told = {key: (ok["card_no"], ok["amount"]) for key, ok in record.card_ok.items()}
    assert booked == told, (f"booked but not told: {set(booked) - set(told)}; told but not booked: "
                            f"{set(told) - set(booked)}; refused: {record.card_refused}\n{context}")
    entries = Counter(ref for (ref,) in _sql(world.db_url, "SELECT ref FROM journal_entries WHERE kind LIKE 'card_%'"))
    assert all(entries[tx_no] == 1 for *_, tx_no in txs) and len(entries) == len(txs), f"{entries}\n{context}"
    sign = {"recharge": 1, "consume": -1, "refund": 1}
    balances = dict(_sql(world.db_url, "SELECT code, balance FROM ledger_accounts WHERE code LIKE 'card:%'"))
    for n in range(CARDS):
        card = _card_no(n)
        expected = CARD_START + sum(sign[kind] * amount for (kind, _), (c, amount) in told.items() if c == card)
        assert balances[f"card:{card}"] == expected, f"card {card}: ledger {balances[f'card:{card}']}\n{context}"
