"""Reading orders: lists with filters, one order with its history and refunds, receipt data, ledger reports."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from payhub.domain.errors import NotFound
from payhub.domain.money import yuan
from payhub.domain.orders import BillOrder
from payhub.domain.refunds import Refund
from payhub.domain.transitions import Transition
from payhub.services.auth import Actor
from payhub.services.context import Hub
from payhub.services.counter import CHINA


@dataclass
class OrderQuery:
    """Filters of the order list; None means any."""

    merchant_id: int
    terminal_id: int | None = None
    operator_id: int | None = None
    states: list[str] = field(default_factory=list)
    fee_type: str | None = None
    account_no: str | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None


async def search_orders(*, hub: Hub, query: OrderQuery, limit: int = 50, offset: int = 0) -> list[BillOrder]:
    """Orders matching the filters, newest first."""
    async with hub.uow(read_only=True) as uow:
        return await uow.orders.search(filters=query, limit=limit, offset=offset)


@dataclass(frozen=True)
class OrderDetail:
    order: BillOrder
    history: list[Transition]
    refunds: list[Refund]


async def order_detail(*, hub: Hub, actor: Actor, order_no: str) -> OrderDetail:
    """An order with every recorded move and its refunds."""
    async with hub.uow(read_only=True) as uow:
        order = await uow.orders.get(order_no=order_no)
        if order is None or order.merchant_id != actor.merchant_id:
            raise NotFound("ORDER_NOT_FOUND", order_no=order_no)
        assert order.id is not None
        history = await uow.orders.history(key=order_no)
        refunds = await uow.refunds.for_order(order_id=order.id)
        for refund in refunds:
            history += await uow.orders.history(key=refund.refund_no)
    history.sort(key=lambda t: t.at)
    return OrderDetail(order, history, refunds)


async def receipt(*, hub: Hub, actor: Actor, order_no: str) -> dict[str, Any]:
    """What a payment receipt (凭条) shows, in display form."""
    detail = await order_detail(hub=hub, actor=actor, order_no=order_no)
    order = detail.order
    async with hub.uow(read_only=True) as uow:
        merchant = await uow.tenancy.merchant(merchant_id=order.merchant_id)
        found = await uow.tenancy.operator(merchant_id=order.merchant_id, operator_id=order.operator_id)
    assert merchant is not None and found is not None
    local = lambda at: at.astimezone(CHINA).strftime("%Y-%m-%d %H:%M:%S") if at else None  # noqa: E731
    return {
        "title": f"{merchant.name} 缴费凭条",
        "merchant_name": merchant.name,
        "terminal": actor.terminal.code,
        "operator": found[0].display_name,
        "order_no": order.order_no,
        "terminal_order_no": order.terminal_order_no,
        "fee_type": order.fee_type.value,
        "fee_type_name": order.fee_type.label_zh,
        "account_no": order.account_no,
        "customer_name": order.customer_name,
        "amount_fen": order.amount,
        "amount_yuan": yuan(order.amount),
        "arrears_paid_yuan": yuan(order.due_amount),
        "prepaid_yuan": yuan(order.prepaid_amount),
        "pay_method": order.pay_method.value if order.pay_method else None,
        "wallet": order.wallet or order.trade_type,
        "channel_trade_no": order.transaction_id,
        "paid_at": local(order.paid_at),
        "state": order.state.value,
        "biller_ref": order.biller_ref,
        "posted_at": local(order.posted_at),
        "refunds": [
            {"refund_no": r.refund_no, "amount_yuan": yuan(r.amount), "state": r.state.value} for r in detail.refunds
        ],
        "refunded_yuan": yuan(order.refunded_amount),
        "printed_at": local(hub.clock.now()),
    }


async def ledger_accounts(*, hub: Hub, merchant_id: int) -> list[dict[str, Any]]:
    """Every ledger account of a merchant with its balance."""
    async with hub.uow(read_only=True) as uow:
        return await uow.ledger.accounts(merchant_id=merchant_id)


async def ledger_entries(*, hub: Hub, merchant_id: int, account: str, limit: int = 100) -> dict[str, Any]:
    """One account's balance and its newest entries."""
    async with hub.uow(read_only=True) as uow:
        balance = await uow.ledger.balance(merchant_id=merchant_id, account=account)
        entries = await uow.ledger.entries(merchant_id=merchant_id, account=account, limit=limit)
    return {"account": balance, "entries": entries}
