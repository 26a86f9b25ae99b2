"""The wire shapes of the terminal API (amounts in integer fen, times in ISO 8601 UTC)."""
from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from payhub.counter.domain.billing import Arrears
from payhub.kernel.domain.messages import reason_name, state_name
from payhub.counter.domain.bill_payment import prepaid_amount
from payhub.kernel.domain.orders import FINAL_STATES, Order
from payhub.kernel.domain.refunds import Refund
from payhub.kernel.domain.transitions import Transition


BIGINT_MAX = 2**63 - 1  # the largest integer both databases store
RowId = Annotated[int, Field(ge=1, le=BIGINT_MAX)]
Offset = Annotated[int, Field(ge=0, le=BIGINT_MAX)]
Day = Annotated[date, Field(ge=date(2000, 1, 1), le=date(2099, 12, 31))]
Fen = Annotated[StrictInt, Field(description="fen; a JSON integer, never a string or a boolean")]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class LoginIn(Strict):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=128)


class OperatorOut(BaseModel):
    id: int
    username: str
    display_name: str
    role: str


class LoginOut(BaseModel):
    token: str
    expires_at: datetime
    operator: OperatorOut
    terminal: str


class FeeTypeOut(BaseModel):
    code: str
    name: str
    name_en: str
    has_arrears: bool


class BillOut(BaseModel):
    bill_id: str
    period: str
    amount: int


class ArrearsOut(BaseModel):
    account_no: str
    fee_type: str
    customer_name: str
    address: str
    bills: list[BillOut]
    total_due: int
    prepay_allowed: bool
    ic_card: bool

    @classmethod
    def of(cls, arrears: Arrears) -> ArrearsOut:
        return cls(
            account_no=arrears.account_no, fee_type=arrears.fee_type.value, customer_name=arrears.customer_name,
            address=arrears.address, total_due=arrears.total_due, prepay_allowed=arrears.prepay_allowed,
            ic_card=arrears.ic_card,
            bills=[BillOut(bill_id=b.bill_id, period=b.period, amount=b.amount) for b in arrears.bills],
        )


class OrderIn(Strict):
    out_trade_no: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_\-]+$",
                              description="the terminal's own order no., unique per terminal; a retry sends the same")
    fee_type: Literal["gas", "water", "business", "other"]
    account_no: str = Field(min_length=1, max_length=64)
    amount: Fen
    bill_ids: list[str] = Field(default_factory=list, max_length=120,
                                description="pay these bills only; empty: the amount pays arrears oldest first, the rest is prepaid")


class PayCodeIn(Strict):
    auth_code: str = Field(min_length=10, max_length=32, description="the customer's payment code as scanned")


class RefundIn(Strict):
    request_no: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_\-]+$",
                            description="the terminal's refund request no.; a retry sends the same")
    amount: Fen
    reason: str = Field(default="柜台退款", max_length=200)
    supervisor_username: str | None = Field(default=None, max_length=64)
    supervisor_password: str | None = Field(default=None, max_length=128)


class RefundOut(BaseModel):
    refund_no: str
    amount: int
    state: str
    state_name: str
    automatic: bool
    reason: str
    failure_message: str | None
    created_at: datetime

    @classmethod
    def of(cls, refund: Refund, locale: str) -> RefundOut:
        return cls(
            refund_no=refund.refund_no, amount=refund.amount, state=refund.state.value,
            state_name=state_name(refund.state.value, locale), automatic=refund.automatic, reason=refund.reason,
            failure_message=refund.failure_message, created_at=refund.created_at,
        )


class OrderOut(BaseModel):
    order_no: str
    out_trade_no: str
    state: str
    state_name: str
    final: bool
    version: int
    kind: str = Field(description="what the order buys: biller_posting (a fee posted to the biller), retail, ...")
    fee_type: str
    account_no: str
    customer_name: str
    amount: int
    arrears_amount: int
    prepaid_amount: int
    bill_ids: list[str]
    pay_method: str | None
    wallet: str | None
    code_url: str | None
    qr_image: str | None = Field(default=None, description="the collection QR as a data: URI (PNG)")
    pay_deadline: datetime | None
    paid_at: datetime | None
    channel_trade_no: str | None
    posted_at: datetime | None
    biller_ref: str | None
    refunded_amount: int
    refundable: int
    failure_code: str | None
    failure_message: str | None
    created_at: datetime
    expires_at: datetime

    @classmethod
    def of(cls, order: Order, locale: str, *, qr_image: str | None = None) -> OrderOut:
        payment = order.paid_payment or order.payment
        prepaid = prepaid_amount(order)
        return cls(
            order_no=order.order_no, out_trade_no=order.terminal_order_no, state=order.state.value,
            state_name=state_name(order.state.value, locale, kind=order.kind), final=order.state in FINAL_STATES,
            version=order.version, kind=order.kind, fee_type=order.product, account_no=order.account_no,
            customer_name=order.customer_name, amount=order.amount, arrears_amount=order.amount - prepaid,
            prepaid_amount=prepaid, bill_ids=[str(b) for b in order.details.get("bill_ids", ())],
            pay_method=payment.method.value if payment else None,
            wallet=(payment.wallet or payment.trade_type) if payment else None,
            code_url=payment.code_url if payment else None, qr_image=qr_image,
            pay_deadline=payment.deadline if payment else None, paid_at=payment.paid_at if payment else None,
            channel_trade_no=payment.transaction_id if payment else None, posted_at=order.fulfilled_at,
            biller_ref=order.fulfilment_ref,
            refunded_amount=order.refunded_amount, refundable=order.refundable, failure_code=order.failure_code,
            failure_message=order.failure_message, created_at=order.created_at, expires_at=order.expires_at,
        )


class TransitionOut(BaseModel):
    key: str
    from_state: str
    to_state: str
    reason: str
    actor: str
    at: datetime

    @classmethod
    def of(cls, t: Transition, locale: str) -> TransitionOut:
        return cls(key=t.key, from_state=t.from_state, to_state=t.to_state, reason=reason_name(t.reason, locale),
                   actor=t.actor, at=t.at)


class OrderDetailOut(OrderOut):
    history: list[TransitionOut]
    refunds: list[RefundOut]


class OrderListItem(OrderOut):
    operator_name: str = Field(description="the operator who took the order")
    terminal_name: str = Field(description="the terminal that took it (name and code)")


class OrderPage(BaseModel):
    orders: list[OrderListItem]
    limit: int
    offset: int
    total_count: int = Field(description="orders matching the filters, on every page")
    total_amount: int = Field(description="their sum in fen")


class RefundEffectLine(BaseModel):
    label: str
    value: str
    fen: int | None


class RefundPreviewOut(BaseModel):
    amount: int
    refundable: int
    known: bool = Field(description="false when the order did not record its bills: the biller's books decide")
    lines: list[RefundEffectLine] = Field(description="bills owed again and what stays or goes as prepaid balance")
