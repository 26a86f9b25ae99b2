"""What a payment channel can answer, in the hub's words (the adapters map their wire codes to these)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class Capability(StrEnum):
    """What a channel can take payment by; callers ask for a capability, never test a channel's name."""

    QR = "qr"                      # the customer scans the terminal's collection QR
    PAYMENT_CODE = "payment_code"  # the terminal scans the customer's payment code
    CARD_PRESENT = "card_present"  # a bank card at the terminal (UnionPay)
    CASH = "cash"                  # notes into the bill acceptor
    STORED_VALUE = "stored_value"  # the hub's own stored-value card


class PayStatus(StrEnum):
    PAID = "paid"            # explicit success
    PENDING = "pending"      # explicit: the customer is paying, or has not paid yet
    FAILED = "failed"        # explicit refusal: declined, insufficient funds, bad code
    CLOSED = "closed"        # the channel closed or reversed the trade
    NOT_FOUND = "not_found"  # the channel has no such trade (our request never arrived)
    UNKNOWN = "unknown"      # no explicit answer (timeout, system error): query, never guess


@dataclass(frozen=True, slots=True)
class PayResult:
    """The channel's answer about one trade."""

    status: PayStatus
    out_trade_no: str
    transaction_id: str | None = None
    trade_type: str | None = None
    total_fee: int | None = None
    paid_at: datetime | None = None
    err_code: str | None = None
    message: str | None = None
    query_now: bool = False  # a system error: query at once rather than after the usual wait


@dataclass(frozen=True, slots=True)
class NativeQr:
    """A collection QR the customer scans with the wallet."""

    out_trade_no: str
    code_url: str
    code_img_url: str | None = None


class CloseStatus(StrEnum):
    CLOSED = "closed"            # the trade can no longer be paid
    ALREADY_PAID = "already_paid"
    RETRY = "retry"              # the channel asks to call again
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class CloseResult:
    """The channel's answer to a close (native) or reverse (payment code)."""

    status: CloseStatus
    out_trade_no: str
    err_code: str | None = None
    message: str | None = None


class RefundStatus(StrEnum):
    SUCCESS = "success"
    PROCESSING = "processing"    # accepted, not done: query later
    FAILED = "failed"            # explicit refusal (e.g. merchant balance short): may retry later
    CHANGE = "change"            # the original route failed: needs a manual payout
    NOT_FOUND = "not_found"
    UNKNOWN = "unknown"          # no explicit answer: resend with the same out_refund_no


@dataclass(frozen=True, slots=True)
class RefundResult:
    """The channel's answer about one refund."""

    status: RefundStatus
    out_refund_no: str
    refund_id: str | None = None
    refund_fee: int | None = None
    err_code: str | None = None
    message: str | None = None
