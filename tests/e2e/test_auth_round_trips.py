"""Authentication costs no database round trip beyond the nonce backstop, and still holds across hub processes:
a replay sent to a second process is refused, a revoked session and a disabled terminal within a second."""
from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import pytest
import sqlalchemy as sa

from payhub.kernel.adapters.db.tables import terminals
from tests.support.harness import Harness
from tests.support.statements import listening, one_line

ON_AUTH_TABLE = re.compile(  # statements on the tables auth reads and writes (not a route's joins with them)
    r'^(SELECT .*? FROM|INSERT INTO|UPDATE|DELETE FROM) "?(terminals|operators|operator_sessions|terminal_nonces)\b')


@contextmanager
def statements(hub: Harness) -> Iterator[list[str]]:
    """The SQL the hub's engines execute meanwhile, one line each."""
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(one_line(statement))

    with listening((hub.container.database.write.sync_engine, hub.container.database.read.sync_engine), record):
        yield seen


def on_auth_tables(seen: list[str]) -> list[str]:
    return [s for s in seen if ON_AUTH_TABLE.match(s)]


async def test_a_signed_operator_request_on_a_warm_cache_only_inserts_its_nonce(hub: Harness) -> None:
    with hub.auth_clock.held():  # a slow machine must not let the warm terminal and session go stale in between
        await hub.call("GET", "/api/v1/fee-types")  # warms the terminal and the session
        with statements(hub) as seen:
            await hub.call("GET", "/api/v1/fee-types")  # a route that reads nothing itself: all it costs is auth
    begins = [s for s in seen if s.startswith("BEGIN")]  # SQLite's engine starts its transactions by a statement
    assert len(begins) <= 1 and len(seen) - len(begins) == 1, seen
    assert seen[-1].startswith("INSERT INTO terminal_nonces"), seen

    order = await hub.place(account_no="10010001", amount=100)
    with hub.auth_clock.held():
        await hub.order(order["order_no"])
        with statements(hub) as seen:
            await hub.order(order["order_no"])
    assert [s.split(" (")[0] for s in on_auth_tables(seen)] == ["INSERT INTO terminal_nonces"], seen


@asynccontextmanager
async def second_process(hub: Harness) -> AsyncIterator[Harness]:
    """Another hub process on the same database (its own engines, caches and nonce memory), same operator session."""
    other = Harness(hub.db_url, clock=hub.clock)
    other.terminal.token = hub.terminal.token
    try:
        yield other
    finally:
        await other.stop()


async def _refused_within(call: Any, *, code: str, seconds: float) -> None:
    """Repeat call() until it is refused with code; fails if one asked after `seconds` is still served."""
    started = time.monotonic()
    while True:
        asked_after = time.monotonic() - started
        response = await call()
        if response.status_code == 401:
            assert response.json()["error"]["code"] == code, response.text
            return
        assert response.status_code == 200, response.text
        assert asked_after < seconds, f"still served {asked_after:.2f} s later"
        await asyncio.sleep(0.05)


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
async def test_a_replay_to_another_hub_process_is_refused(hub: Harness) -> None:
    async with second_process(hub) as other:
        sent = keep_sent(hub)
        assert (await hub.terminal.request("GET", "/api/v1/fee-types")).status_code == 200
        replayed = await other.http.get(sent["url"], headers=sent["headers"])
        assert replayed.status_code == 401 and replayed.json()["error"]["code"] == "REPLAYED_REQUEST"
        again = await hub.http.get(sent["url"], headers=sent["headers"])  # refused in memory this time
        assert again.status_code == 401 and again.json()["error"]["code"] == "REPLAYED_REQUEST"


def keep_sent(hub: Harness) -> dict[str, Any]:
    """The headers, URL and body of the terminal's last request, as sent over the wire."""
    sent: dict[str, Any] = {}

    async def keep(request: Any) -> None:
        sent.update(headers=dict(request.headers), url=str(request.url), body=request.content)

    hub.http.event_hooks["request"].append(keep)
    return sent


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
async def test_a_write_stores_its_nonce_in_its_own_transaction(hub: Harness) -> None:
    sent = keep_sent(hub)
    order = await hub.place(account_no="10010001", amount=100)
    nonce = sent["headers"]["x-payhub-nonce"]
    async with hub.container.database.write.connect() as conn:
        nonce_tx = (await conn.execute(sa.text("SELECT xmin::text FROM terminal_nonces WHERE nonce = :n"),
                                       {"n": nonce})).scalar_one()
        order_tx = (await conn.execute(sa.text("SELECT xmin::text FROM orders WHERE order_no = :o"),
                                       {"o": order["order_no"]})).scalar_one()
    assert nonce_tx == order_tx


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
async def test_a_write_replayed_to_another_process_is_refused_and_writes_nothing(hub: Harness) -> None:
    async with second_process(hub) as other:
        sent = keep_sent(hub)
        await hub.place(account_no="10010001", amount=100)
        async with hub.container.database.write.connect() as conn:
            orders_before = (await conn.execute(sa.text("SELECT count(*) FROM orders"))).scalar_one()
        replayed = await other.http.post(sent["url"], headers=sent["headers"], content=sent["body"])
        assert replayed.status_code == 401 and replayed.json()["error"]["code"] == "REPLAYED_REQUEST"
        async with hub.container.database.write.connect() as conn:
            assert (await conn.execute(sa.text("SELECT count(*) FROM orders"))).scalar_one() == orders_before


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
async def test_a_write_that_commits_nothing_still_cannot_be_replayed(hub: Harness) -> None:
    async with second_process(hub) as other:
        sent = keep_sent(hub)
        refused = await hub.terminal.request("POST", "/api/v1/orders", body={"fee_type": "gas"})
        assert refused.status_code == 422, refused.text
        replayed = await other.http.post(sent["url"], headers=sent["headers"], content=sent["body"])
        assert replayed.status_code == 401 and replayed.json()["error"]["code"] == "REPLAYED_REQUEST"


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
async def test_a_logout_in_one_process_ends_the_session_in_another_within_a_second(hub: Harness) -> None:
    async with second_process(hub) as other:
        assert (await other.terminal.request("GET", "/api/v1/fee-types")).status_code == 200  # cached there now
        await hub.call("DELETE", "/api/v1/session", status=204)
        assert (await hub.terminal.request("GET", "/api/v1/fee-types")).status_code == 401  # at once where it ran
        await _refused_within(lambda: other.terminal.request("GET", "/api/v1/fee-types"),
                              code="SESSION_EXPIRED", seconds=1.0)


async def test_a_disabled_terminal_is_refused_within_a_second(hub: Harness) -> None:
    assert (await hub.terminal.request("GET", "/api/v1/fee-types")).status_code == 200
    async with hub.container.database.write.begin() as conn:  # as an administrator's tool would
        await conn.execute(sa.update(terminals).where(terminals.c.code == "T1").values(active=False))
    await _refused_within(lambda: hub.terminal.request("GET", "/api/v1/fee-types"),
                          code="UNKNOWN_TERMINAL", seconds=1.0)
