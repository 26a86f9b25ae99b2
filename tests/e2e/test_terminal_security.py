"""Terminals sign every request; operators log in; stale, forged and replayed requests are refused."""
from __future__ import annotations

import asyncio
import secrets

import sqlalchemy as sa

from payhub.kernel.adapters.db.tables import terminal_nonces
from payhub.kernel.domain import terminal_signature as sig
from payhub.kernel.services.outbox import work_forever
from tests.support.harness import Harness


async def _raw(hub: Harness, *, headers: dict, path: str = "/api/v1/fee-types") -> dict:
    response = await hub.http.get(path, headers=headers)
    assert response.status_code == 401, response.text
    return response.json()["error"]


def _signed_headers(hub: Harness, *, key: str = "e2e-terminal-key", timestamp: int | None = None,
                    nonce: str | None = None, path: str = "/api/v1/fee-types") -> dict:
    ts = str(timestamp if timestamp is not None else int(hub.clock.now().timestamp()))
    nonce = nonce or secrets.token_hex(8)
    return {
        sig.HEADER_TERMINAL: "T1", sig.HEADER_TIMESTAMP: ts, sig.HEADER_NONCE: nonce,
        sig.HEADER_SIGNATURE: sig.sign(key=key, method="GET", path=path, timestamp=ts, nonce=nonce, body=b""),
        "Authorization": f"Bearer {hub.terminal.token}",
    }


async def test_signed_request_with_a_session_is_served(hub: Harness) -> None:
    response = await hub.http.get("/api/v1/fee-types", headers=_signed_headers(hub))
    assert response.status_code == 200
    assert {f["code"]: f["name"] for f in response.json()} == {"gas": "燃气费", "water": "水费", "business": "营业费", "other": "其他费用"}


async def test_unsigned_forged_stale_and_replayed_requests_are_refused(hub: Harness) -> None:
    assert (await _raw(hub, headers={}))["code"] == "SIGNATURE_REQUIRED"
    assert (await _raw(hub, headers=_signed_headers(hub, key="wrong")))["code"] == "BAD_SIGNATURE"
    stale = int(hub.clock.now().timestamp()) - 301
    error = await _raw(hub, headers=_signed_headers(hub, timestamp=stale))
    assert error["code"] == "TIMESTAMP_SKEW" and "5分钟" in error["message"]
    headers = _signed_headers(hub, nonce="once")
    assert (await hub.http.get("/api/v1/fee-types", headers=headers)).status_code == 200
    assert (await _raw(hub, headers=headers))["code"] == "REPLAYED_REQUEST"
    unknown = _signed_headers(hub) | {sig.HEADER_TERMINAL: "T404"}
    assert (await _raw(hub, headers=unknown))["code"] == "UNKNOWN_TERMINAL"


async def test_a_signature_covers_the_body(hub: Harness) -> None:
    headers = _signed_headers(hub, path="/api/v1/orders") | {"Content-Type": "application/json"}
    headers[sig.HEADER_SIGNATURE] = sig.sign(key="e2e-terminal-key", method="POST", path="/api/v1/orders",
                                             timestamp=headers[sig.HEADER_TIMESTAMP], nonce=headers[sig.HEADER_NONCE],
                                             body=b'{"amount": 1}')
    response = await hub.http.post("/api/v1/orders", content=b'{"amount": 100000}', headers=headers)
    assert response.status_code == 401 and response.json()["error"]["code"] == "BAD_SIGNATURE"


async def test_login_logout_and_wrong_password(hub: Harness) -> None:
    wrong = await hub.call("POST", "/api/v1/session", {"username": "op1", "password": "nope"}, status=401)
    assert wrong["error"]["code"] == "LOGIN_FAILED" and wrong["error"]["message"] == "用户名或密码错误"
    nobody = await hub.call("POST", "/api/v1/session", {"username": "ghost", "password": "nope"}, status=401)
    assert nobody["error"]["code"] == "LOGIN_FAILED"
    me = await hub.call("GET", "/api/v1/session")
    assert me["username"] == "op1" and me["role"] == "operator"
    await hub.call("DELETE", "/api/v1/session", status=204)
    expired = await hub.call("GET", "/api/v1/session", status=401)
    assert expired["error"]["code"] == "SESSION_EXPIRED"
    hub.terminal.token = None
    assert (await hub.call("GET", "/api/v1/fee-types", status=401))["error"]["code"] == "LOGIN_REQUIRED"


async def test_session_expires_after_its_hours(hub: Harness) -> None:
    hub.clock.advance(hours=13)
    assert (await hub.call("GET", "/api/v1/session", status=401))["error"]["code"] == "SESSION_EXPIRED"


async def test_english_messages_on_request(hub: Harness) -> None:
    response = await hub.terminal.request("POST", "/api/v1/session", body={"username": "op1", "password": "x"},
                                          headers={"Accept-Language": "en-US"})
    assert response.json()["error"]["message"] == "Wrong user name or password"


async def test_a_percent_encoded_path_is_signed_and_checked_as_sent(hub: Harness) -> None:
    missing = await hub.call("GET", "/api/v1/orders/%E4%B8%AD%20x", status=404)
    assert missing["error"]["code"] == "ORDER_NOT_FOUND" and "中 x" in missing["error"]["message"]
    decoded = _signed_headers(hub, path="/api/v1/orders/中 x")  # signs the decoded path instead of the one sent
    assert (await _raw(hub, headers=decoded, path="/api/v1/orders/%E4%B8%AD%20x"))["code"] == "BAD_SIGNATURE"


async def test_a_raw_query_string_is_signed_as_sent(hub: Harness) -> None:
    await hub.place(account_no="10010001", amount=100)
    page = await hub.call("GET", "/api/v1/orders", params={"account_no": "中 文+1&x=%", "state": ["created", "paid"]})
    assert page["orders"] == []


async def test_garbage_in_the_signature_headers_is_a_clean_401(hub: Harness) -> None:
    non_ascii = _signed_headers(hub) | {sig.HEADER_SIGNATURE: "签名".encode() + b"0" * 58}
    assert (await _raw(hub, headers=non_ascii))["code"] == "BAD_SIGNATURE"
    huge = _signed_headers(hub, timestamp=int("9" * 400))
    assert (await _raw(hub, headers=huge))["code"] == "BAD_TIMESTAMP"
    for odd in ("+1700000000", " 1700000000", "1_700_000_000", "١٧٠٠٠٠٠٠٠٠"):
        assert (await _raw(hub, headers=_signed_headers(hub) | {sig.HEADER_TIMESTAMP: odd.encode()}))["code"] == "BAD_TIMESTAMP"
    nul_nonce = _signed_headers(hub, nonce="a\x00b")
    assert (await _raw(hub, headers=nul_nonce))["code"] == "BAD_SIGNATURE"
    nul_terminal = _signed_headers(hub) | {sig.HEADER_TERMINAL: "T1\x00"}
    assert (await _raw(hub, headers=nul_terminal))["code"] == "UNKNOWN_TERMINAL"


async def test_an_unauthenticated_request_is_refused_before_its_body_or_query_is_validated(hub: Harness) -> None:
    json_type = {"Content-Type": "application/json"}
    for body in (b"", b"{not json", b'{"amount": "x"}'):
        response = await hub.http.post("/api/v1/orders", content=body, headers=json_type)
        assert response.status_code == 401 and response.json()["error"]["code"] == "SIGNATURE_REQUIRED", response.text
    forged = _signed_headers(hub, key="wrong", path="/api/v1/orders") | json_type
    response = await hub.http.post("/api/v1/orders", content=b"{not json", headers=forged)
    assert response.status_code == 401 and response.json()["error"]["code"] == "BAD_SIGNATURE"
    response = await hub.http.get("/api/v1/orders", params={"offset": "many"})
    assert response.status_code == 401 and response.json()["error"]["code"] == "SIGNATURE_REQUIRED"
    response = await hub.http.post("/api/v1/session", content=b"[]", headers=json_type)
    assert response.status_code == 401 and response.json()["error"]["code"] == "SIGNATURE_REQUIRED"
    signed = await hub.terminal.request("POST", "/api/v1/orders", body=["not", "an", "order"])
    assert signed.status_code == 422 and signed.json()["error"]["code"] == "VALIDATION"


async def _nonces(hub: Harness) -> set[str]:
    async with hub.container.database.read.connect() as conn:
        return set((await conn.execute(sa.select(terminal_nonces.c.nonce))).scalars())


async def test_the_worker_forgets_nonces_too_old_to_replay(hub: Harness) -> None:
    old = _signed_headers(hub, nonce="old-one")
    assert (await hub.http.get("/api/v1/fee-types", headers=old)).status_code == 200
    hub.clock.advance(seconds=2 * hub.settings.timings.signature_window_seconds + 61)
    assert (await hub.http.get("/api/v1/fee-types", headers=_signed_headers(hub, nonce="new-one"))).status_code == 200

    stop = asyncio.Event()
    worker = asyncio.create_task(work_forever(hub=hub.hub, idle_seconds=0.01, stop=stop))
    try:
        async with asyncio.timeout(10):
            while "old-one" in await _nonces(hub):
                await asyncio.sleep(0.02)
    finally:
        stop.set()
        await worker
    assert "new-one" in await _nonces(hub)
    assert (await _raw(hub, headers=old))["code"] == "TIMESTAMP_SKEW"  # a forgotten nonce is too old to replay
