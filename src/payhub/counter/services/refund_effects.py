"""What a refund does at the biller, before it is confirmed and on its receipt (docs/tcis-contract.md's rule)."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from payhub.counter.domain.bill_payment import KIND, BillPayment
from payhub.counter.domain.reversals import ReversalEffect, reversal_effect
from payhub.kernel.domain.errors import Conflict
from payhub.kernel.domain.money import require_fen, yuan
from payhub.kernel.domain.orders import Order
from payhub.kernel.domain.receipts import ReceiptLine, label
from payhub.kernel.domain.refunds import Refund, RefundState
from payhub.kernel.services.auth import Actor
from payhub.kernel.services.context import Hub
from payhub.kernel.services.order_views import order_detail


@dataclass(frozen=True, slots=True)
class RefundPreview:
    """A refund's effect at the biller as lines to show; known is False when the order did not record its bills."""

    amount: int
    refundable: int
    known: bool
    lines: tuple[ReceiptLine, ...]


def effect_of(*, order: Order, earlier: Iterable[Refund], amount: int) -> ReversalEffect | None:
    """The reversal's effect after the earlier refunds' reversals; None when the order's bills are not known."""
    if order.kind != KIND:
        return None
    bill = BillPayment.of(order)
    if bill.bills is None or not bill.fee_type.has_arrears:
        return None
    reversed_before = [r.amount for r in earlier if not r.automatic and r.state is not RefundState.REJECTED]
    return reversal_effect(bills=bill.bills, posted=order.amount, earlier=reversed_before, amount=amount)


def effect_lines(*, order: Order, effect: ReversalEffect | None, locale: str) -> tuple[ReceiptLine, ...]:
    """Which bills are owed again and what the prepaid balance loses or keeps, as receipt rows."""
    if order.kind != KIND or not BillPayment.of(order).fee_type.has_arrears:
        return ()
    if effect is None:
        return (ReceiptLine(label("effect_unknown", locale), label("effect_unknown_value", locale)),)
    lines = [ReceiptLine(label("prepaid_taken", locale), yuan(effect.prepaid_taken), fen=effect.prepaid_taken)
             ] if effect.prepaid_taken else []
    lines += [ReceiptLine(label("reopened_bill", locale).format(period=bill.period), yuan(bill.amount), fen=bill.amount)
              for bill in effect.reopened]
    if effect.prepaid_left:
        lines.append(ReceiptLine(label("prepaid_left", locale), yuan(effect.prepaid_left), fen=effect.prepaid_left))
    return tuple(lines)


async def refund_preview(*, hub: Hub, actor: Actor, order_no: str, amount: int, locale: str) -> RefundPreview:
    """What refunding amount of the order would do at the biller (worked out by the hub: TCIS offers no preview)."""
    amount = require_fen(amount)
    detail = await order_detail(hub=hub, actor=actor, order_no=order_no)
    order = detail.order
    if amount > order.refundable:
        raise Conflict("REFUND_EXCEEDS", refundable=order.refundable)
    effect = effect_of(order=order, earlier=detail.refunds, amount=amount)
    return RefundPreview(amount=amount, refundable=order.refundable, known=effect is not None,
                         lines=effect_lines(order=order, effect=effect, locale=locale))
