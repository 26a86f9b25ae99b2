"""Building receipts (凭条): a payment's, a refund's, and an operator's end-of-shift summary (交班汇总)."""
from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from functools import partial

from payhub.kernel.domain.errors import NotFound
from payhub.counter.domain.bill_payment import product_name
from payhub.kernel.domain.messages import state_name
from payhub.kernel.domain.money import yuan
from payhub.kernel.domain.orders import Order
from payhub.kernel.domain.receipts import LineStyle, Receipt, ReceiptKind, ReceiptLine, label
from payhub.counter.domain.shifts import Tally, shift_totals, wallet_of_order
from payhub.kernel.domain.tenancy import Role, require_role
from payhub.kernel.services.auth import Actor
from payhub.kernel.services.context import Hub
from payhub.kernel.services.order_numbers import CHINA
from payhub.kernel.services.order_views import order_detail


def _local(at: datetime | None) -> str:
    return at.astimezone(CHINA).strftime("%Y-%m-%d %H:%M:%S") if at else ""


def _money(text: str, fen: int, *, style: LineStyle = LineStyle.PLAIN) -> ReceiptLine:
    return ReceiptLine(text, yuan(fen), fen=fen, style=style)


def _pay_way(order: Order, locale: str) -> str:
    parts = [label(wallet_of_order(order) or "unknown_wallet", locale)]
    if order.payment:
        parts.append(label(order.payment.method.value, locale))
    return " · ".join(parts)


async def _operator_name(*, hub: Hub, merchant_id: int, operator_id: int | None) -> str:
    if operator_id is None:
        return ""
    async with hub.uow(read_only=True) as uow:
        found = await uow.tenancy.operator(merchant_id=merchant_id, operator_id=operator_id)
    return found[0].display_name if found else ""


async def _frame(*, hub: Hub, actor: Actor, kind: ReceiptKind, title_key: str, operator: str, copy: bool,
                 locale: str, lines: list[ReceiptLine], qr: str | None) -> Receipt:
    async with hub.uow(read_only=True) as uow:
        merchant = await uow.tenancy.merchant(merchant_id=actor.merchant_id)
    merchant_name = merchant.name if merchant else ""
    return Receipt(
        kind=kind, locale=locale, title=label(title_key, locale), merchant=merchant_name,
        terminal=f"{actor.terminal.name} {actor.terminal.code}", operator=operator,
        printed_at=hub.clock.now().astimezone(CHINA), lines=tuple(lines), qr=qr, copy=copy,
    )


async def payment_receipt(*, hub: Hub, actor: Actor, order_no: str, copy: bool, locale: str) -> Receipt:
    """What the customer takes home after paying (and on a reprint, marked as a copy)."""
    detail = await order_detail(hub=hub, actor=actor, order_no=order_no)
    order = detail.order
    item = hub.fulfillers.of(order.kind).receipt_lines(order=order, locale=locale)
    payment = order.paid_payment or order.payment
    t = partial(label, locale=locale)
    lines = [
        ReceiptLine(t("order_no"), order.order_no),
        ReceiptLine(t("terminal_order_no"), order.terminal_order_no),
        *item.item,
        _money(t("amount"), order.amount, style=LineStyle.TOTAL),
        *item.amount,
    ]
    if payment:
        lines.append(ReceiptLine(t("pay_way"), _pay_way(order, locale)))
    if payment and payment.transaction_id:
        lines.append(ReceiptLine(t("channel_trade_no"), payment.transaction_id))
    if payment and payment.paid_at:
        lines.append(ReceiptLine(t("paid_at"), _local(payment.paid_at)))
    lines.append(ReceiptLine(t("state"), state_name(order.state.value, locale, kind=order.kind)))
    lines += item.delivery
    if order.refunded_amount:
        lines.append(_money(t("refunded"), order.refunded_amount))
    operator = await _operator_name(hub=hub, merchant_id=order.merchant_id, operator_id=order.operator_id)
    return await _frame(hub=hub, actor=actor, kind=ReceiptKind.PAYMENT, title_key="payment_title", operator=operator,
                        copy=copy, locale=locale, lines=lines, qr=order.order_no)


async def refund_receipt(*, hub: Hub, actor: Actor, refund_no: str, copy: bool, locale: str) -> Receipt:
    """What the customer gets when money goes back: the refund, its order and who approved it."""
    async with hub.uow(read_only=True) as uow:
        refund = await uow.refunds.get(refund_no=refund_no)
    if refund is None or refund.merchant_id != actor.merchant_id:
        raise NotFound("REFUND_NOT_FOUND", refund_no=refund_no)
    order = (await order_detail(hub=hub, actor=actor, order_no=refund.order_no)).order
    t = partial(label, locale=locale)
    approver = await _operator_name(hub=hub, merchant_id=refund.merchant_id, operator_id=refund.approved_by)
    lines = [
        ReceiptLine(t("refund_no"), refund.refund_no),
        ReceiptLine(t("original_order_no"), order.order_no),
        *hub.fulfillers.of(order.kind).receipt_lines(order=order, locale=locale).item,
        _money(t("original_amount"), order.amount),
        _money(t("refund_amount"), refund.amount, style=LineStyle.TOTAL),
        ReceiptLine(t("pay_way"), _pay_way(order, locale)),
        ReceiptLine(t("refund_reason"), t("automatic") if refund.automatic else refund.reason[:100]),
        ReceiptLine(t("approved_by"), approver) if approver else None,
        ReceiptLine(t("refund_requested_at"), _local(refund.created_at)),
        ReceiptLine(t("state"), state_name(refund.state.value, locale)),
    ]
    operator_id = refund.requested_by if refund.requested_by is not None else order.operator_id
    operator = await _operator_name(hub=hub, merchant_id=refund.merchant_id, operator_id=operator_id)
    return await _frame(hub=hub, actor=actor, kind=ReceiptKind.REFUND, title_key="refund_title", operator=operator,
                        copy=copy, locale=locale, lines=[line for line in lines if line], qr=order.order_no)


def _counted(text: str, tally: Tally, locale: str, *, sign: int = 1) -> ReceiptLine:
    """A row like '气费 3笔 ... 75.00'."""
    fen = sign * tally.fen
    return ReceiptLine(f"{text} {label('count', locale).format(count=tally.count)}", yuan(fen), fen=fen)


def _section(heading: str, tallies: dict[str, Tally], name: Callable[[str], str], locale: str) -> list[ReceiptLine]:
    return [ReceiptLine(heading, style=LineStyle.HEADING)] + [_counted(name(k), v, locale) for k, v in tallies.items()]


async def shift_receipt(*, hub: Hub, actor: Actor, day: date, operator_id: int | None, copy: bool,
                        locale: str) -> Receipt:
    """An operator's business day in China time: by fee type, by payment way and wallet, refunds and net."""
    if operator_id is not None and operator_id != actor.operator.id:
        require_role(role=actor.operator.role, needed=Role.SUPERVISOR)
    who = actor.operator.id if operator_id is None else operator_id
    operator = await _operator_name(hub=hub, merchant_id=actor.merchant_id, operator_id=who)
    if not operator:
        raise NotFound("OPERATOR_NOT_FOUND", operator_id=who)
    start = datetime.combine(day, time.min, tzinfo=CHINA)
    end = start + timedelta(days=1)
    async with hub.uow(read_only=True) as uow:
        orders = await uow.orders.paid_between(merchant_id=actor.merchant_id, operator_id=who, start=start, end=end)
        refunds = await uow.refunds.of_operator_between(merchant_id=actor.merchant_id, operator_id=who, start=start,
                                                        end=end)
    totals = shift_totals(orders=orders, refunds=refunds)
    t = partial(label, locale=locale)
    lines = [ReceiptLine(t("business_date"), day.isoformat())]
    lines += _section(t("by_fee_type"), totals.by_fee_type, lambda code: product_name(code, locale), locale)
    lines += _section(t("by_pay_way"), totals.by_pay_way, t, locale)
    lines += _section(t("by_wallet"), totals.by_wallet, t, locale)
    lines += [
        ReceiptLine("", style=LineStyle.RULE),
        _counted(t("collected"), totals.collected, locale),
        _counted(t("refunds"), totals.refunds, locale, sign=-1),
        _money(t("net"), totals.net, style=LineStyle.TOTAL),
    ]
    return await _frame(hub=hub, actor=actor, kind=ReceiptKind.SHIFT, title_key="shift_title", operator=operator,
                        copy=copy, locale=locale, lines=lines, qr=None)
