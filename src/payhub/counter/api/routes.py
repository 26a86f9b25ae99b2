"""Counter bill payment: fee types, arrears, orders, paying by QR or payment code, status, close, refunds, receipts."""
from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any

import segno
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse

from payhub.kernel.domain.orders import FINAL_STATES, Order, OrderState
from payhub.kernel.domain.receipts import Receipt
from payhub.kernel.domain.tenancy import Role
from payhub.api.deps import ActorDep, ClientIp, HubDep
from payhub.api.openapi_docs import SIGNED, Responses, error_responses
from payhub.api.errors import locale_of
from payhub.api.schemas import (
    ArrearsOut, Day, FeeTypeOut, Offset, OrderDetailOut, OrderIn, OrderListItem, OrderOut, OrderPage, PayCodeIn,
    RefundEffectLine, RefundIn, RefundOut, RefundPreviewOut, RowId, TransitionOut,
)
from payhub.kernel.services import auth
from payhub.counter.services import counter
from payhub.kernel.services import order_views
from payhub.counter.services import receipts, refund_effects
from payhub.kernel.domain.money import MAX_ORDER_FEN
from payhub.kernel.services import refunds
from payhub.kernel.services.order_numbers import CHINA

router = APIRouter(prefix="/api/v1", tags=["counter"], responses=SIGNED)
PAYING = error_responses(400, 404, 409)
EVENTS: Responses = {
    200: {"content": {"text/event-stream": {}}, "description": "The order as JSON in each `order` event"},
}
EVENTS |= error_responses(404)


def _out(order: Order, request: Request) -> OrderOut:
    code_url = order.payment.code_url if order.payment and order.state is OrderState.PAYING else None
    qr_image = segno.make(code_url, error="m").png_data_uri(scale=8, border=2) if code_url else None
    return OrderOut.of(order, locale_of(request), qr_image=qr_image)


@router.get("/fee-types", response_model=list[FeeTypeOut], summary="Fee types (缴费类型)")
async def fee_types(_: ActorDep) -> list[dict[str, Any]]:
    return counter.FEE_TYPES


@router.get("/arrears", response_model=ArrearsOut, responses=error_responses(400, 404),
            summary="Look up a customer's arrears (查询欠费)")
async def arrears(
    hub: HubDep, actor: ActorDep,
    fee_type: Annotated[str, Query(description="gas, water or business")],
    account_no: Annotated[str, Query(min_length=1, max_length=64)],
) -> ArrearsOut:
    return ArrearsOut.of(await counter.lookup_arrears(hub=hub, actor=actor, fee_type=fee_type, account_no=account_no))


@router.post("/orders", response_model=OrderOut, status_code=201, responses=error_responses(400, 404, 409),
             summary="Place an order (下单); idempotent by out_trade_no")
async def create_order(body: OrderIn, hub: HubDep, actor: ActorDep, request: Request) -> OrderOut:
    order = await counter.create_order(hub=hub, actor=actor, request=counter.NewOrder(
        terminal_order_no=body.out_trade_no, fee_type=body.fee_type, account_no=body.account_no, amount=body.amount,
        bill_ids=tuple(body.bill_ids),
    ))
    return _out(order, request)


def _day_start(day: date | None) -> datetime | None:
    return datetime.combine(day, time.min, tzinfo=CHINA) if day else None


async def order_filters(
    actor: ActorDep,
    date_from: Annotated[Day | None, Query(description="first day (China time), inclusive")] = None,
    date_to: Annotated[Day | None, Query(description="last day (China time), inclusive")] = None,
    state: Annotated[list[str] | None, Query()] = None,
    fee_type: str | None = None,
    operator_id: RowId | None = None,
    terminal_only: bool = False,
    account_no: str | None = None,
) -> order_views.OrderQuery:
    """The order-list filters of the query string (the list and its export share them)."""
    return order_views.OrderQuery(
        merchant_id=actor.merchant_id, terminal_id=actor.terminal.id if terminal_only else None,
        operator_id=operator_id, states=state or [], fee_type=fee_type, account_no=account_no,
        created_from=_day_start(date_from), created_to=_day_start(date_to + timedelta(days=1)) if date_to else None,
    )


OrderFilters = Annotated[order_views.OrderQuery, Depends(order_filters)]


@router.get("/orders", response_model=OrderPage, responses=error_responses(400),
            summary="Orders of this merchant, newest first, with filters")
async def list_orders(
    hub: HubDep, request: Request, query: OrderFilters,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[Offset, Query()] = 0,
) -> OrderPage:
    orders = await order_views.search_orders(hub=hub, query=query, limit=limit, offset=offset)
    count, amount = await order_views.order_totals(hub=hub, query=query)
    names = await order_views.staff_names(hub=hub, merchant_id=query.merchant_id)
    items = [OrderListItem(**_out(o, request).model_dump(), operator_name=names.operators.get(o.operator_id, ""),
                           terminal_name=names.terminals.get(o.terminal_id, "")) for o in orders]
    return OrderPage(orders=items, limit=limit, offset=offset, total_count=count, total_amount=amount)


@router.get("/orders/{order_no}", response_model=OrderDetailOut, responses=error_responses(404),
            summary="One order; with wait_version it long-polls")
async def get_order(
    order_no: str, hub: HubDep, actor: ActorDep, request: Request,
    wait_version: Annotated[int | None, Query(description="answer once the order's version differs from this")] = None,
    timeout: Annotated[float, Query(ge=0, le=60)] = 25,
) -> OrderDetailOut:
    if wait_version is None:
        detail = await order_views.order_detail(hub=hub, actor=actor, order_no=order_no)
    else:
        detail = await order_views.detail_once_changed(hub=hub, actor=actor, order_no=order_no,
                                                       seen_version=wait_version, timeout=timeout)
    locale = locale_of(request)
    return OrderDetailOut(
        **_out(detail.order, request).model_dump(),
        history=[TransitionOut.of(t, locale) for t in detail.history],
        refunds=[RefundOut.of(r, locale) for r in detail.refunds],
    )


@router.get("/orders/{order_no}/events", response_class=StreamingResponse, responses=EVENTS,
            summary="Server-sent events: the order each time it changes, until final")
async def order_events(order_no: str, hub: HubDep, actor: ActorDep, request: Request) -> StreamingResponse:
    order = await counter.get_order(hub=hub, actor=actor, order_no=order_no)

    async def stream() -> AsyncIterator[str]:
        current = order
        yield f"event: order\ndata: {_out(current, request).model_dump_json()}\n\n"
        while current.state not in FINAL_STATES and not await request.is_disconnected():
            changed = await counter.wait_for_change(
                hub=hub, actor=actor, order_no=order_no, seen_version=current.version, timeout=15
            )
            if changed.version == current.version:
                yield ": keep-alive\n\n"
            else:
                current = changed
                yield f"event: order\ndata: {_out(current, request).model_dump_json()}\n\n"

    return StreamingResponse(stream(), media_type="text/event-stream", headers={"Cache-Control": "no-store"})


@router.post("/orders/{order_no}/pay/qr", response_model=OrderOut, responses=PAYING,
             summary="Collect by QR the customer scans (收款二维码)")
async def pay_by_qr(order_no: str, hub: HubDep, actor: ActorDep, ip: ClientIp, request: Request) -> OrderOut:
    return _out(await counter.pay_by_qr(hub=hub, actor=actor, order_no=order_no, client_ip=ip), request)


@router.post("/orders/{order_no}/pay/code", response_model=OrderOut, responses=PAYING,
             summary="Charge the customer's payment code (扫付款码)")
async def pay_by_code(order_no: str, body: PayCodeIn, hub: HubDep, actor: ActorDep, ip: ClientIp, request: Request) -> OrderOut:
    order = await counter.pay_by_code(hub=hub, actor=actor, order_no=order_no, auth_code=body.auth_code, client_ip=ip)
    return _out(order, request)


@router.post("/orders/{order_no}/close", response_model=OrderOut, responses=PAYING,
             summary="Cancel an unpaid order (关闭订单)")
async def close_order(order_no: str, hub: HubDep, actor: ActorDep, request: Request) -> OrderOut:
    return _out(await counter.close_order(hub=hub, actor=actor, order_no=order_no), request)


@router.get("/orders/{order_no}/refunds/preview", response_model=RefundPreviewOut, responses=error_responses(400, 404, 409),
            summary="What a refund of this amount does at the biller: bills owed again, prepaid balance (退款影响)")
async def refund_preview(
    order_no: str, hub: HubDep, actor: ActorDep, request: Request,
    amount: Annotated[int, Query(ge=1, le=MAX_ORDER_FEN, description="the refund in fen")],
) -> RefundPreviewOut:
    preview = await refund_effects.refund_preview(hub=hub, actor=actor, order_no=order_no, amount=amount,
                                                  locale=locale_of(request))
    return RefundPreviewOut(amount=preview.amount, refundable=preview.refundable, known=preview.known, lines=[
        RefundEffectLine(label=line.label, value=line.value, fen=line.fen) for line in preview.lines])


@router.post("/orders/{order_no}/refunds", response_model=RefundOut, status_code=201,
             responses=error_responses(400, 403, 404, 409),
             summary="Refund part or all of a posted order (supervisor; 主管授权退款)")
async def refund(order_no: str, body: RefundIn, hub: HubDep, actor: ActorDep, request: Request) -> RefundOut:
    approver = await auth.approve_as(
        hub=hub, actor=actor, needed=Role.SUPERVISOR, username=body.supervisor_username, password=body.supervisor_password
    )
    created = await refunds.request_refund(
        hub=hub, actor=actor, approver=approver, order_no=order_no, amount=body.amount, reason=body.reason,
        request_no=body.request_no,
    )
    return RefundOut.of(created, locale_of(request))


@router.get("/orders/{order_no}/receipt", response_model=Receipt, responses=error_responses(404, 409),
            summary="Payment receipt (凭条); the same as /api/v1/receipts/orders/{order_no}")
async def receipt(order_no: str, hub: HubDep, actor: ActorDep, request: Request) -> Receipt:
    return await receipts.payment_receipt(hub=hub, actor=actor, order_no=order_no, copy=False,
                                          locale=locale_of(request))
