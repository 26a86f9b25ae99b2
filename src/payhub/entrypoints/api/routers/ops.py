"""Health, readiness and Prometheus metrics."""
from __future__ import annotations

import sqlalchemy as sa
from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response

from payhub.entrypoints.api.deps import ContainerDep
from payhub.entrypoints.api.openapi_docs import error_responses

router = APIRouter(tags=["operations"])
NOT_READY = {503: {"description": "Not ready", "content": {"application/json": {"schema": {
    "type": "object", "properties": {"status": {"type": "string"}}, "required": ["status"]}}}}}
METRICS = {200: {"content": {"text/plain": {}}, "description": "Prometheus text format"}} | error_responses(503)


@router.get("/healthz", summary="The process is up")
async def healthz() -> dict:
    return {"status": "ok"}


@router.get("/readyz", responses=NOT_READY, summary="The database answers and the schema is in place")
async def readyz(container: ContainerDep) -> JSONResponse:
    try:
        async with container.database.read.connect() as conn:
            await conn.execute(sa.text("SELECT 1 FROM alembic_version"))
    except Exception:  # noqa: BLE001 - any failure means not ready
        return JSONResponse({"status": "unavailable"}, status_code=503)
    return JSONResponse({"status": "ready"})


@router.get("/metrics", response_class=Response, responses=METRICS, summary="Prometheus metrics")
async def metrics(container: ContainerDep) -> Response:
    hub, m = container.hub, container.metrics
    async with hub.uow(read_only=True) as uow:
        by_state = await uow.orders.count_by_state()
        depth, oldest = await uow.jobs.queue_stats(now=hub.clock.now())
    m.orders.clear()
    for state, count in by_state.items():
        m.orders.labels(state).set(count)
    m.queue_depth.set(depth)
    m.oldest_job.set(oldest)
    return Response(m.render(), media_type="text/plain; version=0.0.4")
