"""The order: what is bought (one fulfilment of some kind) and how it is paid (payments through channels), from
placing it to fulfilling or refunding it. Every product's orders share this one guarded state machine."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from payhub.kernel.domain.errors import Conflict, IllegalTransition
from payhub.kernel.domain.payments import PayResult
from payhub.kernel.domain.transitions import StateMachine, Transition


class OrderState(StrEnum):
    CREATED = "created"              # placed, no payment asked yet
    PAYING = "paying"                # QR shown or payment code sent; waiting for the channel's explicit answer
    PAID = "paid"                    # the channel confirmed the money; fulfilment queued
    FULFILLING = "fulfilling"        # the fulfilment (posting to the biller, card load, power sale...) is under way
    FULFILLED = "fulfilled"          # what was bought has been delivered
    PAY_FAILED = "pay_failed"        # the channel explicitly refused the payment
    CLOSING = "closing"              # unpaid QR expired or cancelled; closing at the channel
    REVERSING = "reversing"          # payment code never confirmed; reversing at the channel
    CLOSED = "closed"                # expired / closed / reversed: no money moved
    FULFIL_FAILED = "fulfil_failed"  # the far system refused the fulfilment; the kind's recovery policy decides
    REFUNDING = "refunding"          # refunding the customer after the fulfilment failed
    REFUNDED = "refunded"            # all money back with the customer
    MANUAL = "manual"                # a refund, reversal or check could not complete: operations staff decide


class PayMethod(StrEnum):
    NATIVE = "native"      # 收款二维码: the customer scans the terminal's QR
    MICROPAY = "micropay"  # 扫付款码: the terminal scans the customer's payment code


class PaymentStatus(StrEnum):
    OPEN = "open"        # asked for, no explicit answer yet
    PAID = "paid"
    FAILED = "failed"    # explicitly refused
    CLOSED = "closed"    # closed or reversed at the channel: no money moved


class RecoveryPolicy(StrEnum):
    """What happens to a paid order whose fulfilment the far system refused (one per kind, or per terminal)."""

    REFUND = "refund"                                    # give all the money back
    MANUAL = "manual"                                    # operations staff decide
    RETRY_THEN_MANUAL = "retry_then_manual"              # fulfil again (a re-sale); manual once the tries are spent
    REFUND_IF_NEVER_REACHED = "refund_if_never_reached"  # refund only if the sale never reached the far system


S = OrderState
ORDER_TRANSITIONS: dict[StrEnum, frozenset[StrEnum]] = {
    S.CREATED: frozenset({S.PAYING, S.CLOSED}),
    S.PAYING: frozenset({S.PAID, S.PAY_FAILED, S.CLOSING, S.REVERSING, S.MANUAL}),
    S.CLOSING: frozenset({S.CLOSED, S.PAID, S.MANUAL}),
    S.REVERSING: frozenset({S.CLOSED, S.MANUAL}),
    S.PAID: frozenset({S.FULFILLING, S.MANUAL}),
    S.FULFILLING: frozenset({S.FULFILLED, S.FULFIL_FAILED, S.MANUAL}),
    S.FULFIL_FAILED: frozenset({S.REFUNDING, S.FULFILLING, S.MANUAL}),
    S.REFUNDING: frozenset({S.REFUNDED, S.MANUAL}),
    S.FULFILLED: frozenset({S.REFUNDED}),
    S.PAY_FAILED: frozenset({S.PAYING}),  # another payment: a new code, or the QR instead
    S.CLOSED: frozenset({S.MANUAL}),
    S.REFUNDED: frozenset(),
    S.MANUAL: frozenset(),
}
FINAL_STATES = frozenset({S.FULFILLED, S.PAY_FAILED, S.CLOSED, S.REFUNDED, S.MANUAL})
PAID_STATES = frozenset({S.PAID, S.FULFILLING, S.FULFILLED, S.FULFIL_FAILED, S.REFUNDING, S.REFUNDED})
# the hub itself is moving the order on (a queued job or a far call under way): the next move usually follows at once
MOVING_ON_STATES = frozenset({S.PAID, S.FULFILLING, S.CLOSING, S.REVERSING, S.REFUNDING})


def moving_on_at(order: Order) -> int | None:
    """The order's version if the hub is moving it on by itself (MOVING_ON_STATES), for OrderSignals.publish."""
    return order.version if order.state in MOVING_ON_STATES else None


def trade_no(*, order_no: str, seq: int) -> str:
    """A payment's out_trade_no at the channel: the order no. for the first, order no.-seq for later ones.

    A channel refuses a second trade under a number it has seen, so each payment needs its own (≤ 32 characters).
    """
    return order_no if seq == 1 else f"{order_no}-{seq}"


def order_no_of_trade(out_trade_no: str) -> str:
    """The order no. a payment's out_trade_no names."""
    order_no, dash, seq = out_trade_no.rpartition("-")
    return order_no if dash and seq.isdigit() else out_trade_no


@dataclass(frozen=True, slots=True)
class Payment:
    """One attempt to take the order's money through a channel; replaced, never changed in place."""

    seq: int
    channel: str
    method: PayMethod
    amount: int
    started_at: datetime
    deadline: datetime
    status: PaymentStatus = PaymentStatus.OPEN
    code_url: str | None = None
    auth_code_masked: str | None = None
    wallet: str | None = None
    transaction_id: str | None = None
    trade_type: str | None = None
    paid_at: datetime | None = None
    id: int | None = None


@dataclass(slots=True)
class Order(StateMachine):
    """Aggregate root. Services ask it to move; it refuses moves its table does not allow."""

    merchant_id: int
    terminal_id: int
    operator_id: int
    order_no: str
    terminal_order_no: str
    request_hash: str
    kind: str                  # the fulfilment kind: biller_posting, retail, ...
    product: str               # what is bought: a fee type, a tariff, goods
    account_no: str            # for whom: the biller account, the card or meter number
    customer_name: str
    amount: int
    details: dict[str, Any]    # the kind's own facts, read and written only by the kind's module
    created_at: datetime
    expires_at: datetime
    state: OrderState = OrderState.CREATED
    id: int | None = None
    version: int = 0
    payments: tuple[Payment, ...] = ()
    fulfilment_ref: str | None = None      # the far system's reference (the biller's posting id, a vend token)
    fulfilled_at: datetime | None = None
    fulfil_attempts: int = 0               # fulfilments begun: the retry policy counts them
    refund_reserved: int = 0
    refunded_amount: int = 0
    failure_code: str | None = None
    failure_message: str | None = None
    updated_at: datetime | None = None
    saved_state: StrEnum | None = None
    saved_payments: tuple[Payment, ...] = ()
    transitions: list[Transition] = field(default_factory=list)

    aggregate = "订单"
    allowed = ORDER_TRANSITIONS

    @property
    def key(self) -> str:
        return self.order_no

    @property
    def payment(self) -> Payment | None:
        """The latest payment: the one under way, or the one that took the money."""
        return self.payments[-1] if self.payments else None

    @property
    def out_trade_no(self) -> str:
        """The latest payment's number at the channel."""
        assert self.payment is not None, self.order_no
        return trade_no(order_no=self.order_no, seq=self.payment.seq)

    @property
    def paid_payment(self) -> Payment | None:
        return next((p for p in self.payments if p.status is PaymentStatus.PAID), None)

    @property
    def refundable(self) -> int:
        return self.amount - self.refund_reserved if self.state is OrderState.FULFILLED else 0

    def _replace_payment(self, **changes: Any) -> None:
        current = self.payment
        assert current is not None, self.order_no
        self.payments = (*self.payments[:-1], replace(current, **changes))

    def start_payment(
        self, *, channel: str, method: PayMethod, deadline: datetime, at: datetime, actor: str,
        auth_code_masked: str | None = None, wallet: str | None = None,
    ) -> None:
        """Created (or pay failed: another try) → paying, by QR or payment code, through channel."""
        again = "，重试" if self.state is OrderState.PAY_FAILED else ""
        self._move(OrderState.PAYING, reason=("扫付款码" if method is PayMethod.MICROPAY else "收款二维码") + again,
                   actor=actor, at=at)
        self.failure_code = self.failure_message = None
        self.payments = (*self.payments, Payment(
            seq=len(self.payments) + 1, channel=channel, method=method, amount=self.amount, started_at=at,
            deadline=deadline, auth_code_masked=auth_code_masked, wallet=wallet,
        ))

    def keep_qr(self, *, code_url: str) -> bool:
        """Remember the channel's QR unless one is kept already (a racing request's is the answer)."""
        if self.payment is None or self.payment.code_url is not None:
            return False
        self._replace_payment(code_url=code_url)
        return True

    def confirm_paid(self, *, result: PayResult, at: datetime, actor: str) -> bool:
        """Paying/closing → paid on the channel's explicit success; a wrong amount goes to manual.

        Returns True when the money is confirmed as expected (and so may be booked and fulfilled).
        """
        if result.total_fee is not None and result.total_fee != self.amount:
            self.to_manual(reason=f"渠道支付金额{result.total_fee}分与订单金额{self.amount}分不符", actor=actor, at=at)
            return False
        self._move(OrderState.PAID, reason="支付渠道确认已支付", actor=actor, at=at)
        self.failure_code = self.failure_message = None  # a QR paid while it was being closed at its expiry
        self._replace_payment(status=PaymentStatus.PAID, transaction_id=result.transaction_id,
                              trade_type=result.trade_type, paid_at=result.paid_at or at)
        return True

    def fail_payment(self, *, code: str, message: str | None, at: datetime, actor: str) -> None:
        """Paying → pay failed on the channel's explicit refusal."""
        self._move(OrderState.PAY_FAILED, reason=f"{code}: {message}", actor=actor, at=at)
        self._replace_payment(status=PaymentStatus.FAILED)
        self.failure_code, self.failure_message = code, message

    def cancel_unpaid(self, *, reason: str, at: datetime, actor: str) -> None:
        """Created → closed: nobody asked the channel for money yet."""
        self._move(OrderState.CLOSED, reason=reason, actor=actor, at=at)

    def begin_close(self, *, reason: str, at: datetime, actor: str) -> None:
        """Paying (QR) → closing at the channel."""
        self._move(OrderState.CLOSING, reason=reason, actor=actor, at=at)

    def expire_qr(self, *, at: datetime, actor: str) -> None:
        """Paying (QR) → closing at the QR's deadline; the order says why it closes."""
        self._move(OrderState.CLOSING, reason="二维码过期未支付", actor=actor, at=at)
        self.failure_code, self.failure_message = "QR_EXPIRED", "二维码已过期，订单已关闭"

    def begin_reverse(self, *, reason: str, at: datetime, actor: str) -> None:
        """Paying (payment code) → reversing at the channel."""
        self._move(OrderState.REVERSING, reason=reason, actor=actor, at=at)

    def mark_closed(self, *, reason: str, at: datetime, actor: str) -> None:
        """Closing/reversing → closed once the channel confirmed it."""
        self._move(OrderState.CLOSED, reason=reason, actor=actor, at=at)
        if self.payment is not None:
            self._replace_payment(status=PaymentStatus.CLOSED)

    def begin_fulfilment(self, *, reason: str, at: datetime, actor: str) -> None:
        """Paid (or a failed fulfilment being retried) → fulfilling."""
        self._move(OrderState.FULFILLING, reason=reason, actor=actor, at=at)
        self.fulfil_attempts += 1

    def mark_fulfilled(self, *, ref: str | None, fulfilled_at: datetime, actor: str, at: datetime) -> None:
        """Fulfilling → fulfilled."""
        self._move(OrderState.FULFILLED, reason="已交付", actor=actor, at=at)
        self.fulfilment_ref, self.fulfilled_at = ref, fulfilled_at

    def fulfilment_refused(self, *, code: str, message: str, at: datetime, actor: str) -> None:
        """Fulfilling → fulfil failed; the kind's recovery policy says what follows."""
        self._move(OrderState.FULFIL_FAILED, reason=f"{code}: {message}", actor=actor, at=at)
        self.failure_code, self.failure_message = code, message

    def begin_refund(self, *, reason: str, at: datetime, actor: str) -> None:
        """Fulfil failed → refunding the whole amount."""
        self._move(OrderState.REFUNDING, reason=reason, actor=actor, at=at)
        self.refund_reserved = self.amount

    def reserve_refund(self, *, amount: int) -> None:
        """Hold part of a fulfilled order's amount for a supervisor's refund."""
        if self.state is not OrderState.FULFILLED:
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
