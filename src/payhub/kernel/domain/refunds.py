"""A refund of an order: automatic after a refused fulfilment, or a supervisor's (full or partial, several per order)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from payhub.kernel.domain.transitions import StateMachine, Transition


class RefundState(StrEnum):
    UNDOING = "undoing"      # taking the amount back from the far system first (refunds of fulfilled orders)
    REFUNDING = "refunding"  # the channel is returning the money to the customer
    REFUNDED = "refunded"    # the customer has the money back
    REJECTED = "rejected"    # the far system would not give the amount back: nothing moved
    MANUAL = "manual"        # the channel could not refund: operations staff pay out by hand


R = RefundState
REFUND_TRANSITIONS: dict[StrEnum, frozenset[StrEnum]] = {
    R.UNDOING: frozenset({R.REFUNDING, R.REJECTED, R.MANUAL}),
    R.REFUNDING: frozenset({R.REFUNDED, R.MANUAL}),
    R.REFUNDED: frozenset(),
    R.REJECTED: frozenset(),
    R.MANUAL: frozenset(),
}


@dataclass(slots=True)
class Refund(StateMachine):
    """Aggregate root for one refund; its refund_no is the out_refund_no the channel sees."""

    merchant_id: int
    order_id: int
    order_no: str
    seq: int
    amount: int
    reason: str
    requested_by: int | None
    approved_by: int | None
    automatic: bool
    created_at: datetime
    state: RefundState = RefundState.REFUNDING
    id: int | None = None
    version: int = 0
    channel_refund_id: str | None = None
    failure_code: str | None = None
    failure_message: str | None = None
    updated_at: datetime | None = None
    saved_state: StrEnum | None = None
    transitions: list[Transition] = field(default_factory=list)

    aggregate = "退款"
    allowed = REFUND_TRANSITIONS

    @property
    def key(self) -> str:
        return self.refund_no

    @property
    def refund_no(self) -> str:
        """out_refund_no: the order number and the refund's sequence, stable across retries."""
        return f"{self.order_no}R{self.seq}"

    @property
    def reversal_no(self) -> str:
        """The far system's reversal number for this refund."""
        return f"{self.order_no}V{self.seq}"

    def undone(self, *, at: datetime, actor: str) -> None:
        """The far system gave the amount back: refund at the channel next."""
        self._move(RefundState.REFUNDING, reason="已冲正", actor=actor, at=at)

    def reject(self, *, code: str, message: str, at: datetime, actor: str) -> None:
        """The far system refused to give the amount back."""
        self._move(RefundState.REJECTED, reason=f"{code}: {message}", actor=actor, at=at)
        self.failure_code, self.failure_message = code, message

    def succeeded(self, *, channel_refund_id: str | None, at: datetime, actor: str) -> None:
        """The channel returned the money."""
        self._move(RefundState.REFUNDED, reason="支付渠道已退款", actor=actor, at=at)
        self.channel_refund_id = channel_refund_id

    def to_manual(self, *, reason: str, at: datetime, actor: str) -> None:
        """Hand the refund to operations staff."""
        self._move(RefundState.MANUAL, reason=reason, actor=actor, at=at)
        self.failure_code, self.failure_message = "MANUAL", reason
