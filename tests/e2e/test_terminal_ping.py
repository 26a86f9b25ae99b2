"""GET /api/v1/terminal/ping: a signed call with no operator, so a terminal can prove its key before keeping it."""
from __future__ import annotations

import secrets

from payhub.kernel.domain import terminal_signature as sig
from tests.support.harness import Harness

PING = "/api/v1/terminal/ping"


def _headers(hub: Harness, *, terminal: str = "T1", key: str = "e2e-terminal-key") -> dict:
    ts, nonce = str(int(hub.clock.now().timestamp())), secrets.token_hex(8)
    return {sig.HEADER_TERMINAL: terminal, sig.HEADER_TIMESTAMP: ts, sig.HEADER_NONCE: nonce,
            sig.HEADER_SIGNATURE: sig.sign(key=key, method="GET", path=PING, timestamp=ts, nonce=nonce, body=b"")}


async def test_a_signed_ping_names_the_terminal_and_its_merchant_without_a_login(hub: Harness) -> None:
    response = await hub.http.get(PING, headers=_headers(hub))
    assert response.status_code == 200
    assert response.json() == {"terminal": "T1", "terminal_name": "1号柜台", "merchant": "M1", "merchant_name": "测试燃气公司"}


async def test_a_ping_with_a_wrong_key_or_terminal_is_refused_by_the_signature_check(hub: Harness) -> None:
    wrong_key = await hub.http.get(PING, headers=_headers(hub, key="not-the-key"))
    assert wrong_key.status_code == 401 and wrong_key.json()["error"]["code"] == "BAD_SIGNATURE"
    unknown = await hub.http.get(PING, headers=_headers(hub, terminal="T404"))
    assert unknown.status_code == 401 and unknown.json()["error"]["code"] == "UNKNOWN_TERMINAL"
    unsigned = await hub.http.get(PING)
    assert unsigned.status_code == 401 and unsigned.json()["error"]["code"] == "SIGNATURE_REQUIRED"
