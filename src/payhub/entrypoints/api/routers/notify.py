"""Where channels push payment notifies (plain `success` acknowledges)."""
from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse

from payhub.entrypoints.api.deps import HubDep
from payhub.services.notifications import accept_notify

router = APIRouter(tags=["channel notifies"])


@router.post("/notify/{channel}", response_class=PlainTextResponse, summary="Payment notify from a channel")
async def notify(channel: str, request: Request, hub: HubDep) -> PlainTextResponse:
    acknowledged = await accept_notify(hub=hub, channel=channel, body=await request.body())
    return PlainTextResponse("success" if acknowledged else "fail", status_code=200 if acknowledged else 400)
