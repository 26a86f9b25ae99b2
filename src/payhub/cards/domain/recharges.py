"""Online recharge (线上充值): a payment through a channel first, then the card is credited."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from payhub.kernel.domain.transitions import StateMachine, Transition


class RechargeState(StrEnum):
    PAYING = "paying"      # the channel is charging the member
    PAID = "paid"          # the channel confirmed: the card must be credited
    CREDITED = "credited"  # the card holds the money
    FAILED = "failed"      # the channel explicitly refused: nothing moved
    MANUAL = "manual"      # paid but not creditable, or the payment stayed unclear: staff handle it (人工处理)


R = RechargeState
RECHARGE_TRANSITIONS: dict[StrEnum, frozenset[StrEnum]] = {
    R.PAYING: frozenset({R.PAID, R.FAILED, R.MANUAL}),
    R.PAID: frozenset({R.CREDITED, R.MANUAL}),
    R.MANUAL: frozenset({R.CREDITED, R.FAILED}),
    R.CREDITED: frozenset(),
    R.FAILED: frozenset(),
}


@dataclass(slots=True)
class RechargeOrder(StateMachine):
    """Aggregate root of one online recharge; its recharge_no is the channel's out_trade_no."""

    merchant_id: int
    recharge_no: str
    card_no: str
    merchant_code: str
    out_trade_no: str
    request_hash: str
    amount: int
    channel: str
    created_at: datetime
    state: RechargeState = RechargeState.PAYING
    id: int | None = None
    version: int = 0
    transaction_id: str | None = None
    tx_no: str | None = None
    failure: str | None = None
    updated_at: datetime | None = None
    saved_state: StrEnum | None = None
    transitions: list[Transition] = field(default_factory=list)

    aggregate = "充值单"
    allowed = RECHARGE_TRANSITIONS

    @property
    def key(self) -> str:
        return self.recharge_no

    def paid(self, *, transaction_id: str | None, at: datetime, actor: str) -> None:
        self._move(R.PAID, reason="channel confirmed the payment", actor=actor, at=at)
        self.transaction_id = transaction_id

    def fail(self, *, reason: str, at: datetime, actor: str) -> None:
        self._move(R.FAILED, reason=reason, actor=actor, at=at)
        self.failure = reason

    def credited(self, *, tx_no: str, at: datetime, actor: str) -> None:
        self._move(R.CREDITED, reason=f"card credited by {tx_no}", actor=actor, at=at)
        self.tx_no = tx_no

    def to_manual(self, *, reason: str, at: datetime, actor: str) -> None:
        self._move(R.MANUAL, reason=reason, actor=actor, at=at)
        self.failure = reason
