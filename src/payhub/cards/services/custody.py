"""Custody account (托管账户): the T+1 report of what each business day's recharges put into collection,
and the settlement that records the bank transfer into the custody account and books it."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from payhub.cards.domain.money import Funding, business_date, collected, custody_entry
from payhub.cards.domain.rows import CustodySettlement
from payhub.kernel.domain.errors import Conflict
from payhub.cards.services.context import CardHub


async def report(*, hub: CardHub, merchant_id: int, day: date) -> dict[str, Any]:
    """What online (SwiftPass) and offline (cash) recharges of one business day owe the custody account."""
    async with hub.uow(read_only=True) as uow:
        rows = await uow.card_money.recharges_by_day(merchant_id=merchant_id, day=day)
        settled = await uow.card_money.settlement(merchant_id=merchant_id, day=day)
    online = sum(r.amount for r in rows if r.funding == Funding.SWIFTPASS)
    offline = sum(r.amount for r in rows if r.funding == Funding.CASH)
    return {"business_date": day, "online_amount": online, "offline_amount": offline, "total": online + offline,
            "count": sum(r.count for r in rows), "settlement": settled,
            "settleable": day < business_date(hub.clock.now(), hub.cards.business_tz)}


async def settle(*, hub: CardHub, merchant_id: int, day: date, bank_ref: str, actor: str) -> CustodySettlement:
    """Record the T+1 transfer of a finished day's recharges into the custody account (once per day)."""
    now: datetime = hub.clock.now()
    if day >= business_date(now, hub.cards.business_tz):
        raise Conflict("NOT_YET_SETTLEABLE", business_date=day.isoformat())
    async with hub.uow() as uow:
        if await uow.card_money.settlement(merchant_id=merchant_id, day=day):
            raise Conflict("ALREADY_SETTLED", business_date=day.isoformat())
        rows = await uow.card_money.recharges_by_day(merchant_id=merchant_id, day=day)
        amounts = {collected(Funding(r.funding), r.shard): r.amount for r in rows}
        if amounts:
            await uow.ledger.post(entry=custody_entry(merchant_id=merchant_id, ref=day.isoformat(), amounts=amounts), at=now)
        row = CustodySettlement(
            merchant_id=merchant_id, business_date=day, bank_ref=bank_ref[:64], settled_by=actor[:64],
            online_amount=sum(a for k, a in amounts.items() if ":swiftpass:" in k.code),
            offline_amount=sum(a for k, a in amounts.items() if ":cash:" in k.code), created_at=now)
        await uow.card_money.add_settlement(row=row)
        await uow.commit()
    return row
