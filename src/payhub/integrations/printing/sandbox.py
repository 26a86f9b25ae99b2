"""A network receipt printer that speaks ESC/POS on TCP (port 9100 by convention), for the agent's tests and demos.

It answers the real-time status request DLE EOT n at once (as a printer does even when off line),
keeps every job it printed (raw bytes and a decoded text view), and plays scenarios: offline, paper
out, paper low, slow answers. Control it with Python methods or with its small HTTP app.
"""
from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from fastapi import FastAPI, HTTPException, Response
from pydantic import BaseModel, Field

from payhub.integrations.printing.wire import ReadBack, answer, command_length, is_status_request, read_back

Paper = Literal["ok", "low", "out"]


@dataclass
class SandboxJob:
    """One printed connection's data, status requests left out."""

    raw: bytes
    received_at: datetime
    view: ReadBack = field(init=False)

    def __post_init__(self) -> None:
        self.view = read_back(self.raw)


@dataclass
class SandboxCondition:
    offline: bool = False
    paper: Paper = "ok"
    slow_seconds: float = 0.0


class ConditionIn(BaseModel):
    offline: bool | None = None
    paper: Paper | None = None
    slow_seconds: float | None = Field(default=None, ge=0, le=60)


class PrinterSandbox:
    """Start with `await sandbox.start(port=0)`; `sandbox.port` is the port it got."""

    def __init__(self) -> None:
        self.condition = SandboxCondition()
        self.jobs: list[SandboxJob] = []
        self.refused: list[bytes] = []  # data that arrived while the printer could not print
        self.port: int | None = None
        self._server: asyncio.Server | None = None
        self.app = self._control_app()

    # --- scenarios ---

    def set_condition(self, *, offline: bool | None = None, paper: Paper | None = None,
                      slow_seconds: float | None = None) -> SandboxCondition:
        """Change what the printer reports and does; None leaves that part as it is."""
        if offline is not None:
            self.condition.offline = offline
        if paper is not None:
            self.condition.paper = paper
        if slow_seconds is not None:
            self.condition.slow_seconds = slow_seconds
        return self.condition

    @property
    def can_print(self) -> bool:
        return not self.condition.offline and self.condition.paper != "out"

    # --- the wire ---

    async def start(self, *, host: str = "127.0.0.1", port: int = 9100) -> None:
        self._server = await asyncio.start_server(self._serve, host, port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server:
            self._server.close()
            with contextlib.suppress(Exception):
                await self._server.wait_closed()

    def _status_byte(self, n: int) -> int:
        c = self.condition
        return answer(n=n, offline=c.offline, paper_out=c.paper == "out", paper_low=c.paper == "low")

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        buffer, printed, pos = bytearray(), bytearray(), 0
        try:
            while chunk := await reader.read(65536):
                buffer += chunk
                while pos < len(buffer) and (length := command_length(buffer, pos)) is not None:
                    if is_status_request(buffer, pos):
                        if self.condition.slow_seconds:
                            await asyncio.sleep(self.condition.slow_seconds)
                        writer.write(bytes((self._status_byte(buffer[pos + 2]),)))
                        await writer.drain()
                    else:
                        printed += buffer[pos:pos + length]
                    pos += length
        except ConnectionError:
            pass
        finally:
            writer.close()
        if printed:
            self._keep(bytes(printed))

    def _keep(self, data: bytes) -> None:
        if self.can_print:
            self.jobs.append(SandboxJob(raw=data, received_at=datetime.now(UTC)))
        else:
            self.refused.append(data)

    # --- HTTP control ---

    def _control_app(self) -> FastAPI:
        app = FastAPI(title="Receipt printer sandbox (ESC/POS over TCP)")

        @app.get("/_sandbox/state")
        async def state() -> dict[str, Any]:
            return {"port": self.port, "condition": vars(self.condition), "jobs": len(self.jobs),
                    "refused": len(self.refused)}

        @app.post("/_sandbox/state")
        async def change(body: ConditionIn) -> dict[str, Any]:
            return vars(self.set_condition(**body.model_dump()))

        @app.get("/_sandbox/jobs")
        async def jobs() -> list[dict[str, Any]]:
            return [{"index": i, "received_at": job.received_at.isoformat(), "bytes": len(job.raw), "text": job.view.text,
                     "qr_codes": job.view.qr_codes, "cuts": job.view.cuts} for i, job in enumerate(self.jobs)]

        @app.get("/_sandbox/jobs/{index}/raw")
        async def raw(index: int) -> Response:
            if not 0 <= index < len(self.jobs):
                raise HTTPException(404)
            return Response(self.jobs[index].raw, media_type="application/octet-stream")

        return app
