"""The bill order: one counter payment of one customer's fee, from placing it to posting or refunding it."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from payhub.domain.errors import Conflict, IllegalTransition
from payhub.domain.fees import FeeType
from payhub.domain.payments import PayResult
from payhub.domain.transitions import StateMachine, Transition


class OrderState(StrEnum):
    CREATED = "created"          # placed, no payment asked yet
    PAYING = "paying"            # QR shown or payment code sent; waiting for the channel's explicit answer
    PAID = "paid"                # the channel confirmed the money; posting queued
    POSTING = "posting"          # posting to the biller under way
    POSTED = "posted"            # the biller booked it (an IC-card load may follow: a later issue)
    PAY_FAILED = "pay_failed"    # the channel explicitly refused the payment
    CLOSING = "closing"          # unpaid QR expired or cancelled; closing at the channel
    REVERSING = "reversing"      # payment code never confirmed; reversing at the channel
    CLOSED = "closed"            # expired / closed / reversed: no money moved
    POST_FAILED = "post_failed"  # the biller refused; refund queued
    REFUNDING = "refunding"      # refunding the customer after the biller refused
    REFUNDED = "refunded"        # all money back with the customer
    MANUAL = "manual"            # a refund, reversal or check could not complete: operations staff decide


class PayMethod(StrEnum):
    NATIVE = "native"      # 收款二维码: the customer scans the terminal's QR
    MICROPAY = "micropay"  # 扫码付款: the terminal scans the customer's payment code


S = OrderState
ORDER_TRANSITIONS: dict[StrEnum, frozenset[StrEnum]] = {
    S.CREATED: frozenset({S.PAYING, S.CLOSED}),
    S.PAYING: frozenset({S.PAID, S.PAY_FAILED, S.CLOSING, S.REVERSING, S.MANUAL}),
    S.CLOSING: frozenset({S.CLOSED, S.PAID, S.MANUAL}),
    S.REVERSING: frozenset({S.CLOSED, S.MANUAL}),
    S.PAID: frozenset({S.POSTING, S.MANUAL}),
    S.POSTING: frozenset({S.POSTED, S.POST_FAILED, S.MANUAL}),
    S.POST_FAILED: frozenset({S.REFUNDING}),
    S.REFUNDING: frozenset({S.REFUNDED, S.MANUAL}),
    S.POSTED: frozenset({S.REFUNDED}),
    S.PAY_FAILED: frozenset(),
    S.CLOSED: frozenset({S.MANUAL}),
    S.REFUNDED: frozenset(),
    S.MANUAL: frozenset(),
}
FINAL_STATES = frozenset({S.POSTED, S.PAY_FAILED, S.CLOSED, S.REFUNDED, S.MANUAL})
PAID_STATES = frozenset({S.PAID, S.POSTING, S.POSTED, S.POST_FAILED, S.REFUNDING, S.REFUNDED})


@dataclass(slots=True)
class BillOrder(StateMachine):
    """Aggregate root. Services ask it to move; it refuses moves its table does not allow."""

    merchant_id: int
    terminal_id: int
    operator_id: int
    order_no: str
    terminal_order_no: str
    request_hash: str
    fee_type: FeeType
    account_no: str
    amount: int
    due_amount: int
    bill_ids: tuple[str, ...]
    customer_name: str
    channel: str
    biller: str
    created_at: datetime
    expires_at: datetime
    state: OrderState = OrderState.CREATED
    id: int | None = None
    version: int = 0
    pay_method: PayMethod | None = None
    pay_deadline: datetime | None = None
    code_url: str | None = None
    auth_code_masked: str | None = None
    wallet: str | None = None
    transaction_id: str | None = None
    trade_type: str | None = None
    paid_at: datetime | None = None
    biller_ref: str | None = None
    posted_at: datetime | None = None
    refund_reserved: int = 0
    refunded_amount: int = 0
    failure_code: str | None = None
    failure_message: str | None = None
    updated_at: datetime | None = None
    saved_state: StrEnum | None = None
    transitions: list[Transition] = field(default_factory=list)

    aggregate = "订单"
    allowed = ORDER_TRANSITIONS

    @property
    def key(self) -> str:
        return self.order_no

    @property
    def posting_no(self) -> str:
        """The hub's posting number at the biller: stable across every retry."""
        return f"{self.order_no}P"

    @property
    def prepaid_amount(self) -> int:
        return max(self.amount - self.due_amount, 0)

    @property
    def refundable(self) -> int:
        return self.amount - self.refund_reserved if self.state is OrderState.POSTED else 0

    def start_payment(
        self, *, method: PayMethod, deadline: datetime, at: datetime, actor: str,
        code_url: str | None = None, auth_code_masked: str | None = None, wallet: str | None = None,
    ) -> None:
        """Created → paying, by QR or payment code."""
        self._move(OrderState.PAYING, reason="扫码付款" if method is PayMethod.MICROPAY else "收款二维码", actor=actor, at=at)
        self.pay_method = method
        self.pay_deadline = deadline
        self.code_url = code_url
        self.auth_code_masked = auth_code_masked
        self.wallet = wallet

    def confirm_paid(self, *, result: PayResult, at: datetime, actor: str) -> bool:
        """Paying/closing → paid on the channel's explicit success; a wrong amount goes to manual.

        Returns True when the money is confirmed as expected (and so may be booked and posted).
        """
        if result.total_fee is not None and result.total_fee != self.amount:
            self.to_manual(reason=f"渠道支付金额{result.total_fee}分与订单金额{self.amount}分不符", actor=actor, at=at)
            return False
        self._move(OrderState.PAID, reason="支付渠道确认已支付", actor=actor, at=at)
        self.transaction_id = result.transaction_id
        self.trade_type = result.trade_type
        self.paid_at = result.paid_at or at
        return True

    def fail_payment(self, *, code: str, message: str | None, at: datetime, actor: str) -> None:
        """Paying → pay failed on the channel's explicit refusal."""
        self._move(OrderState.PAY_FAILED, reason=f"{code}: {message}", actor=actor, at=at)
        self.failure_code, self.failure_message = code, message

    def cancel_unpaid(self, *, reason: str, at: datetime, actor: str) -> None:
        """Created → closed: nobody asked the channel for money yet."""
        self._move(OrderState.CLOSED, reason=reason, actor=actor, at=at)

    def begin_close(self, *, reason: str, at: datetime, actor: str) -> None:
        """Paying (QR) → closing at the channel."""
        self._move(OrderState.CLOSING, reason=reason, actor=actor, at=at)

    def begin_reverse(self, *, reason: str, at: datetime, actor: str) -> None:
        """Paying (payment code) → reversing at the channel."""
        self._move(OrderState.REVERSING, reason=reason, actor=actor, at=at)

    def mark_closed(self, *, reason: str, at: datetime, actor: str) -> None:
        """Closing/reversing → closed once the channel confirmed it."""
        self._move(OrderState.CLOSED, reason=reason, actor=actor, at=at)

    def begin_posting(self, *, at: datetime, actor: str) -> None:
        """Paid → posting to the biller."""
        self._move(OrderState.POSTING, reason="向缴费系统入账", actor=actor, at=at)

    def mark_posted(self, *, biller_ref: str | None, posted_at: datetime, actor: str, at: datetime) -> None:
        """Posting → posted."""
        self._move(OrderState.POSTED, reason="缴费系统已入账", actor=actor, at=at)
        self.biller_ref, self.posted_at = biller_ref, posted_at

    def posting_refused(self, *, code: str, message: str, at: datetime, actor: str) -> None:
        """Posting → post failed; the refund follows."""
        self._move(OrderState.POST_FAILED, reason=f"{code}: {message}", actor=actor, at=at)
        self.failure_code, self.failure_message = code, message

    def begin_refund(self, *, at: datetime, actor: str) -> None:
        """Post failed → refunding the whole amount."""
        self._move(OrderState.REFUNDING, reason="缴费失败，自动退款", actor=actor, at=at)
        self.refund_reserved = self.amount

    def reserve_refund(self, *, amount: int) -> None:
        """Hold part of a posted order's amount for a supervisor's refund."""
        if self.state is not OrderState.POSTED:
            raise Conflict("ORDER_NOT_REFUNDABLE", state=str(self.state))
        if amount > self.refundable:
            raise Conflict("REFUND_EXCEEDS", refundable=self.refundable)
        self.refund_reserved += amount

    def release_refund(self, *, amount: int) -> None:
        """Give back a hold whose refund was rejected before any money moved."""
        self.refund_reserved -= amount

    def record_refunded(self, *, amount: int, at: datetime, actor: str) -> None:
        """Count money returned; the order is refunded once all of it is back."""
        if not self.can_move(OrderState.REFUNDED) or self.refunded_amount + amount > self.refund_reserved:
            raise IllegalTransition(self.aggregate, str(self.state), str(OrderState.REFUNDED))
        self.refunded_amount += amount
        if self.refunded_amount == self.amount:
            self._move(OrderState.REFUNDED, reason="已全额退款", actor=actor, at=at)

    def to_manual(self, *, reason: str, at: datetime, actor: str) -> None:
        """Hand the order to operations staff."""
        self._move(OrderState.MANUAL, reason=reason, actor=actor, at=at)
        self.failure_code, self.failure_message = "MANUAL", reason
