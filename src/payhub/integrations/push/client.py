"""Delivers signed card events to an issuer's URL over HTTP, only to targets the push rule allows."""
from __future__ import annotations

import time

import httpx

from payhub.integrations.push import wire
from payhub.integrations.push.targets import PushTargets
from payhub.kernel.domain.errors import InvalidInput
from payhub.kernel.ports import PushFailed


class HttpNotifier:
    def __init__(self, *, http: httpx.AsyncClient, targets: PushTargets | None = None) -> None:
        self._http = http
        self._targets = targets or PushTargets()

    async def check_url(self, *, url: str) -> None:
        """Refuse (InvalidInput) a URL pushes may not go to."""
        await self._targets.check(url)

    async def push(self, *, url: str, secret: str, event_id: str, body: bytes) -> int:
        try:  # again at every push: the URL may be older than the rule, or its name may resolve elsewhere now
            await self._targets.check(url)
        except InvalidInput as refused:
            raise PushFailed(f"push URL refused: {refused.code}") from None
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
