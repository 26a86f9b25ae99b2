"""Card transaction queries: detail by external order no. (with refunds), lists by filters, recharge totals."""
from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

from payhub.cards.domain.money import TxKind
from payhub.cards.domain.rows import CardTx
from payhub.kernel.domain.errors import NotFound
from payhub.cards.ports import CardUnitOfWork
from payhub.cards.services.context import CardHub


async def _find(uow: CardUnitOfWork, merchant_id: int, merchant_code: str, out_no: str, kind: TxKind) -> CardTx | None:
    merchant = await uow.cards.card_merchant(merchant_id=merchant_id, code=merchant_code)
    if merchant is None:
        return None
    return await uow.card_money.tx_by_out_no(merchant_id=merchant_id, card_merchant_id=merchant.id, kind=kind.value,
                                             out_no=out_no)


async def find(*, hub: CardHub, merchant_id: int, merchant_code: str, out_no: str, kind: TxKind) -> CardTx | None:
    """One transaction by the merchant's external no. (out_trade_no, or out_refund_no of a refund)."""
    async with hub.uow(read_only=True) as uow:
        return await _find(uow, merchant_id, merchant_code, out_no, kind)


async def detail(*, hub: CardHub, merchant_id: int, merchant_code: str, out_trade_no: str,
                 kind: TxKind = TxKind.CONSUME) -> dict[str, Any]:
    """交易明细: one transaction by the merchant's order no., with its state and its refunds."""
    async with hub.uow(read_only=True) as uow:
        tx = await _find(uow, merchant_id, merchant_code, out_trade_no, kind)
        if tx is None:
            raise NotFound("TX_NOT_FOUND", out_trade_no=out_trade_no)
        refunds = await uow.card_money.refunds_of(tx_no=tx.tx_no)
    state = "refunded" if tx.refunded == tx.amount else "partly_refunded" if tx.refunded else "succeeded"
    return dataclasses.asdict(tx) | {"state": state, "refunds": refunds}


async def search(*, hub: CardHub, merchant_id: int, since: datetime | None, until: datetime | None, limit: int, offset: int,
                 **filters: str | None) -> list[CardTx]:
    """交易列表: by time range, kind (refunds included), channel, merchant, terminal, card, external no."""
    async with hub.uow(read_only=True) as uow:
        return await uow.card_money.find_txs(merchant_id=merchant_id, since=since, until=until, limit=limit,
                                             offset=offset, **filters)


async def recharge_total(*, hub: CardHub, merchant_id: int, since: datetime | None, until: datetime | None,
                         **filters: str | None) -> dict[str, int]:
    """充值总金额: count and sum of recharges by merchant, terminal, card and time range."""
    async with hub.uow(read_only=True) as uow:
        count, total = await uow.card_money.recharge_total(merchant_id=merchant_id, since=since, until=until, **filters)
    return {"count": count, "total": total}
