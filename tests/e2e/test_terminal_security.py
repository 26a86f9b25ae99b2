"""Terminals sign every request; operators log in; stale, forged and replayed requests are refused."""
from __future__ import annotations

import secrets

from payhub.domain import terminal_signature as sig
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
    assert {f["code"]: f["name"] for f in response.json()} == {"gas": "气费", "water": "水费", "business": "营业费", "other": "其他费用"}


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
