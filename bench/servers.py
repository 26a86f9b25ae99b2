"""The processes the counter-flow benchmark starts: the hub, and both sandboxes behind one port.

Run as a script by bench/counter_flow.py, one role per process, so that the hub's event loop shares
nothing with the load generator's or the sandboxes':

    python bench/servers.py hub SETTINGS_JSON
    python bench/servers.py sandboxes SETTINGS_JSON

SETTINGS_JSON holds the keyword arguments of payhub.config.Settings. Both roles listen on 127.0.0.1 only.
"""
from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import uvicorn
from fastapi import FastAPI

from payhub.kernel.adapters.observability.logs import configure_logging
from payhub.integrations.swiftpass.sandbox import SandboxAccount, SwiftPassSandbox
from payhub.integrations.tcis.sandbox import TcisSandbox
from payhub.bootstrap import build
from payhub.config import Settings
from payhub.api.app import create_app

LOOPBACK = "127.0.0.1"
SWIFTPASS_PREFIX = "/swiftpass"
TCIS_PREFIX = "/tcis"


def hub_app(settings: Settings) -> FastAPI:
    """The hub as `payhub serve` builds it, with its embedded worker; the container closes at shutdown."""
    container = build(settings)
    app = create_app(container, embedded_worker=True)
    inner = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(running: FastAPI) -> AsyncIterator[None]:
        try:
            async with inner(running):
                yield
        finally:
            await container.close()

    app.router.lifespan_context = lifespan
    return app


def sandboxes_app(settings: Settings) -> FastAPI:
    """SwiftPass under /swiftpass and TCIS under /tcis; the SwiftPass notify loop runs in the app's lifespan."""
    swiftpass = SwiftPassSandbox(
        accounts={account.mch_id: SandboxAccount(sign_type="MD5", key=account.key)
                  for account in settings.swiftpass.accounts.values()},
        public_url=settings.swiftpass.base_url,
    )
    tcis = TcisSandbox(app_id=settings.tcis.app_id, secret=settings.tcis.secret)

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        async with swiftpass.app.router.lifespan_context(swiftpass.app):
            yield

    app = FastAPI(title="PayHub benchmark sandboxes", lifespan=lifespan)
    app.mount(SWIFTPASS_PREFIX, swiftpass.app)
    app.mount(TCIS_PREFIX, tcis.app)
    return app


def port_of(url: str) -> int:
    """The port of an http://127.0.0.1:PORT/... URL."""
    port = urlsplit(url).port
    if port is None:
        raise ValueError(f"no port in {url}")
    return port


def main(argv: list[str]) -> None:
    """Serve one role until SIGTERM/SIGINT; no access log (the hub's own INFO logs stay on, as in production)."""
    role, settings = argv[0], Settings(**json.loads(argv[1]))
    configure_logging(json_lines=True)
    if role == "hub":
        app, port = hub_app(settings), port_of(settings.public_url)
    elif role == "sandboxes":
        app, port = sandboxes_app(settings), port_of(settings.tcis.base_url)
    else:
        raise SystemExit(f"unknown role {role!r}: hub or sandboxes")
    uvicorn.run(app, host=LOOPBACK, port=port, log_config=None, access_log=False, timeout_graceful_shutdown=5)


if __name__ == "__main__":
    main(sys.argv[1:])
