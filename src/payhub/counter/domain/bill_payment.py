"""The counter's order kind `biller_posting`: a customer's fee paid at the counter and posted to the biller."""
from __future__ import annotations

from dataclasses import dataclass

from payhub.counter.domain.billing import Bill
from payhub.counter.domain.fees import FeeType
from payhub.kernel.domain.orders import Order

KIND = "biller_posting"


@dataclass(frozen=True, slots=True)
class BillPayment:
    """The kind's own facts on an order: which fee, which bills, how much of it pays arrears, at which biller."""

    fee_type: FeeType
    biller: str
    due_amount: int                 # the part that pays arrears; the rest is prepaid
    bill_ids: tuple[str, ...] = ()
    bills: tuple[Bill, ...] | None = None  # the bills it pays, as the biller showed them (None: not recorded)

    @classmethod
    def of(cls, order: Order) -> BillPayment:
        details = order.details
        bills = details.get("bills")
        return cls(fee_type=FeeType(order.product), biller=str(details["biller"]), due_amount=int(details["due_amount"]),
                   bill_ids=tuple(str(b) for b in details.get("bill_ids", ())),
                   bills=None if bills is None else tuple(
                       Bill(bill_id=str(b["bill_id"]), period=str(b["period"]), amount=int(b["amount"])) for b in bills))

    def details(self) -> dict[str, object]:
        facts: dict[str, object] = {"biller": self.biller, "due_amount": self.due_amount, "bill_ids": list(self.bill_ids)}
        if self.bills is not None:
            facts["bills"] = [{"bill_id": b.bill_id, "period": b.period, "amount": b.amount} for b in self.bills]
        return facts


def posting_no(order: Order) -> str:
    """The hub's posting number at the biller: stable across every retry."""
    return f"{order.order_no}P"


def prepaid_amount(order: Order) -> int:
    """What the customer paid beyond the arrears (nothing for orders of other kinds)."""
    return max(order.amount - BillPayment.of(order).due_amount, 0) if order.kind == KIND else 0


def product_name(product: str, locale: str) -> str:
    """A fee type's name in the locale; other kinds' products are shown as they are."""
    if product not in FeeType.__members__.values():
        return product
    fee_type = FeeType(product)
    return fee_type.label_en if locale == "en" else fee_type.label_zh
