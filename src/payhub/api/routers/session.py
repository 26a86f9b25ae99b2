"""Operator login and logout on a signed terminal."""
from __future__ import annotations

from fastapi import APIRouter, Response

from payhub.kernel.domain.tenancy import Operator
from payhub.api.deps import ActorDep, HubDep, TerminalDep
from payhub.api.openapi_docs import SIGNED, error_responses
from payhub.api.schemas import LoginIn, LoginOut, OperatorOut
from payhub.kernel.services import auth

router = APIRouter(prefix="/api/v1/session", tags=["session"], responses=SIGNED)


def _operator(op: Operator) -> OperatorOut:
    return OperatorOut(id=op.id, username=op.username, display_name=op.display_name, role=op.role.value)


@router.post("", response_model=LoginOut, responses=error_responses(400), summary="Operator login (柜员登录)")
async def login(body: LoginIn, hub: HubDep, terminal: TerminalDep) -> LoginOut:
    token, actor, expires_at = await auth.login(hub=hub, terminal=terminal, username=body.username, password=body.password)
    return LoginOut(token=token, expires_at=expires_at, operator=_operator(actor.operator), terminal=terminal.code)


@router.get("", response_model=OperatorOut, summary="Who is logged in")
async def whoami(actor: ActorDep) -> OperatorOut:
    return _operator(actor.operator)


@router.delete("", status_code=204, summary="Operator logout")
async def logout(hub: HubDep, actor: ActorDep) -> Response:
    await auth.logout(hub=hub, actor=actor)
    return Response(status_code=204)
