"""The processes the counter-flow benchmark starts: the hub (one process, or API processes and job workers), and
both sandboxes behind one port.

Run as a script by bench/counter_flow.py, one role per process, so that the hub's event loop shares
nothing with the load generator's or the sandboxes':

    python bench/servers.py hub SETTINGS_JSON        # the hub API with its embedded worker
    python bench/servers.py hub-api SETTINGS_JSON    # the hub API only; may run N times on the same port
    python bench/servers.py worker SETTINGS_JSON     # a job worker (`payhub worker`); may run K times
    python bench/servers.py sandboxes SETTINGS_JSON

SETTINGS_JSON holds the keyword arguments of payhub.config.Settings. The HTTP roles serve as `payhub serve` does
(payhub.entrypoints.serving): each process binds its own socket on 127.0.0.1 with SO_REUSEPORT, so hub-api
processes share the hub's port, under uvicorn with uvloop and httptools; access log off, JSON INFO logs on.
"""
from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import uvicorn
import uvloop
from fastapi import FastAPI

from payhub.kernel.adapters.observability.logs import configure_logging
from payhub.integrations.swiftpass.sandbox import SandboxAccount, SwiftPassSandbox
from payhub.integrations.tcis.sandbox import TcisSandbox
from payhub.bootstrap import build
from payhub.config import Settings
from payhub.api.app import create_app
from payhub.entrypoints.serving import listener
from payhub.entrypoints.worker import run_worker

LOOPBACK = "127.0.0.1"
SWIFTPASS_PREFIX = "/swiftpass"
TCIS_PREFIX = "/tcis"


def hub_app(settings: Settings, *, embedded_worker: bool) -> FastAPI:
    """The hub as `payhub serve` builds it, with or without its embedded worker; the container closes at shutdown."""
    container = build(settings)
    app = create_app(container, embedded_worker=embedded_worker)
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


def serve(app: FastAPI, *, port: int) -> None:
    """Serve app on 127.0.0.1:port from this process's own SO_REUSEPORT socket until SIGTERM/SIGINT."""
    config = uvicorn.Config(app, loop="uvloop", http="httptools", log_config=None, access_log=False,
                            timeout_graceful_shutdown=5)
    uvicorn.Server(config).run(sockets=[listener(LOOPBACK, port)])


def main(argv: list[str]) -> None:
    """Run one role until SIGTERM/SIGINT; no access log (the hub's own INFO logs stay on, as in production)."""
    role, settings = argv[0], Settings(**json.loads(argv[1]))
    configure_logging(json_lines=True)
    if role == "worker":
        uvloop.run(run_worker(settings))
    elif role in ("hub", "hub-api"):
        serve(hub_app(settings, embedded_worker=role == "hub"), port=port_of(settings.public_url))
    elif role == "sandboxes":
        serve(sandboxes_app(settings), port=port_of(settings.tcis.base_url))
    else:
        raise SystemExit(f"unknown role {role!r}: hub, hub-api, worker or sandboxes")


if __name__ == "__main__":
    main(sys.argv[1:])
