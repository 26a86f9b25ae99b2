"""Reading orders: lists with filters, one order with its history and refunds, ledger reports."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from payhub.kernel.domain.errors import NotFound
from payhub.kernel.domain.orders import MOVING_ON_STATES, Order
from payhub.kernel.domain.refunds import Refund
from payhub.kernel.domain.tenancy import StaffNames
from payhub.kernel.domain.transitions import Transition
from payhub.kernel.services.auth import Actor
from payhub.kernel.services.context import Hub
from payhub.kernel.services.order_waits import until_changed


@dataclass
class OrderQuery:
    """Filters of the order list; None means any."""

    merchant_id: int
    terminal_id: int | None = None
    operator_id: int | None = None
    states: Sequence[str] = field(default_factory=list)
    fee_type: str | None = None
    account_no: str | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None


async def search_orders(*, hub: Hub, query: OrderQuery, limit: int = 50, offset: int = 0) -> list[Order]:
    """Orders matching the filters, newest first."""
    async with hub.uow(read_only=True) as uow:
        return await uow.orders.search(filters=query, limit=limit, offset=offset)


async def order_totals(*, hub: Hub, query: OrderQuery) -> tuple[int, int]:
    """How many orders match the filters and their sum in fen (over every page)."""
    async with hub.uow(read_only=True) as uow:
        return await uow.orders.totals(filters=query)


async def staff_names(*, hub: Hub, merchant_id: int) -> StaffNames:
    """The merchant's operators and terminals by id, to name them in lists and exports."""
    async with hub.uow(read_only=True) as uow:
        return await uow.tenancy.names(merchant_id=merchant_id)


@dataclass(frozen=True)
class OrderDetail:
    order: Order
    history: list[Transition]
    refunds: list[Refund]


async def order_detail(*, hub: Hub, actor: Actor, order_no: str) -> OrderDetail:
    """An order with every recorded move and its refunds."""
    async with hub.uow(read_only=True) as uow:
        view = await uow.orders.view(order_no=order_no)
    if view is None or view.order.merchant_id != actor.merchant_id:
        raise NotFound("ORDER_NOT_FOUND", order_no=order_no)
    return OrderDetail(view.order, sorted(view.history, key=lambda t: t.at), view.refunds)


async def detail_once_changed(*, hub: Hub, actor: Actor, order_no: str, seen_version: int,
                               timeout: float) -> OrderDetail:
    """order_detail once the order's version differs from seen_version, or when timeout seconds have passed."""
    return await until_changed(hub=hub, order_no=order_no, seen_version=seen_version, timeout=timeout,
                               look=lambda: order_detail(hub=hub, actor=actor, order_no=order_no),
                               version=lambda detail: detail.order.version,
                               moving_on=lambda detail: detail.order.state in MOVING_ON_STATES)
