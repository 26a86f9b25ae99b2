"""Delivers signed card events to an issuer's URL over HTTP."""
from __future__ import annotations

import time

import httpx

from payhub.adapters.push import wire
from payhub.ports import PushFailed


class HttpNotifier:
    def __init__(self, *, http: httpx.AsyncClient) -> None:
        self._http = http

    async def push(self, *, url: str, secret: str, event_id: str, body: bytes) -> int:
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json", wire.HEADER_EVENT: event_id, wire.HEADER_TIMESTAMP: timestamp,
            wire.HEADER_SIGNATURE: wire.sign(secret=secret, timestamp=timestamp, event_id=event_id, body=body),
        }
        try:
            response = await self._http.post(url, content=body, headers=headers)
        except httpx.HTTPError as error:
            raise PushFailed(f"{type(error).__name__}: {error}") from error
        return response.status_code
