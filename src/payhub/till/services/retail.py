"""The fulfilment kind `retail`: the shop's own sale (the till's ticket); once paid there is nothing to deliver."""
from __future__ import annotations

from payhub.kernel.domain.fulfilment import FulfilmentStatus, Outcome
from payhub.kernel.domain.ledger import AccountSpec, merchant_sales
from payhub.kernel.domain.orders import Order, RecoveryPolicy
from payhub.kernel.domain.receipts import ItemLines, ReceiptLine, label
from payhub.kernel.domain.refunds import Refund

DONE = Outcome(status=FulfilmentStatus.DONE)


class Retail:
    """product: what was sold; account_no: the till's ticket number."""

    kind = "retail"
    recovery = RecoveryPolicy.MANUAL
    retry_tries = 1

    async def fulfil(self, *, order: Order) -> Outcome:
        return DONE

    async def query(self, *, order: Order) -> Outcome:
        return DONE

    async def undo(self, *, order: Order, refund: Refund) -> Outcome:
        return DONE

    def payable(self, *, order: Order) -> AccountSpec:
        return merchant_sales()

    def receipt_lines(self, *, order: Order, locale: str) -> ItemLines:
        return ItemLines(item=(
            ReceiptLine(label("goods", locale), order.product),
            ReceiptLine(label("ticket_no", locale), order.account_no),
        ))
