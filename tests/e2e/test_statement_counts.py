"""Reading an order costs one statement, outside any transaction on PostgreSQL, and never repeats a statement; a
fulfilment finishes its job in the transaction that books it."""
from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy as sa

from tests.support.harness import WECHAT, Harness
from tests.support.statements import listening, one_line

APPROVAL = {"supervisor_username": "sup1", "supervisor_password": "sup1-pass"}
TRANSACTION_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK")
REQUEST = ContextVar[str]("REQUEST", default="")  # which test-side call a statement was run for


@pytest.fixture(autouse=True)
def _auth_stays_warm(hub: Harness) -> Iterator[None]:
    """Terminal and session reads stay cached however slow the machine, so the counts below are the routes' own."""
    with hub.auth_clock.held():
        yield


@dataclass(frozen=True)
class Executed:
    sql: str
    parameters: str
    autocommit: bool  # the driver connection was outside a transaction (PostgreSQL reads)
    request: str


@contextmanager
def executed(hub: Harness) -> Iterator[list[Executed]]:
    """The statements the hub's engines run meanwhile, auth's nonce insert left out."""
    seen: list[Executed] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, *args: Any) -> None:
        sql = one_line(statement)
        if not sql.startswith("INSERT INTO terminal_nonces"):
            driver = conn.connection.dbapi_connection
            seen.append(Executed(sql, repr(parameters), bool(getattr(driver, "autocommit", False)), REQUEST.get()))

    with listening((hub.container.database.write.sync_engine, hub.container.database.read.sync_engine), record):
        yield seen


def reads(seen: list[Executed]) -> list[Executed]:
    return [s for s in seen if not s.sql.startswith(TRANSACTION_CONTROL)]


def assert_outside_transactions(hub: Harness, seen: list[Executed]) -> None:
    """On PostgreSQL a read is neither wrapped in BEGIN…ROLLBACK nor issued inside one."""
    if hub.container.database.dialect == "postgresql":
        assert all(s.autocommit for s in seen) and len(reads(seen)) == len(seen), seen


def repeated(seen: list[Executed]) -> list[tuple[str, str]]:
    """Each statement run more than once with the same parameters."""
    return [key for key, times in Counter((s.sql, s.parameters) for s in reads(seen)).items() if times > 1]


async def _refunded_in_part(hub: Harness) -> dict:
    order = await hub.place(fee_type="other", account_no="10010001", amount=30000)
    await hub.call("POST", f"/api/v1/orders/{order['order_no']}/pay/code", {"auth_code": WECHAT})
    await hub.run_jobs()
    await hub.call("POST", f"/api/v1/orders/{order['order_no']}/refunds",
                   {"request_no": "r1", "amount": 10000, **APPROVAL}, status=201)
    await hub.run_jobs()
    return await hub.order(order["order_no"])


async def test_an_order_view_with_refunds_and_history_is_one_statement(hub: Harness) -> None:
    order = await _refunded_in_part(hub)
    assert order["refunds"] and order["history"]
    with executed(hub) as seen:
        again = await hub.order(order["order_no"])
    assert again == order
    assert len(reads(seen)) == 1, seen
    assert_outside_transactions(hub, seen)
    assert repeated(seen) == [], seen


async def test_a_long_poll_on_a_stale_version_is_one_statement(hub: Harness) -> None:
    order = await _refunded_in_part(hub)
    with executed(hub) as seen:
        answer = await hub.call("GET", f"/api/v1/orders/{order['order_no']}", params={"wait_version": 0, "timeout": 5})
    assert answer == order
    assert len(reads(seen)) == 1, seen
    assert_outside_transactions(hub, seen)
    assert repeated(seen) == [], seen


async def test_a_long_poll_looks_once_then_once_per_signal_and_answers_once_the_order_settles(hub: Harness) -> None:
    order = await hub.place(fee_type="other", account_no="10010001", amount=2500)
    paying = await hub.call("POST", f"/api/v1/orders/{order['order_no']}/pay/qr")

    async def long_poll() -> dict:
        REQUEST.set("long poll")
        return await hub.call("GET", f"/api/v1/orders/{order['order_no']}",
                              params={"wait_version": paying["version"], "timeout": 10})

    with executed(hub) as seen:
        waiter = asyncio.create_task(long_poll())
        await asyncio.sleep(0.2)
        assert len(reads(seen)) == 1, seen  # the first look, then it sleeps until woken
        hub.swiftpass.pay_native(order["order_no"])
        await hub.run_jobs()
        changed = await asyncio.wait_for(waiter, timeout=5)
    assert changed["state"] == "fulfilled"  # paid and fulfilling are moves the hub makes on by itself: not answered
    polled = [s for s in seen if s.request == "long poll"]
    assert 2 <= len(reads(polled)) <= 4, polled  # the first look, then one per signal (paid, fulfilling, fulfilled)
    assert_outside_transactions(hub, polled)
    first_look = reads(polled)[0]
    assert repeated(polled) == [(first_look.sql, first_look.parameters)], polled  # only the look itself repeats


async def test_a_fulfilment_finishes_its_job_in_the_transaction_that_books_it(hub: Harness) -> None:
    order = await hub.place(fee_type="other", account_no="10010001", amount=2500)
    paid = await hub.call("POST", f"/api/v1/orders/{order['order_no']}/pay/code", {"auth_code": WECHAT})
    assert paid["state"] == "paid"
    by_connection: dict[Any, list[str]] = {}  # each unit of work's statements, COMMIT included

    def record(conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        by_connection.setdefault(conn, []).append(one_line(statement))

    def committed(conn: Any) -> None:
        by_connection.setdefault(conn, []).append("COMMIT")

    engine = hub.container.database.write.sync_engine
    sa.event.listen(engine, "commit", committed)
    try:
        with listening((engine, hub.container.database.read.sync_engine), record):
            await hub.run_jobs()
    finally:
        sa.event.remove(engine, "commit", committed)
    assert (await hub.order(order["order_no"]))["state"] == "fulfilled"
    finishing = [statements for statements in by_connection.values()
                 if any(s.startswith("UPDATE jobs SET") and "last_error" in s for s in statements)]
    assert len(finishing) == 1, by_connection  # the fulfil job's, and no second one from the runner
    statements = finishing[0]
    assert any("journal_entries" in s for s in statements) and statements[-1] == "COMMIT", statements


async def test_a_payment_sets_the_order_columns_that_changed_and_no_others(hub: Harness) -> None:
    order = await hub.place(fee_type="other", account_no="10010001", amount=2500)
    with executed(hub) as seen:
        await hub.call("POST", f"/api/v1/orders/{order['order_no']}/pay/code", {"auth_code": WECHAT})
    updates = [s.sql for s in seen if "UPDATE orders SET" in s.sql]
    assert updates, seen
    for sql in updates:
        assignments = sql.split("UPDATE orders SET", 1)[1].split(" WHERE ", 1)[0]
        assert "version" in assignments and "state" in assignments, sql
        assert not any(f"{fixed} =" in assignments for fixed in ("order_no", "request_hash", "amount", "account_no")), sql
