"""The merchant's ledger: account balances and entries (supervisor and admin)."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from payhub.kernel.domain.ledger import LedgerAccount
from payhub.kernel.domain.tenancy import Role, require_role
from payhub.api import ledger_schemas as s
from payhub.api.deps import ActorDep, HubDep
from payhub.api.openapi_docs import SIGNED, error_responses
from payhub.kernel.services import ledger_views
from payhub.kernel.services.ledger_views import AccountHistory

router = APIRouter(prefix="/api/v1/ledger", tags=["ledger"], responses=SIGNED | error_responses(403))


@router.get("/accounts", response_model=list[s.LedgerAccountOut], summary="Every ledger account with its balance (fen)")
async def accounts(hub: HubDep, actor: ActorDep) -> list[LedgerAccount]:
    require_role(role=actor.operator.role, needed=Role.SUPERVISOR)
    return await ledger_views.accounts(hub=hub, merchant_id=actor.merchant_id)


@router.get("/accounts/{code}", response_model=s.AccountHistoryOut, responses=error_responses(404),
            summary="One account's balance and newest entries")
async def account(code: str, hub: HubDep, actor: ActorDep,
                  limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> AccountHistory:
    require_role(role=actor.operator.role, needed=Role.SUPERVISOR)
    return await ledger_views.history(hub=hub, merchant_id=actor.merchant_id, account=code, limit=limit)
