"""Placing an order of any registered kind: the one way every product's orders come into being."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from payhub.kernel.domain.errors import Conflict, InvalidInput
from payhub.kernel.domain.money import require_fen
from payhub.kernel.domain.orders import Order
from payhub.kernel.services.auth import Actor
from payhub.kernel.services.context import Hub
from payhub.kernel.services.order_numbers import new_order_no


@dataclass(frozen=True)
class OrderRequest:
    """What a product asks for: a kind it registered, what is bought, for whom, how much."""

    terminal_order_no: str
    request_hash: str           # the content of the terminal's request: a retry with other content is refused
    kind: str
    product: str
    account_no: str
    amount: int
    customer_name: str = ""
    details: dict[str, Any] = field(default_factory=dict)


async def place_order(*, hub: Hub, actor: Actor, request: OrderRequest) -> Order:
    """Insert the order; the same terminal order no. with the same content returns the first order, also in a race."""
    if request.kind not in hub.fulfillers:
        raise InvalidInput("UNKNOWN_ORDER_KIND", kind=request.kind)
    now = hub.clock.now()
    order = Order(
        merchant_id=actor.merchant_id, terminal_id=actor.terminal.id, operator_id=actor.operator.id,
        order_no=new_order_no(at=now), terminal_order_no=request.terminal_order_no,
        request_hash=request.request_hash, kind=request.kind, product=request.product, account_no=request.account_no,
        customer_name=request.customer_name, amount=require_fen(request.amount), details=dict(request.details),
        created_at=now, expires_at=now + timedelta(minutes=hub.policy.order_unpaid_minutes),
    )
    async with hub.uow() as uow:
        try:
            await uow.orders.add(order)
        except Conflict:
            # another request with the same terminal order no. won the race: answer as its retry
            await uow.commit()
            first = await earlier_order(hub=hub, actor=actor, terminal_order_no=request.terminal_order_no,
                                        request_hash=request.request_hash)
            assert first is not None, request.terminal_order_no
            return first
        await uow.commit()  # no job: the worker's sweep (services/order_expiry.py) closes it if nobody pays in time
    return order


async def earlier_order(*, hub: Hub, actor: Actor, terminal_order_no: str, request_hash: str) -> Order | None:
    """The order an earlier request with this terminal order no. placed, if any; a different content is a conflict."""
    async with hub.uow(read_only=True) as uow:
        existing = await uow.orders.by_terminal_order_no(terminal_id=actor.terminal.id,
                                                         terminal_order_no=terminal_order_no)
    if existing is not None and existing.request_hash != request_hash:
        raise Conflict("IDEMPOTENCY_CONFLICT", key=terminal_order_no)
    return existing
