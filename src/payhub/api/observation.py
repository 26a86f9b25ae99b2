"""Request ids, the order no. in the logs and API latency, as a pure ASGI middleware (no extra task per request)."""
from __future__ import annotations

import re
import time
import uuid
from collections.abc import MutableMapping
from typing import Any

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from payhub.kernel.adapters.observability.logs import order_no as order_no_var
from payhub.kernel.adapters.observability.logs import request_id as request_id_var
from payhub.kernel.adapters.observability.metrics import HubMetrics

ORDER_IN_PATH = re.compile(r"/orders/([A-Za-z0-9]+)")


class RequestObservation:
    """Sets the request id (X-Request-Id, echoed) and the order no. for the logs; observes the time until the
    answer starts (an event stream counts until its headers, not to its end)."""

    def __init__(self, app: ASGIApp, *, metrics: HubMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = Headers(scope=scope).get("x-request-id") or uuid.uuid4().hex
        request_id_var.set(rid)
        match = ORDER_IN_PATH.search(scope["path"])
        order_no_var.set(match.group(1) if match else None)
        started = time.perf_counter()
        observed = False

        def observe(status: int) -> None:
            nonlocal observed
            observed = True
            self.metrics.api_latency.labels(scope["method"], _route(scope), str(status)).observe(
                time.perf_counter() - started)

        async def send_observed(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)["X-Request-Id"] = rid
                observe(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_observed)
        finally:
            if not observed:  # failed before answering: the outer error handler answers 500
                observe(500)


def _route(scope: MutableMapping[str, Any]) -> str:
    return getattr(scope.get("route"), "path", "unmatched")
