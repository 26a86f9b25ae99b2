"""Suspicious-transaction rules (可疑交易) and the review of what they raise."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from payhub.kernel.domain.transitions import StateMachine, Transition


@dataclass(frozen=True, slots=True)
class RiskRules:
    """Thresholds of the rules; a rule with 0 is off."""

    burst_count: int = 5             # this many consumes on one card …
    burst_minutes: int = 10          # … within this many minutes
    recharge_transfer_minutes: int = 30  # a transfer out this soon after a recharge to the same card
    near_limit_percent: int = 90     # a consume at or above this share of a per-transaction limit
    night_from_hour: int = 0         # local hours [from, to) count as night
    night_to_hour: int = 5


class Rule(StrEnum):
    BURST = "burst"                        # many consumes in a short time
    RECHARGE_THEN_TRANSFER = "recharge_then_transfer"
    NEAR_LIMIT = "near_limit"              # just under a limit
    NIGHT = "night"                        # night-time activity


def near_limit(*, amount: int, limit: int | None, rules: RiskRules) -> bool:
    return bool(limit and rules.near_limit_percent and amount <= limit and amount * 100 >= limit * rules.near_limit_percent)


def at_night(*, local_hour: int, rules: RiskRules) -> bool:
    return rules.night_from_hour <= local_hour < rules.night_to_hour


class ReviewState(StrEnum):
    OPEN = "open"            # raised, waiting for a reviewer
    REVIEWING = "reviewing"  # a reviewer took it
    CONFIRMED = "confirmed"  # really suspicious: reported / acted on
    DISMISSED = "dismissed"  # a false alarm


R = ReviewState
REVIEW_TRANSITIONS: dict[StrEnum, frozenset[StrEnum]] = {
    R.OPEN: frozenset({R.REVIEWING, R.CONFIRMED, R.DISMISSED}),
    R.REVIEWING: frozenset({R.CONFIRMED, R.DISMISSED}),
    R.CONFIRMED: frozenset(),
    R.DISMISSED: frozenset(),
}


@dataclass(slots=True)
class SuspiciousCase(StateMachine):
    """One raised rule hit on one transaction, as it goes through review."""

    merchant_id: int
    case_no: str
    rule: Rule
    tx_no: str
    card_no: str
    detail: str
    created_at: datetime
    state: ReviewState = ReviewState.OPEN
    id: int | None = None
    version: int = 0
    note: str = ""
    updated_at: datetime | None = None
    saved_state: StrEnum | None = None
    transitions: list[Transition] = field(default_factory=list)

    aggregate = "可疑交易"
    allowed = REVIEW_TRANSITIONS

    @property
    def key(self) -> str:
        return self.case_no

    def take(self, *, at: datetime, actor: str) -> None:
        self._move(R.REVIEWING, reason="taken for review", actor=actor, at=at)

    def decide(self, *, confirmed: bool, note: str, at: datetime, actor: str) -> None:
        self._move(R.CONFIRMED if confirmed else R.DISMISSED, reason=note or "decided", actor=actor, at=at)
        self.note = note
