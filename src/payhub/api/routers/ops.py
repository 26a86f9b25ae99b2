"""Health, readiness and Prometheus metrics."""
from __future__ import annotations

import sqlalchemy as sa
from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel

from payhub.api.deps import ContainerDep
from payhub.api.openapi_docs import Responses, error_responses

router = APIRouter(tags=["operations"])
NOT_READY: Responses = {503: {"description": "Not ready", "content": {"application/json": {"schema": {
    "type": "object", "properties": {"status": {"type": "string"}}, "required": ["status"]}}}}}


class StatusOut(BaseModel):
    status: str
METRICS: Responses = {200: {"content": {"text/plain": {}}, "description": "Prometheus text format"}}
METRICS |= error_responses(503)


@router.get("/healthz", response_model=StatusOut, summary="The process is up")
async def healthz() -> StatusOut:
    return StatusOut(status="ok")


@router.get("/readyz", response_model=StatusOut, responses=NOT_READY,
            summary="The database answers and the schema is in place")
async def readyz(container: ContainerDep) -> JSONResponse:
    try:
        async with container.database.read.connect() as conn:
            await conn.execute(sa.text("SELECT 1 FROM alembic_version"))
    except Exception:  # noqa: BLE001 - any failure means not ready
        return JSONResponse({"status": "unavailable"}, status_code=503)
    return JSONResponse({"status": "ready"})


@router.get("/metrics", response_class=Response, responses=METRICS, summary="Prometheus metrics")
async def metrics(container: ContainerDep) -> Response:
    hub = container.hub
    async with hub.uow(read_only=True) as uow:
        by_state = await uow.orders.count_by_state()
        depth, oldest = await uow.jobs.queue_stats(now=hub.clock.now())
    text = container.metrics.render(orders_by_state=by_state, open_jobs=depth, oldest_due_seconds=oldest)
    return Response(text, media_type="text/plain; version=0.0.4")
