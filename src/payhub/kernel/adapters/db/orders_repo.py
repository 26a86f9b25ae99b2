"""Orders (with their payments) and refunds in the database."""
from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from payhub.kernel.adapters.db.aggregates_repo import (
    RowWrite, insert_aggregate, insert_aggregate_unless, load_history, remember_saved, save_aggregate, write_row,
)
from payhub.kernel.adapters.db.bulk import upsert
from payhub.kernel.adapters.db.driver import DriverQuery
from payhub.kernel.adapters.db.errors import duplicate_as
from payhub.kernel.adapters.db.tables import orders, payments, receipt_originals, refunds, state_transitions
from payhub.kernel.domain.errors import Conflict
from payhub.kernel.domain.orders import Order, OrderState, Payment, PaymentStatus, PayMethod
from payhub.kernel.domain.refunds import Refund, RefundState
from payhub.kernel.domain.transitions import Transition
from payhub.kernel.ports import OrderFilter, OrderView


def _order_of(data: dict[str, Any], payments: list[Payment]) -> Order:
    data["state"] = OrderState(data["state"])
    order = Order(**data, payments=tuple(sorted(payments, key=lambda p: p.seq)))
    remember_saved(order, orders)
    order.saved_payments = order.payments
    return order


def _payment_of(data: dict[str, Any]) -> Payment:
    data = {k: v for k, v in data.items() if k not in {"merchant_id", "order_id"}}
    return Payment(**data | {"method": PayMethod(data["method"]), "status": PaymentStatus(data["status"])})


def _payment_row(order: Order, payment: Payment) -> dict[str, Any]:
    row = {f.name: getattr(payment, f.name) for f in dataclasses.fields(payment) if f.name != "id"}
    return row | {"merchant_id": order.merchant_id, "order_id": order.id, "method": payment.method.value,
                  "status": payment.status.value}


async def _orders_with_payments(conn: AsyncConnection, query: sa.Select[Any]) -> list[Order]:
    """The orders query selects (orders.*), each with its payments, in the query's order."""
    found = [_columns(row, orders) for row in await conn.execute(query)]
    if not found:
        return []
    ids = [data["id"] for data in found]
    by_order: dict[int, list[Payment]] = {}
    rows = await conn.execute(sa.select(payments).where(payments.c.order_id.in_(ids)))
    for row in rows:
        data = dict(row._mapping)
        by_order.setdefault(data["order_id"], []).append(_payment_of(data))
    return [_order_of(data, by_order.get(data["id"], [])) for data in found]


_WITH_PAYMENTS = sa.select(orders, payments).select_from(orders).outerjoin(payments, payments.c.order_id == orders.c.id)
_BY_ORDER_NO = DriverQuery(_WITH_PAYMENTS.where(orders.c.order_no == sa.bindparam("order_no")))
_BY_TERMINAL_ORDER_NO = DriverQuery(_WITH_PAYMENTS.where(
    orders.c.terminal_id == sa.bindparam("terminal_id"), orders.c.terminal_order_no == sa.bindparam("terminal_order_no")))
# an order's view in one round trip: each refund row carries the moves of the order and of that refund
_VIEW = DriverQuery(
    sa.select(orders, payments, refunds, state_transitions)
    .select_from(orders)
    .outerjoin(payments, payments.c.order_id == orders.c.id)
    .outerjoin(refunds, refunds.c.order_id == orders.c.id)
    .outerjoin(state_transitions, state_transitions.c.aggregate_key.in_([orders.c.order_no, refunds.c.refund_no]))
    .where(orders.c.order_no == sa.bindparam("order_no"))
    .order_by(refunds.c.seq, state_transitions.c.id)
)


async def _one_with_payments(conn: AsyncConnection, query: DriverQuery, **params: Any) -> Order | None:
    """One order and its payments in one round trip."""
    rows = await query.rows(conn, **params)
    if not rows:
        return None
    found = [_payment_of(_columns(row, payments)) for row in rows if row._mapping[payments.c.id] is not None]
    return _order_of(_columns(rows[0], orders), found)


def _payment_writes(order: Order) -> list[RowWrite]:
    """The order's new payments (inserted) and changed ones (their changed columns updated): payments are replaced,
    never changed in place."""
    saved = {payment.id: payment for payment in order.saved_payments}
    writes = []
    for payment in order.payments:
        before = saved.get(payment.id) if payment.id is not None else None
        if before is None:
            writes.append(RowWrite(payments, _payment_row(order, payment), payment.id))
        elif before != payment:
            was = _payment_row(order, before)
            writes.append(RowWrite(payments, {name: value for name, value in _payment_row(order, payment).items()
                                              if was[name] != value}, payment.id))
    return writes


def _with_ids(order: Order, writes: list[RowWrite], ids: list[int]) -> None:
    """Keep the payments as saved, the new ones with their ids."""
    new_ids = iter(found for write, found in zip(writes, ids, strict=True) if write.id is None)
    order.payments = order.saved_payments = tuple(
        dataclasses.replace(payment, id=next(new_ids)) if payment.id is None else payment
        for payment in order.payments)


def _refund(row: Any) -> Refund:
    return _refund_of(dict(row._mapping))


def _refund_of(columns: dict[str, Any]) -> Refund:
    data = {k: v for k, v in columns.items() if k not in {"refund_no", "terminal_id", "request_no", "request_hash"}}
    data["state"] = RefundState(data["state"])
    refund = Refund(**data)
    remember_saved(refund, refunds)
    return refund


def _columns(row: Any, table: sa.Table) -> dict[str, Any]:
    return {column.name: row._mapping[column] for column in table.c}


def _transition(data: dict[str, Any]) -> Transition:
    return Transition(data["aggregate"], data["aggregate_key"], data["from_state"], data["to_state"], data["reason"],
                      data["actor"], data["at"])


def _filtered(query: sa.Select[Any], filters: OrderFilter) -> sa.Select[Any]:
    """The query narrowed to the order list's filters."""
    c = orders.c
    query = query.where(c.merchant_id == filters.merchant_id)
    if filters.terminal_id is not None:
        query = query.where(c.terminal_id == filters.terminal_id)
    if filters.operator_id is not None:
        query = query.where(c.operator_id == filters.operator_id)
    if filters.states:
        query = query.where(c.state.in_(list(filters.states)))
    if filters.fee_type:
        query = query.where(c.product == filters.fee_type)
    if filters.account_no:
        query = query.where(c.account_no == filters.account_no)
    if filters.created_from:
        query = query.where(c.created_at >= filters.created_from)
    if filters.created_to:
        query = query.where(c.created_at < filters.created_to)
    return query


class SqlOrderRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(self, order: Order) -> None:
        if not await insert_aggregate_unless(self._conn, orders, order, taken=("terminal_id", "terminal_order_no")):
            raise Conflict("DUPLICATE", what="订单", key=order.terminal_order_no)
        writes = _payment_writes(order)
        _with_ids(order, writes, [await write_row(self._conn, write) for write in writes])

    async def get(self, *, order_no: str) -> Order | None:
        return await _one_with_payments(self._conn, _BY_ORDER_NO, order_no=order_no)

    async def by_terminal_order_no(self, *, terminal_id: int, terminal_order_no: str) -> Order | None:
        return await _one_with_payments(self._conn, _BY_TERMINAL_ORDER_NO, terminal_id=terminal_id,
                                        terminal_order_no=terminal_order_no)

    async def save(self, order: Order) -> None:
        writes = _payment_writes(order)
        _with_ids(order, writes, await save_aggregate(self._conn, orders, order, rows=writes))

    async def expired_unpaid(self, *, now: datetime, limit: int) -> list[str]:
        o = orders.c
        return list((await self._conn.scalars(
            sa.select(o.order_no).where(o.state == OrderState.CREATED.value).where(o.expires_at <= now)
            .order_by(o.expires_at, o.id).limit(limit)
        )).all())

    async def search(self, *, filters: OrderFilter, limit: int, offset: int) -> list[Order]:
        c = orders.c
        return await _orders_with_payments(
            self._conn, _filtered(sa.select(orders), filters).order_by(c.created_at.desc(), c.id.desc())
            .limit(limit).offset(offset)
        )

    async def totals(self, *, filters: OrderFilter) -> tuple[int, int]:
        row = (await self._conn.execute(
            _filtered(sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(orders.c.amount), 0)), filters)
        )).one()
        return int(row[0]), int(row[1])

    async def history(self, *, key: str) -> list[Transition]:
        return await load_history(self._conn, key=key)

    async def view(self, *, order_no: str) -> OrderView | None:
        p, r, t = payments.c, refunds.c, state_transitions.c
        rows = await _VIEW.rows(self._conn, order_no=order_no)
        if not rows:
            return None
        found_payments: dict[int, Payment] = {}
        found_refunds: dict[int, Refund] = {}
        moves: dict[int, tuple[int, Transition]] = {}
        for row in rows:
            payment_id = row._mapping[p.id]
            if payment_id is not None and payment_id not in found_payments:
                found_payments[payment_id] = _payment_of(_columns(row, payments))
            refund_id = row._mapping[r.id]
            if refund_id is not None and refund_id not in found_refunds:
                found_refunds[refund_id] = _refund_of(_columns(row, refunds))
            move_id = row._mapping[t.id]
            if move_id is not None and move_id not in moves:
                rank = 0 if row._mapping[t.aggregate_key] == order_no else 1 + row._mapping[r.seq]
                moves[move_id] = (rank, _transition(_columns(row, state_transitions)))
        history = [move for _, move in sorted(moves.values(), key=lambda ranked: ranked[0])]  # stable: ids stay in order
        order = _order_of(_columns(rows[0], orders), list(found_payments.values()))
        return OrderView(order, list(found_refunds.values()), history)

    async def count_by_state(self) -> dict[str, int]:
        rows = await self._conn.execute(
            sa.select(orders.c.state, sa.func.count()).group_by(orders.c.state)
        )
        return {state: count for state, count in rows}

    async def paid_between(self, *, merchant_id: int, operator_id: int, start: datetime, end: datetime) -> list[Order]:
        c, p = orders.c, payments.c
        return await _orders_with_payments(self._conn, (
            sa.select(orders).join(payments, p.order_id == c.id)
            .where(c.merchant_id == merchant_id, c.operator_id == operator_id, p.paid_at >= start, p.paid_at < end)
            .order_by(p.paid_at, c.id)
        ))

    async def claim_receipt_original(self, *, order_id: int, terminal_id: int, at: datetime) -> bool:
        # one statement: of two racing prints, the database's primary key lets exactly one insert its row
        stmt = upsert(self._conn, receipt_originals).values(
            order_id=order_id, terminal_id=terminal_id, printed_at=at,
        ).on_conflict_do_nothing(index_elements=["order_id"]).returning(receipt_originals.c.order_id)
        return (await self._conn.execute(stmt)).first() is not None


class SqlRefundRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(self, refund: Refund, *, terminal_id: int | None = None, request_no: str | None = None,
                  request_hash: str | None = None) -> None:
        async with duplicate_as(self._conn, Conflict("DUPLICATE", what="退款", key=request_no or refund.refund_no)):
            await insert_aggregate(
                self._conn, refunds, refund, refund_no=refund.refund_no,
                terminal_id=terminal_id, request_no=request_no, request_hash=request_hash,
            )

    async def get(self, *, refund_no: str) -> Refund | None:
        row = (await self._conn.execute(sa.select(refunds).where(refunds.c.refund_no == refund_no))).first()
        return _refund(row) if row else None

    async def by_request(self, *, terminal_id: int, request_no: str) -> tuple[Refund, str] | None:
        row = (
            await self._conn.execute(
                sa.select(refunds).where(refunds.c.terminal_id == terminal_id).where(refunds.c.request_no == request_no)
            )
        ).first()
        return (_refund(row), row.request_hash) if row else None

    async def for_order(self, *, order_id: int) -> list[Refund]:
        rows = await self._conn.execute(sa.select(refunds).where(refunds.c.order_id == order_id).order_by(refunds.c.seq))
        return [_refund(r) for r in rows]

    async def save(self, refund: Refund) -> None:
        await save_aggregate(self._conn, refunds, refund)

    async def of_operator_between(self, *, merchant_id: int, operator_id: int, start: datetime,
                                  end: datetime) -> list[Refund]:
        r, o = refunds.c, orders.c
        asked_by_operator = r.requested_by == operator_id
        automatic_for_operator = sa.and_(r.automatic.is_(True), o.operator_id == operator_id)
        rows = await self._conn.execute(
            sa.select(refunds).join(orders, o.id == r.order_id)
            .where(r.merchant_id == merchant_id, r.created_at >= start, r.created_at < end)
            .where(sa.or_(asked_by_operator, automatic_for_operator))
            .order_by(r.created_at, r.id)
        )
        return [_refund(row) for row in rows]
