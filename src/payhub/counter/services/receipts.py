"""Building receipts (凭条): a payment's, a refund's, and an operator's end-of-shift summary (交班汇总)."""
from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from functools import partial

from payhub.counter.services.refund_effects import effect_lines, effect_of
from payhub.kernel.domain.capitals import capitals
from payhub.kernel.domain.errors import NotFound
from payhub.counter.domain.bill_payment import product_name
from payhub.kernel.domain.messages import state_name
from payhub.kernel.domain.money import yuan
from payhub.kernel.domain.orders import Order, OrderState
from payhub.kernel.domain.receipts import LineStyle, Receipt, ReceiptKind, ReceiptLine, label
from payhub.kernel.domain.refunds import RefundState
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


def _in_capitals(fen: int, locale: str) -> ReceiptLine:
    return ReceiptLine(label("in_capitals", locale), capitals(fen))


def _with_unit(line: ReceiptLine, locale: str) -> ReceiptLine:
    """Money rows read '123.45元' (CNY 123.45 in English)."""
    return dataclasses.replace(line, value=label("yuan", locale).format(amount=line.value)) if line.fen is not None else line


async def _order_terminal(*, hub: Hub, actor: Actor, order: Order, locale: str) -> list[ReceiptLine]:
    """The terminal that took the order, when the receipt is printed at another one."""
    if order.terminal_id == actor.terminal.id:
        return []
    async with hub.uow(read_only=True) as uow:
        names = await uow.tenancy.names(merchant_id=order.merchant_id)
    return [ReceiptLine(label("order_terminal", locale), names.terminals.get(order.terminal_id, str(order.terminal_id)))]


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
        printed_at=hub.clock.now().astimezone(CHINA), lines=tuple(_with_unit(line, locale) for line in lines), qr=qr,
        copy=copy, service_phone=merchant.service_phone if merchant else "",
    )


async def _is_copy(*, hub: Hub, actor: Actor, order: Order, copy: bool) -> bool:
    """A copy unless this is the first print of a paid order's receipt, wherever and whoever printed it before."""
    if copy or order.paid_payment is None:
        return copy
    assert order.id is not None, order.order_no
    async with hub.uow() as uow:
        first = await uow.orders.claim_receipt_original(order_id=order.id, terminal_id=actor.terminal.id,
                                                        at=hub.clock.now())
        await uow.commit()
    return not first


async def payment_receipt(*, hub: Hub, actor: Actor, order_no: str, copy: bool, locale: str) -> Receipt:
    """What the customer takes home after paying: the first print is the original, every later one a copy."""
    detail = await order_detail(hub=hub, actor=actor, order_no=order_no)
    order = detail.order
    copy = await _is_copy(hub=hub, actor=actor, order=order, copy=copy)
    item = hub.fulfillers.of(order.kind).receipt_lines(order=order, locale=locale)
    payment = order.paid_payment or order.payment
    t = partial(label, locale=locale)
    # a posting the biller refused is sent back automatically: the slip tells the customer so, and why
    sent_back = next((r for r in detail.refunds if r.automatic), None)
    refused = sent_back is not None or order.state is OrderState.FULFIL_FAILED
    lines = [
        ReceiptLine(t("order_no"), order.order_no),
        ReceiptLine(t("terminal_order_no"), order.terminal_order_no),
        *await _order_terminal(hub=hub, actor=actor, order=order, locale=locale),
        *item.item,
        _money(t("amount"), order.amount, style=LineStyle.TOTAL),
        _in_capitals(order.amount, locale),
        *item.amount,
    ]
    if refused:
        reason = sent_back.reason if sent_back else order.failure_message or ""
        lines += [ReceiptLine(t("refused_reason"), reason[:100]), ReceiptLine(t("refund_notice_note"))]
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
    title = "refund_notice_title" if refused else "payment_title"
    return await _frame(hub=hub, actor=actor, kind=ReceiptKind.PAYMENT, title_key=title, operator=operator,
                        copy=copy, locale=locale, lines=lines, qr=order.order_no)


async def refund_receipt(*, hub: Hub, actor: Actor, refund_no: str, copy: bool, locale: str) -> Receipt:
    """What the customer gets when money goes back: the refund, its order and who approved it."""
    async with hub.uow(read_only=True) as uow:
        refund = await uow.refunds.get(refund_no=refund_no)
    if refund is None or refund.merchant_id != actor.merchant_id:
        raise NotFound("REFUND_NOT_FOUND", refund_no=refund_no)
    detail = await order_detail(hub=hub, actor=actor, order_no=refund.order_no)
    order = detail.order
    earlier = [r for r in detail.refunds if r.seq < refund.seq]
    effect = None if refund.automatic else effect_of(order=order, earlier=earlier, amount=refund.amount)
    pending = refund.state is RefundState.UNDOING
    t = partial(label, locale=locale)
    approver = await _operator_name(hub=hub, merchant_id=refund.merchant_id, operator_id=refund.approved_by)
    lines = [
        ReceiptLine(t("refund_no"), refund.refund_no),
        ReceiptLine(t("original_order_no"), order.order_no),
        *hub.fulfillers.of(order.kind).receipt_lines(order=order, locale=locale).item,
        _money(t("original_amount"), order.amount),
        _money(t("refund_amount"), refund.amount, style=LineStyle.TOTAL),
        _in_capitals(refund.amount, locale),
        *(() if refund.automatic or refund.state is RefundState.REJECTED
          else effect_lines(order=order, effect=effect, locale=locale)),
        ReceiptLine(t("pay_way"), _pay_way(order, locale)),
        ReceiptLine(t("refund_reason"), t("automatic") if refund.automatic else refund.reason[:100]),
        ReceiptLine(t("approved_by"), approver) if approver else None,
        ReceiptLine(t("refund_requested_at"), _local(refund.created_at)),
        ReceiptLine(t("state"), state_name(refund.state.value, locale)),
        ReceiptLine(t("refund_pending_note")) if pending else None,
    ]
    operator_id = refund.requested_by if refund.requested_by is not None else order.operator_id
    operator = await _operator_name(hub=hub, merchant_id=refund.merchant_id, operator_id=operator_id)
    title = "refund_pending_title" if pending else "refund_title"
    return await _frame(hub=hub, actor=actor, kind=ReceiptKind.REFUND, title_key=title, operator=operator,
                        copy=copy, locale=locale, lines=[line for line in lines if line], qr=order.order_no)


def _counted(text: str, tally: Tally, locale: str, *, sign: int = 1) -> ReceiptLine:
    """A row like '燃气费 3笔 ... 75.00'."""
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
    lines = [
        ReceiptLine(t("business_date"), day.isoformat()),
        ReceiptLine(t("shift_start"), _local(totals.first_at)),
        ReceiptLine(t("shift_end"), _local(totals.last_at)),
    ]
    lines += _section(t("by_fee_type"), totals.by_fee_type, lambda code: product_name(code, locale), locale)
    lines += _section(t("by_pay_way"), totals.by_pay_way, t, locale)
    lines += _section(t("by_wallet"), totals.by_wallet, t, locale)
    lines += [
        ReceiptLine("", style=LineStyle.RULE),
        _counted(t("collected"), totals.collected, locale),
        _counted(t("supervisor_refunds"), totals.supervisor_refunds, locale, sign=-1),
        _counted(t("automatic_refunds"), totals.automatic_refunds, locale, sign=-1),
        _counted(t("refunds"), totals.refunds, locale, sign=-1),
        _money(t("net"), totals.net, style=LineStyle.TOTAL),
        _counted(t("manual_orders"), totals.manual, locale),
        ReceiptLine("", style=LineStyle.RULE),
        *(ReceiptLine(t(who), "________________") for who in ("handed_over_by", "taken_over_by", "supervisor")),
    ]
    return await _frame(hub=hub, actor=actor, kind=ReceiptKind.SHIFT, title_key="shift_title", operator=operator,
                        copy=copy, locale=locale, lines=lines, qr=None)
