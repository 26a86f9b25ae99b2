"""A terminal's side of the API: signs every request (the demo script, the benchmark and tests use it)."""
from __future__ import annotations

import json
import secrets
import time
from typing import Any

import httpx

from payhub.kernel.domain import terminal_signature as sig
from payhub.kernel.ports import Clock


class TerminalClient:
    """Signs each request with the terminal's key and carries the operator's session token."""

    def __init__(self, *, http: httpx.AsyncClient, terminal: str, key: str, clock: Clock | None = None) -> None:
        self.http = http
        self.terminal = terminal
        self._key = key
        self._clock = clock
        self.token: str | None = None

    def _timestamp(self) -> str:
        return str(int(self._clock.now().timestamp() if self._clock else time.time()))

    async def request(self, method: str, path: str, *, body: Any = None, params: dict[str, Any] | None = None,
                      headers: dict[str, str] | None = None) -> httpx.Response:
        """Send one signed request; path is absolute (/api/v1/...)."""
        content = b"" if body is None else json.dumps(body, ensure_ascii=False).encode()
        request = self.http.build_request(method, path, params=params, content=content)
        target = request.url.raw_path.decode()  # the path and query exactly as they go on the wire, still encoded
        timestamp, nonce = self._timestamp(), secrets.token_hex(16)
        signed = {
            sig.HEADER_TERMINAL: self.terminal, sig.HEADER_TIMESTAMP: timestamp, sig.HEADER_NONCE: nonce,
            sig.HEADER_SIGNATURE: sig.sign(key=self._key, method=method, path=target, timestamp=timestamp,
                                           nonce=nonce, body=content),
        }
        if content:
            signed["Content-Type"] = "application/json"
        if self.token:
            signed["Authorization"] = f"Bearer {self.token}"
        request.headers.update(signed | (headers or {}))
        return await self.http.send(request)

    async def login(self, username: str, password: str) -> dict[str, Any]:
        """Log the operator in and keep the token."""
        response = await self.request("POST", "/api/v1/session", body={"username": username, "password": password})
        response.raise_for_status()
        answer: dict[str, Any] = response.json()
        self.token = answer["token"]
        return answer
