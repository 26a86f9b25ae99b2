"""Fulfilment: what happens once an order's money is confirmed, and what follows when the far system refuses it."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from payhub.kernel.domain.orders import Order, RecoveryPolicy


class FulfilmentStatus(StrEnum):
    DONE = "done"            # delivered (or undone, for an undo)
    REFUSED = "refused"      # explicit refusal
    UNCLEAR = "unclear"      # no explicit answer: query, never guess
    NOT_FOUND = "not_found"  # a query's answer: the far system never saw it


@dataclass(frozen=True, slots=True)
class Outcome:
    """A fulfilment kind's answer about one order (fulfil, query or undo)."""

    status: FulfilmentStatus
    ref: str | None = None           # the far system's reference
    at: datetime | None = None       # when the far system did it
    code: str | None = None
    message: str | None = None
    reached: bool = True             # False: refused before the far system took the sale in (nothing to undo there)


class Recovery(StrEnum):
    REFUND = "refund"
    RETRY = "retry"
    MANUAL = "manual"


def recovery_after_refusal(*, policy: RecoveryPolicy, order: Order, outcome: Outcome, tries: int) -> Recovery:
    """What a refused fulfilment leads to under the kind's policy; tries bounds RETRY_THEN_MANUAL's fulfilments."""
    if policy is RecoveryPolicy.REFUND:
        return Recovery.REFUND
    if policy is RecoveryPolicy.REFUND_IF_NEVER_REACHED:
        return Recovery.MANUAL if outcome.reached else Recovery.REFUND
    if policy is RecoveryPolicy.RETRY_THEN_MANUAL and order.fulfil_attempts < tries:
        return Recovery.RETRY
    return Recovery.MANUAL
