"""Oversized bodies are refused before they are read whole, by their declared length or as they stream in."""
from __future__ import annotations

from collections.abc import AsyncIterator

from tests.support.harness import Harness


async def _chunks(total: int, size: int = 4096) -> AsyncIterator[bytes]:
    for _ in range(total // size):
        yield b"<" * size


async def test_a_large_notify_is_refused_by_its_length(hub: Harness) -> None:
    response = await hub.http.post("/notify/swiftpass", content=b"<xml>" + b"a" * 64 * 1024 + b"</xml>")
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "BODY_TOO_LARGE"


async def test_a_streamed_body_is_refused_once_it_passes_the_limit(hub: Harness) -> None:
    response = await hub.http.post("/notify/swiftpass", content=_chunks(1024 * 1024))
    assert response.status_code == 413 and response.json()["error"]["code"] == "BODY_TOO_LARGE"
    response = await hub.http.post("/api/v1/orders", content=_chunks(1024 * 1024),
                                   headers={"Accept-Language": "en"})
    assert response.status_code == 413 and "too large" in response.json()["error"]["message"]


async def test_api_bodies_are_limited_before_the_signature_is_checked(hub: Harness) -> None:
    big = {"out_trade_no": "t-1", "fee_type": "other", "account_no": "1", "amount": 100, "bill_ids": ["x" * 100_000]}
    response = await hub.terminal.request("POST", "/api/v1/orders", body=big)
    assert response.status_code == 413 and response.json()["error"]["code"] == "BODY_TOO_LARGE"
    unsigned = await hub.http.post("/api/v1/orders", content=b"{" * 70_000)
    assert unsigned.status_code == 413


async def test_ordinary_requests_pass(hub: Harness) -> None:
    order = await hub.place()
    assert order["state"] == "created"
    small = await hub.http.post("/notify/swiftpass", content=b"<xml><status>1</status></xml>")
    assert small.status_code == 400  # read and refused for what it says, not for its size
