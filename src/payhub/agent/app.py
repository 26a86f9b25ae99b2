"""The terminal agent's HTTP and WebSocket API, for the counter pages of the allowed origins only.

    GET  /api/status            {"devices": [{"kind", "name", "state", "detail"}]}
    POST /api/print             {"receipt": <hub receipt JSON>} -> {"job_id", "state": "printed"} | 503 error
    GET  /api/jobs              {"jobs": [...]}: kept jobs, failed ones until printed (in the data folder's store)
    POST /api/jobs/{id}/retry   print a failed job again
    WS   /ws                    {"type": "status", "devices": [...]} at once and on every change
"""
from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import urlsplit

from fastapi import FastAPI, Request, WebSocket
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, Response
from starlette.middleware.base import RequestResponseEndpoint
from starlette.websockets import WebSocketDisconnect

from payhub.kernel.adapters.clock import SystemClock
from payhub.integrations.printing.client import EscposPrinter
from payhub.integrations.printing.escpos_render import escpos_bytes
from payhub.kernel.domain.devices import DeviceStatus
from payhub.agent.job_store import SqliteJobStore
from payhub.agent.schemas import JobsOut, JobOut, PrintedOut, PrintIn, StatusOut
from payhub.api.errors import error_body, install_error_handlers, locale_of
from payhub.kernel.ports import Clock, ReceiptPrinter
from payhub.agent.services.device_watch import DeviceWatch
from payhub.agent.services.print_jobs import PrintJob, PrintQueue

LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
POLICY_VIOLATION = 1008


@dataclass(frozen=True)
class AgentSettings:
    allowed_origins: tuple[str, ...] = ("http://127.0.0.1:8000",)
    paper_mm: int = 80
    poll_seconds: float = 2.0
    data_dir: Path | None = None  # where print jobs are kept across restarts; None: in memory only

    def __post_init__(self) -> None:
        if self.paper_mm not in (58, 80):
            raise ValueError("paper must be 58 or 80 mm")


def _host_is_local(host_header: str | None) -> bool:
    """Refuses DNS rebinding: a page of another site resolving its own name to 127.0.0.1."""
    return urlsplit(f"//{host_header or ''}").hostname in LOCAL_HOSTS


def create_agent_app(*, printer: ReceiptPrinter, settings: AgentSettings = AgentSettings(),
                     clock: Clock | None = None) -> FastAPI:
    """The agent's app around one receipt printer (later devices join the watch list)."""
    watch = DeviceWatch(devices=[printer])
    store = SqliteJobStore(path=None) if settings.data_dir is None else SqliteJobStore.in_folder(settings.data_dir)
    queue = PrintQueue(printer=printer, render=lambda receipt: escpos_bytes(receipt=receipt, paper_mm=settings.paper_mm),
                       clock=clock or SystemClock(), store=store)
    allowed = frozenset(settings.allowed_origins)

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        stop = asyncio.Event()
        watcher = asyncio.create_task(watch.run(every_seconds=settings.poll_seconds, stop=stop))
        try:
            yield
        finally:
            stop.set()
            await watcher
            store.close()

    app = FastAPI(title="PayHub terminal agent (终端代理)", version="0.1.0", lifespan=lifespan)
    install_error_handlers(app)
    app.add_middleware(CORSMiddleware, allow_origins=sorted(allowed), allow_methods=["GET", "POST"],
                       allow_headers=["Content-Type"])

    @app.middleware("http")
    async def only_local_pages(request: Request, call_next: RequestResponseEndpoint) -> Response:
        origin = request.headers.get("origin")
        if not _host_is_local(request.headers.get("host")) or (origin is not None and origin not in allowed):
            return JSONResponse(error_body(code="ORIGIN_NOT_ALLOWED", locale=locale_of(request)), status_code=403)
        response = await call_next(request)
        if request.headers.get("access-control-request-private-network") == "true":  # a public hub page calling localhost
            response.headers["Access-Control-Allow-Private-Network"] = "true"
        return response

    async def answer(request: Request, job: PrintJob) -> Response:
        await watch.refresh()  # a failure (or success) is news for the pages at once
        if job.error is not None:
            body = error_body(code=job.error.code, locale=locale_of(request), params=job.error.params, job_id=job.job_id)
            return JSONResponse(body, status_code=503)
        return JSONResponse(PrintedOut(job_id=job.job_id, state=job.state.value).model_dump())

    @app.get("/api/status", response_model=StatusOut, summary="Every device and its state")
    async def status() -> StatusOut:
        return StatusOut.of(await watch.refresh())

    @app.post("/api/print", response_model=PrintedOut, summary="Print a receipt (the hub's JSON receipt)",
              responses={503: {"description": "PRINTER_OFFLINE, PAPER_OUT or PRINTER_ERROR; the job is kept"}})
    async def print_receipt(body: PrintIn, request: Request) -> Response:
        return await answer(request, await queue.print_receipt(receipt=body.receipt))

    @app.get("/api/jobs", response_model=JobsOut, summary="Kept print jobs, newest first")
    async def jobs(request: Request) -> JobsOut:
        return JobsOut(jobs=[JobOut.of(job, locale_of(request)) for job in queue.jobs()])

    @app.post("/api/jobs/{job_id}/retry", response_model=PrintedOut, summary="Print a failed job again")
    async def retry(job_id: str, request: Request) -> Response:
        return await answer(request, await queue.retry(job_id=job_id))

    @app.websocket("/ws")
    async def device_events(websocket: WebSocket) -> None:
        if websocket.headers.get("origin") not in allowed or not _host_is_local(websocket.headers.get("host")):
            await websocket.close(code=POLICY_VIOLATION)
            return
        await websocket.accept()
        with watch.listen() as changes:
            await _push(websocket, watch.last or await watch.refresh())
            closed = asyncio.ensure_future(websocket.receive())
            while True:
                change = asyncio.ensure_future(changes.get())
                done, _ = await asyncio.wait({closed, change}, return_when=asyncio.FIRST_COMPLETED)
                if closed in done:
                    change.cancel()
                    if closed.result()["type"] == "websocket.disconnect":
                        return
                    closed = asyncio.ensure_future(websocket.receive())  # the page said something: ignore it
                    continue
                with contextlib.suppress(WebSocketDisconnect, RuntimeError):
                    await _push(websocket, change.result())

    return app


async def _push(websocket: WebSocket, statuses: list[DeviceStatus]) -> None:
    await websocket.send_json({"type": "status", **StatusOut.of(statuses).model_dump()})


def agent_for(*, printer_spec: str, settings: AgentSettings) -> FastAPI:
    """The agent app for a printer named like file:var/receipts.bin or tcp:192.168.1.50:9100; its jobs kept in
    settings.data_dir, else in $PAYHUB_AGENT_DATA_DIR, else in var/agent."""
    data_dir = settings.data_dir or Path(os.environ.get("PAYHUB_AGENT_DATA_DIR") or "var/agent")
    return create_agent_app(printer=EscposPrinter.from_spec(printer_spec), settings=replace(settings, data_dir=data_dir))
