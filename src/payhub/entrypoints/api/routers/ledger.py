"""The merchant's ledger: account balances and entries (supervisor and admin)."""
from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from payhub.domain.tenancy import Role, require_role
from payhub.entrypoints.api.deps import ActorDep, HubDep
from payhub.entrypoints.api.openapi_docs import SIGNED, error_responses
from payhub.services import order_views

router = APIRouter(prefix="/api/v1/ledger", tags=["ledger"], responses=SIGNED | error_responses(403))


@router.get("/accounts", summary="Every ledger account with its balance (fen)")
async def accounts(hub: HubDep, actor: ActorDep) -> list[dict[str, Any]]:
    require_role(role=actor.operator.role, needed=Role.SUPERVISOR)
    return await order_views.ledger_accounts(hub=hub, merchant_id=actor.merchant_id)


@router.get("/accounts/{code}", responses=error_responses(404), summary="One account's balance and newest entries")
async def account(code: str, hub: HubDep, actor: ActorDep,
                  limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> dict[str, Any]:
    require_role(role=actor.operator.role, needed=Role.SUPERVISOR)
    return await order_views.ledger_entries(hub=hub, merchant_id=actor.merchant_id, account=code, limit=limit)
