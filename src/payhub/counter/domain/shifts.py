"""An operator's end-of-shift totals (交班汇总): what was collected, how, what went back, and the net."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from payhub.kernel.domain.orders import PAID_STATES, Order, OrderState
from payhub.kernel.domain.refunds import Refund, RefundState
from payhub.kernel.domain.wallets import Wallet

# SwiftPass-style trade types name the wallet inside, e.g. pay.weixin.native, pay.alipay.micropay
_WALLET_WORDS = {"weixin": Wallet.WECHAT, "wechat": Wallet.WECHAT, "alipay": Wallet.ALIPAY, "unionpay": Wallet.UNIONPAY}


def wallet_of_order(order: Order) -> str | None:
    """The wallet that paid: known from the payment code, else read from the channel's trade type."""
    payment = order.paid_payment or order.payment
    if payment is None:
        return None
    if payment.wallet:
        return payment.wallet
    parts = (payment.trade_type or "").lower().split(".")
    return next((_WALLET_WORDS[p].value for p in parts if p in _WALLET_WORDS), None)


@dataclass(slots=True)
class Tally:
    """A count of transactions and their sum in fen."""

    count: int = 0
    fen: int = 0

    def add(self, fen: int) -> None:
        self.count += 1
        self.fen += fen


@dataclass(slots=True)
class ShiftTotals:
    """Counts and sums of one operator's business day; keys keep first-seen order."""

    collected: Tally = field(default_factory=Tally)
    by_fee_type: dict[str, Tally] = field(default_factory=dict)
    by_pay_way: dict[str, Tally] = field(default_factory=dict)
    by_wallet: dict[str, Tally] = field(default_factory=dict)
    automatic_refunds: Tally = field(default_factory=Tally)   # a refused posting's money sent back by the hub
    supervisor_refunds: Tally = field(default_factory=Tally)  # refunds a supervisor approved at the counter
    manual: Tally = field(default_factory=Tally)  # 待人工处理: money the channel could not return, paid out by hand
    first_at: datetime | None = None
    last_at: datetime | None = None

    @property
    def refunds(self) -> Tally:
        return Tally(self.automatic_refunds.count + self.supervisor_refunds.count,
                     self.automatic_refunds.fen + self.supervisor_refunds.fen)

    @property
    def net(self) -> int:
        return self.collected.fen - self.refunds.fen

    def saw(self, at: datetime | None) -> None:
        """Widen the shift's span to a transaction at `at`."""
        if at is not None:
            self.first_at = at if self.first_at is None else min(self.first_at, at)
            self.last_at = at if self.last_at is None else max(self.last_at, at)


def shift_totals(*, orders: Iterable[Order], refunds: Iterable[Refund]) -> ShiftTotals:
    """Totals over paid orders, completed refunds and what waits for manual handling (the caller picks the operator
    and the day)."""
    totals = ShiftTotals()
    for order in orders:
        paid = order.paid_payment or order.payment
        totals.saw(paid.paid_at if paid else None)
        if order.state is OrderState.MANUAL:
            totals.manual.add(order.amount)
        if order.state not in PAID_STATES:
            continue
        totals.collected.add(order.amount)
        totals.by_fee_type.setdefault(order.product, Tally()).add(order.amount)
        way = order.payment.method.value if order.payment else "unknown"
        totals.by_pay_way.setdefault(way, Tally()).add(order.amount)
        totals.by_wallet.setdefault(wallet_of_order(order) or "unknown_wallet", Tally()).add(order.amount)
    for refund in refunds:
        totals.saw(refund.created_at)
        if refund.state is RefundState.REFUNDED:
            (totals.automatic_refunds if refund.automatic else totals.supervisor_refunds).add(refund.amount)
        elif refund.state is RefundState.MANUAL and not refund.automatic:  # an automatic one's order is counted
            totals.manual.add(refund.amount)
    return totals
