"""Card transaction queries: detail by external order no. (with refunds), lists by filters, recharge totals."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from payhub.domain.card_money import TxKind
from payhub.domain.errors import NotFound
from payhub.services.context import Hub


async def detail(*, hub: Hub, merchant_id: int, merchant_code: str, out_trade_no: str,
                 kind: TxKind = TxKind.CONSUME) -> dict[str, Any]:
    """交易明细: one transaction by the merchant's order no., with its state and its refunds."""
    async with hub.uow(read_only=True) as uow:
        merchant = await uow.cards.card_merchant(merchant_id=merchant_id, code=merchant_code)
        tx = merchant and await uow.card_money.tx_by_out_no(merchant_id=merchant_id, card_merchant_id=merchant["id"],
                                                            kind=kind.value, out_no=out_trade_no)
        if not tx:
            raise NotFound("TX_NOT_FOUND", out_trade_no=out_trade_no)
        refunds = await uow.card_money.refunds_of(tx_no=tx["tx_no"])
    tx["state"] = ("refunded" if tx["refunded"] == tx["amount"] else "partly_refunded" if tx["refunded"]
                   else "succeeded")
    tx["refunds"] = refunds
    return tx


async def search(*, hub: Hub, merchant_id: int, since: datetime | None, until: datetime | None, limit: int, offset: int,
                 **filters: str | None) -> list[dict[str, Any]]:
    """交易列表: by time range, kind (refunds included), channel, merchant, terminal, card, external no."""
    async with hub.uow(read_only=True) as uow:
        return await uow.card_money.find_txs(merchant_id=merchant_id, since=since, until=until, limit=limit,
                                             offset=offset, **filters)


async def recharge_total(*, hub: Hub, merchant_id: int, since: datetime | None, until: datetime | None,
                         **filters: str | None) -> dict[str, int]:
    """充值总金额: count and sum of recharges by merchant, terminal, card and time range."""
    async with hub.uow(read_only=True) as uow:
        count, total = await uow.card_money.recharge_total(merchant_id=merchant_id, since=since, until=until, **filters)
    return {"count": count, "total": total}
