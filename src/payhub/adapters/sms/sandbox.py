"""An SMS gateway sandbox: keeps the messages it was given and shows them (with their codes) on a page."""
from __future__ import annotations

import html
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime

from fastapi import FastAPI
from fastapi.responses import HTMLResponse

log = logging.getLogger(__name__)


@dataclass
class SandboxSms:
    messages: list[dict] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.app = FastAPI(title="PayHub SMS sandbox")
        self.app.get("/_sandbox/messages")(self._list)
        self.app.get("/", response_class=HTMLResponse)(self._page)

    async def send(self, *, phone: str, text: str) -> None:
        self.messages.append({"phone": phone, "text": text, "at": datetime.now(UTC).isoformat()})
        log.info("sandbox SMS to %s: %s", phone, text)

    def last_to(self, phone: str) -> str:
        """The newest message sent to phone (tests read codes from it)."""
        return next(m["text"] for m in reversed(self.messages) if m["phone"] == phone)

    async def _list(self) -> dict:
        return {"messages": self.messages[-100:]}

    async def _page(self) -> str:
        rows = "".join(f"<tr><td>{html.escape(m['at'])}</td><td>{html.escape(m['phone'])}</td>"
                       f"<td>{html.escape(m['text'])}</td></tr>" for m in reversed(self.messages[-100:]))
        return (f"<!doctype html><meta charset=utf-8><meta http-equiv=refresh content=3><title>短信沙箱</title>"
                f"<h1>短信沙箱</h1><table border=1 cellpadding=4><tr><th>time</th><th>phone</th><th>text</th></tr>"
                f"{rows}</table>")
