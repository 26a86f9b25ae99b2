"""The TCIS contract (docs/tcis-contract.md): messages, request signing and the map to the hub's words.

Both the connector and the sandbox use this module, so the two cannot drift apart.
"""
from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StrictInt

from payhub.counter.domain.billing import Arrears, Bill, PostingRequest, PostingResult, PostingStatus
from payhub.counter.domain.fees import FeeType

APP_ID_HEADER = "X-App-Id"
TIMESTAMP_HEADER = "X-Timestamp"
SIGNATURE_HEADER = "X-Signature"
SIGNATURE_WINDOW_SECONDS = 300

Fen = Annotated[StrictInt, Field(gt=0)]
NonNegativeFen = Annotated[StrictInt, Field(ge=0)]
Key = Annotated[str, Field(min_length=1, max_length=64)]


class WireRequest(BaseModel):
    """A request body: unknown fields are refused so that a typo cannot pass silently."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class WireAnswer(BaseModel):
    """An answer body: unknown fields are ignored so that TCIS may add some."""

    model_config = ConfigDict(extra="ignore", frozen=True)


class WireBill(WireAnswer):
    bill_id: str
    period: str
    amount: Fen


class ArrearsAnswer(WireAnswer):
    account_no: str
    fee_type: FeeType
    customer_name: str
    address: str
    bills: list[WireBill]
    total_due: NonNegativeFen
    prepay_allowed: bool
    ic_card: bool


class PostingBody(WireRequest):
    posting_no: Key
    account_no: Key
    fee_type: FeeType
    amount: Fen
    paid_at: AwareDatetime
    bill_ids: list[Key] = Field(default_factory=list)
    channel_trade_no: Key | None = None


class PostingAnswer(WireAnswer):
    posting_no: str
    status: Literal["posted", "refused", "reversed"]
    amount: Fen
    reversed_amount: NonNegativeFen = 0
    biller_ref: str | None = None
    posted_at: AwareDatetime | None = None
    code: str | None = None
    message: str | None = None


class ReversalBody(WireRequest):
    reversal_no: Key
    amount: Fen
    reason: Annotated[str, Field(min_length=1, max_length=200)]


class ReversalAnswer(WireAnswer):
    reversal_no: str
    posting_no: str
    status: Literal["reversed", "refused"]
    amount: Fen
    biller_ref: str | None = None
    reversed_at: AwareDatetime | None = None
    code: str | None = None
    message: str | None = None


class ErrorAnswer(WireAnswer):
    code: str
    message: str


def content_digest(*, body: bytes) -> str:
    """The hex SHA-256 of a request body (of b"" when there is none)."""
    return hashlib.sha256(body).hexdigest()


def signature(*, secret: str, method: str, target: str, timestamp: str, body: bytes) -> str:
    """The hex HMAC-SHA256 over method, path-with-query, timestamp and the body's digest."""
    text = "\n".join((method.upper(), target, timestamp, content_digest(body=body)))
    return hmac.new(secret.encode(), text.encode(), hashlib.sha256).hexdigest()


def signed_headers(*, app_id: str, secret: str, method: str, target: str, body: bytes, timestamp: int) -> dict[str, str]:
    """The three authentication headers of one request."""
    stamp = str(timestamp)
    return {
        APP_ID_HEADER: app_id,
        TIMESTAMP_HEADER: stamp,
        SIGNATURE_HEADER: signature(secret=secret, method=method, target=target, timestamp=stamp, body=body),
    }


def auth_refusal(
    *, app_id: str, secret: str, headers: Mapping[str, str], method: str, target: str, body: bytes, now: int,
) -> str | None:
    """Why a request's authentication fails, as an error code; None when it holds."""
    given_app, stamp, given = (headers.get(name) for name in (APP_ID_HEADER, TIMESTAMP_HEADER, SIGNATURE_HEADER))
    if not (given_app and stamp and given):
        return "SIGNATURE_REQUIRED"
    if not hmac.compare_digest(given_app, app_id):
        return "UNKNOWN_APP"
    if not stamp.isdigit() or abs(now - int(stamp)) > SIGNATURE_WINDOW_SECONDS:
        return "TIMESTAMP_SKEW"
    expected = signature(secret=secret, method=method, target=target, timestamp=stamp, body=body)
    if not hmac.compare_digest(given.lower(), expected):
        return "BAD_SIGNATURE"
    return None


def arrears_answer(*, arrears: Arrears) -> ArrearsAnswer:
    """The wire form of a customer's arrears."""
    return ArrearsAnswer(
        account_no=arrears.account_no,
        fee_type=arrears.fee_type,
        customer_name=arrears.customer_name,
        address=arrears.address,
        bills=[WireBill(bill_id=bill.bill_id, period=bill.period, amount=bill.amount) for bill in arrears.bills],
        total_due=arrears.total_due,
        prepay_allowed=arrears.prepay_allowed,
        ic_card=arrears.ic_card,
    )


def arrears_from_answer(*, answer: ArrearsAnswer) -> Arrears:
    """The hub's view of an arrears answer; ValueError when its total disagrees with its bills."""
    arrears = Arrears(
        account_no=answer.account_no,
        fee_type=answer.fee_type,
        customer_name=answer.customer_name,
        address=answer.address,
        bills=tuple(Bill(bill_id=bill.bill_id, period=bill.period, amount=bill.amount) for bill in answer.bills),
        prepay_allowed=answer.prepay_allowed,
        ic_card=answer.ic_card,
    )
    if arrears.total_due != answer.total_due:
        raise ValueError(f"total_due {answer.total_due} is not the sum of the bills ({arrears.total_due})")
    return arrears


def posting_body(*, request: PostingRequest) -> PostingBody:
    """The wire form of a posting the hub books."""
    return PostingBody(
        posting_no=request.posting_no,
        account_no=request.account_no,
        fee_type=request.fee_type,
        amount=request.amount,
        paid_at=request.paid_at,
        bill_ids=list(request.bill_ids),
        channel_trade_no=request.channel_trade_no,
    )


def posting_result(*, answer: PostingAnswer | ReversalAnswer) -> PostingResult:
    """The hub's view of a posting or reversal answer; a reversal's REVERSED covers its own amount only."""
    return PostingResult(
        status=PostingStatus(answer.status),
        posting_no=answer.posting_no,
        biller_ref=answer.biller_ref,
        posted_at=answer.posted_at if isinstance(answer, PostingAnswer) else None,
        code=answer.code,
        message=answer.message,
    )
