"""What a biller (a utility's billing system) knows about a customer and a posting."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from payhub.counter.domain.fees import FeeType


@dataclass(frozen=True, slots=True)
class Bill:
    """One unpaid bill of a customer."""

    bill_id: str
    period: str  # e.g. 2026-10
    amount: int  # fen


@dataclass(frozen=True, slots=True)
class Arrears:
    """A customer's unpaid bills for one fee type, as the biller reports them."""

    account_no: str
    fee_type: FeeType
    customer_name: str  # masked by the biller, e.g. 张*明
    address: str
    bills: tuple[Bill, ...] = field(default_factory=tuple)
    prepay_allowed: bool = True
    ic_card: bool = False  # the customer loads an IC card after paying (a later issue adds the load)

    @property
    def total_due(self) -> int:
        return sum(bill.amount for bill in self.bills)


class PostingStatus(StrEnum):
    POSTED = "posted"        # the biller booked the payment
    REFUSED = "refused"      # explicit refusal: the hub refunds the customer
    REVERSED = "reversed"    # the biller took the posting back
    NOT_FOUND = "not_found"  # the biller has no such posting (the request never arrived)
    UNKNOWN = "unknown"      # no explicit answer: query, never guess


@dataclass(frozen=True, slots=True)
class PostingResult:
    """The biller's answer about one posting."""

    status: PostingStatus
    posting_no: str
    biller_ref: str | None = None
    posted_at: datetime | None = None
    code: str | None = None
    message: str | None = None


@dataclass(frozen=True, slots=True)
class PostingRequest:
    """What the hub books at the biller for one paid order."""

    posting_no: str
    account_no: str
    fee_type: FeeType
    amount: int
    paid_at: datetime
    bill_ids: tuple[str, ...] = ()
    channel_trade_no: str | None = None
