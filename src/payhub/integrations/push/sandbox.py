"""A push receiver that stands in for an issuer's system: verifies signatures, dedupes by event id, shows what arrived."""
from __future__ import annotations

import html
import json
import time
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse

from payhub.integrations.push import wire


@dataclass
class PushReceiver:
    """Keeps each event once (by event id); counts every delivery, duplicates and bad signatures too."""

    secret: str
    events: dict[str, dict[str, Any]] = field(default_factory=dict)
    deliveries: int = 0
    duplicates: int = 0
    refused: int = 0

    def __post_init__(self) -> None:
        self.app = FastAPI(title="PayHub push receiver sandbox")
        self.app.post("/push")(self._push)
        self.app.get("/_sandbox/events")(self._list)
        self.app.get("/", response_class=HTMLResponse)(self._page)

    async def _push(self, request: Request) -> JSONResponse:
        body = await request.body()
        headers = request.headers
        event_id = headers.get(wire.HEADER_EVENT, "")
        if not wire.verify(secret=self.secret, timestamp=headers.get(wire.HEADER_TIMESTAMP, ""), event_id=event_id,
                           body=body, signature=headers.get(wire.HEADER_SIGNATURE, ""), now=time.time()):
            self.refused += 1
            return JSONResponse({"ok": False, "error": "bad signature"}, status_code=401)
        self.deliveries += 1
        if event_id in self.events:
            self.duplicates += 1
            return JSONResponse({"ok": True, "duplicate": True})
        self.events[event_id] = json.loads(body)
        return JSONResponse({"ok": True, "duplicate": False})

    async def _list(self) -> dict[str, Any]:
        return {"events": list(self.events.values()), "deliveries": self.deliveries, "duplicates": self.duplicates,
                "refused": self.refused}

    async def _page(self) -> str:
        rows = "".join(
            f"<tr><td>{html.escape(e['event_id'])}</td><td>{html.escape(e['type'])}</td>"
            f"<td><code>{html.escape(json.dumps(e['data'], ensure_ascii=False))}</code></td></tr>"
            for e in reversed(list(self.events.values()))
        )
        return (f"<!doctype html><meta charset=utf-8><meta http-equiv=refresh content=3><title>推送接收</title>"
                f"<h1>交易推送接收沙箱</h1><p>{len(self.events)} events, {self.deliveries} deliveries, "
                f"{self.duplicates} duplicates, {self.refused} bad signatures</p>"
                f"<table border=1 cellpadding=4><tr><th>event id</th><th>type</th><th>data</th></tr>{rows}</table>")
