"""A signed ping: the terminal learns whether its key is right, and whose it is, before it keeps the key."""
from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from payhub.api.deps import HubDep, TerminalDep
from payhub.api.openapi_docs import SIGNED
from payhub.kernel.services import auth

router = APIRouter(prefix="/api/v1/terminal", tags=["session"], responses=SIGNED)


class PingOut(BaseModel):
    terminal: str
    terminal_name: str
    merchant: str
    merchant_name: str


@router.get("/ping", response_model=PingOut, summary="Check the terminal key (终端密钥校验)")
async def ping(hub: HubDep, terminal: TerminalDep) -> PingOut:
    merchant = await auth.terminal_merchant(hub=hub, terminal=terminal)
    return PingOut(terminal=terminal.code, terminal_name=terminal.name, merchant=merchant.code, merchant_name=merchant.name)
