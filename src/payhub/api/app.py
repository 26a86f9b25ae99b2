"""The hub's FastAPI application: routers, error mapping, request ids, metrics, and the embedded worker."""
from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from payhub.api.errors import install_error_handlers
from payhub.api.limits import BodyLimit, NoNulCharacters
from payhub.api.observation import RequestObservation
from payhub.api.openapi_docs import install_openapi
from payhub.api.routers import ledger, notify, ops, session, terminal
from payhub.api.signed_requests import SignedRequests
from payhub.bootstrap import Container
from payhub.cards.api import routes as card_routes
from payhub.cards.services.consumes import ConsumeBatcher
from payhub.counter.api import exports, receipts
from payhub.counter.api import routes as counter
from payhub.kernel.services.outbox import work_forever

log = logging.getLogger("payhub.api")
POS_PAGE = Path(__file__).parent.parent / "web" / "pos"


def create_app(container: Container, *, embedded_worker: bool | None = None) -> FastAPI:
    """The hub's HTTP app; runs the job worker inside when asked (the embedded default)."""
    run_worker = container.settings.embedded_worker if embedded_worker is None else embedded_worker

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await container.start()
        stop = asyncio.Event()
        worker = None
        if run_worker:
            worker = asyncio.create_task(work_forever(
                hub=container.hub, idle_seconds=container.settings.worker_poll_seconds, stop=stop,
                wakeups=container.wakeups))
        try:
            yield
        finally:
            stop.set()
            if worker:
                await worker
            await container.stop()

    app = FastAPI(
        title="PayHub 交易宝", version="0.1.0", lifespan=lifespan,
        docs_url=None, redoc_url=None,  # FastAPI's own pages load Swagger UI from a CDN; install_openapi serves ours
        description="Terminal API of the payment hub. Every /api request is signed by the terminal "
        "(X-PayHub-Terminal, X-PayHub-Timestamp, X-PayHub-Nonce, X-PayHub-Signature); "
        "operator calls also carry Authorization: Bearer <token>. Amounts are integer fen.",
    )
    app.state.container = container
    app.state.consumes = ConsumeBatcher()  # group commit of concurrent card consumes
    install_error_handlers(app)
    install_openapi(app)
    for router in (session.router, terminal.router, exports.router, counter.router, receipts.router, ledger.router,
                   notify.router, ops.router, card_routes.router):
        app.include_router(router)
    app.mount("/pos", StaticFiles(directory=POS_PAGE, html=True), name="pos")
    app.add_middleware(SignedRequests, hub=container.hub)  # added first, so innermost: after the body limits

    app.add_middleware(RequestObservation, metrics=container.metrics)
    app.add_middleware(NoNulCharacters)
    app.add_middleware(BodyLimit)  # added last, so outermost: nothing reads an oversized body
    return app
