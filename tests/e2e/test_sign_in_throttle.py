"""Wrong passwords lock the user name and the terminal for a while, for logins and on-the-spot approvals alike."""
from __future__ import annotations

import asyncio

import httpx
import sqlalchemy as sa

from payhub.kernel.adapters.db.tables import refunds, sign_in_audit
from payhub.entrypoints.terminal_client import TerminalClient
from payhub.kernel.services import admin
from tests.support.harness import WECHAT, Harness


async def _login(client: TerminalClient, username: str, password: str) -> httpx.Response:
    return await client.request("POST", "/api/v1/session", body={"username": username, "password": password})


async def _refused(client: TerminalClient, username: str, password: str) -> dict:
    response = await _login(client, username, password)
    assert response.status_code == 401, response.text
    return response.json()


async def _audit(hub: Harness) -> list[tuple[str, str, str]]:
    async with hub.container.database.read.connect() as conn:
        rows = await conn.execute(
            sa.select(sign_in_audit.c.event, sign_in_audit.c.purpose, sign_in_audit.c.username).order_by(sign_in_audit.c.id))
        return [tuple(row) for row in rows]


async def test_wrong_passwords_lock_the_user_even_against_the_right_password(hub: Harness) -> None:
    rules = hub.settings.login_throttle
    for _ in range(rules.user_failures - 1):
        assert (await _refused(hub.terminal, "op1", "nope"))["error"]["code"] == "LOGIN_FAILED"
    locked = await _refused(hub.terminal, "op1", "nope")
    assert locked["error"]["code"] == "LOGIN_LOCKED" and f"{rules.lockout_minutes}分钟" in locked["error"]["message"]
    assert await _refused(hub.terminal, "op1", "op1-pass") == locked  # the right password gets the same answer

    hub.clock.advance(minutes=rules.lockout_minutes)
    assert (await _login(hub.terminal, "op1", "op1-pass")).status_code == 200
    assert await _audit(hub) == [("failed", "login", "op1")] * rules.user_failures + [
        ("locked", "login", "op1"), ("refused", "login", "op1")]


async def test_each_lockout_in_a_row_lasts_longer(hub: Harness) -> None:
    rules = hub.settings.login_throttle
    for lockout in (rules.lockout_minutes, 2 * rules.lockout_minutes):
        for _ in range(rules.user_failures):
            answer = await _refused(hub.terminal, "op1", "nope")
        assert answer["error"]["code"] == "LOGIN_LOCKED" and f"{lockout}分钟" in answer["error"]["message"]
        hub.clock.advance(minutes=lockout - 1)
        assert (await _refused(hub.terminal, "op1", "op1-pass"))["error"]["code"] == "LOGIN_LOCKED"
        hub.clock.advance(minutes=1)
    english = await hub.terminal.request("POST", "/api/v1/session", body={"username": "x", "password": "y"},
                                         headers={"Accept-Language": "en"})
    assert english.json()["error"]["message"] == "Wrong user name or password"


async def test_failures_age_out_of_the_window(hub: Harness) -> None:
    rules = hub.settings.login_throttle
    for _ in range(rules.user_failures - 1):
        await _refused(hub.terminal, "op1", "nope")
    hub.clock.advance(minutes=rules.window_minutes + 1)
    assert (await _refused(hub.terminal, "op1", "nope"))["error"]["code"] == "LOGIN_FAILED"
    assert (await _login(hub.terminal, "op1", "op1-pass")).status_code == 200


async def test_unknown_user_names_answer_like_known_ones(hub: Harness) -> None:
    rules = hub.settings.login_throttle
    for username in ("op1", "ghost"):
        answers = [await _refused(hub.terminal, username, "nope") for _ in range(rules.user_failures + 1)]
        assert [a["error"]["code"] for a in answers] == ["LOGIN_FAILED"] * (rules.user_failures - 1) + ["LOGIN_LOCKED"] * 2


async def test_parallel_wrong_passwords_all_count(hub: Harness) -> None:
    rules = hub.settings.login_throttle
    tries = 3 * rules.user_failures
    answers = await asyncio.gather(*(_refused(hub.terminal, "sup1", f"guess-{n}") for n in range(tries)))
    codes = [a["error"]["code"] for a in answers]
    assert set(codes) <= {"LOGIN_FAILED", "LOGIN_LOCKED"} and codes.count("LOGIN_FAILED") <= rules.user_failures - 1
    assert (await _refused(hub.terminal, "sup1", "sup1-pass"))["error"]["code"] == "LOGIN_LOCKED"
    events = [event for event, _, _ in await _audit(hub)]
    assert events.count("locked") == 1 and events.count("failed") <= rules.user_failures
    assert len(events) == tries + 2  # every try is recorded, the lockout once, and the refused right password


async def test_one_terminal_trying_many_user_names_is_locked(hub: Harness) -> None:
    rules = hub.settings.login_throttle
    for n in range(rules.terminal_failures):
        await _refused(hub.terminal, f"ghost{n}", "nope")
    assert (await _refused(hub.terminal, "op1", "op1-pass"))["error"]["code"] == "LOGIN_LOCKED"
    await admin.create_terminal(hub=hub.hub, merchant_code="M1", code="T2", name="2号柜台", key="t2-key")
    other = TerminalClient(http=hub.http, terminal="T2", key="t2-key", clock=hub.clock)
    assert (await _login(other, "op1", "op1-pass")).status_code == 200


async def test_supervisor_approvals_on_the_spot_are_throttled_too(hub: Harness) -> None:
    rules = hub.settings.login_throttle
    order = await hub.place(fee_type="other", account_no="10010001", amount=3000)
    await hub.call("POST", f"/api/v1/orders/{order['order_no']}/pay/code", {"auth_code": WECHAT})
    await hub.run_jobs()
    path = f"/api/v1/orders/{order['order_no']}/refunds"
    answers = [await hub.call("POST", path, {"request_no": f"r{n}", "amount": 100, "supervisor_username": "sup1",
                                             "supervisor_password": "nope"}, status=401) for n in range(15)]
    assert answers[rules.user_failures - 1]["error"]["code"] == "LOGIN_LOCKED"
    right = await hub.call("POST", path, {"request_no": "ok", "amount": 100, "supervisor_username": "sup1",
                                          "supervisor_password": "sup1-pass"}, status=401)
    assert right["error"]["code"] == "LOGIN_LOCKED"
    async with hub.container.database.read.connect() as conn:
        assert (await conn.execute(sa.select(sa.func.count()).select_from(refunds))).scalar_one() == 0
    audit = await _audit(hub)
    assert audit[0] == ("failed", "approval", "sup1") and ("locked", "approval", "sup1") in audit
