"""Where channels push payment notifies (plain `success` acknowledges)."""
from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse

from payhub.api.deps import HubDep
from payhub.api.openapi_docs import ERROR_JSON, Responses
from payhub.kernel.services.notifications import accept_notify

router = APIRouter(tags=["channel notifies"])
NOTIFY: Responses = {
    200: {"description": "Accepted: `success`", "content": {"text/plain": {"schema": {"type": "string"}}}},
    400: {"description": "Not accepted: `fail`, or an unknown channel (JSON error)",
          "content": {"text/plain": {"schema": {"type": "string"}}} | ERROR_JSON},
    503: {"description": "The database did not answer; the channel sends the notify again", "content": ERROR_JSON},
}
NOTIFY_BODY = {"requestBody": {"required": True, "content": {"text/xml": {"schema": {"type": "string"}}}}}


@router.post("/notify/{channel}", response_class=PlainTextResponse, responses=NOTIFY, openapi_extra=NOTIFY_BODY,
             summary="Payment notify from a channel")
async def notify(channel: str, request: Request, hub: HubDep) -> PlainTextResponse:
    acknowledged = await accept_notify(hub=hub, channel=channel, body=await request.body())
    return PlainTextResponse("success" if acknowledged else "fail", status_code=200 if acknowledged else 400)
