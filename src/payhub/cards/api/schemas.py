"""Request bodies and responses of the card API (validated at the edge; amounts are strict integers in fen).

A response model lists what integrators get and nothing else: request fingerprints, sealed secrets and password or
code hashes stay out, as the models leave them out."""
from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from payhub.cards.domain.money import MAX_AMOUNT

Fen = Annotated[int, Field(strict=True, gt=0, le=MAX_AMOUNT, description="amount in fen (分)")]
CardNo = Annotated[str, Field(pattern=r"^[0-9]{12,19}$", description="card number (Luhn-checked)")]
Code = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{2,32}$")]
OutNo = Annotated[str, Field(min_length=1, max_length=64)]
Password = Annotated[str, Field(pattern=r"^[0-9]{6}$", description="6-digit pay password")]
Phone = Annotated[str, Field(pattern=r"^1[3-9][0-9]{9}$")]
SmsCode = Annotated[str, Field(pattern=r"^[0-9]{6}$")]
Channel = Literal["online", "offline"]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ProgramIn(Body):
    push_url: str | None = Field(None, max_length=500, pattern=r"^[!-~]+$",
                                 description="https://… to a public address (HTTP and loopback in demo mode)")
    push_secret: str | None = Field(None, min_length=16, max_length=200, pattern=r"^[ -~]+$")
    password_tries: int | None = Field(None, ge=1, le=10)


class PinlessOfflineIn(Body):
    max_amount: Fen | None = Field(description="the most an offline consume may take without the pay password; "
                                               "null: offline consumes need it (the default)")


class CardMerchantIn(Body):
    code: Code
    name: str = Field(min_length=1, max_length=128)


class LimitIn(Body):
    subject: str = Field(max_length=80, description="'card:*', 'card:{no}' or 'merchant:{code}'")
    per_txn: int | None = Field(None, ge=0, le=2**63 - 1, strict=True)  # at most what a BIGINT column holds
    per_day: int | None = Field(None, ge=0, le=2**63 - 1, strict=True)


class AccountIn(Body):
    holder_name: str = Field(min_length=1, max_length=64)
    phone: Phone
    pay_password: Password


class CardIn(Body):
    account_no: str = Field(min_length=1, max_length=32)
    card_no: CardNo
    kind: Literal["physical", "virtual"] = "physical"


class ReasonIn(Body):
    reason: str = Field("", max_length=200)


class PasswordIn(Body):
    new_password: Password
    old_password: Password | None = None


class RechargeIn(Body):
    card_no: CardNo
    merchant_code: Code
    out_trade_no: OutNo
    amount: Fen
    terminal_code: str | None = Field(None, max_length=32)


class OnlineRechargeIn(Body):
    card_no: CardNo
    merchant_code: Code
    out_trade_no: OutNo
    amount: Fen
    auth_code: str = Field(pattern=r"^[0-9]{10,32}$", description="the member's wallet payment code")


class ConsumeIn(Body):
    card_no: CardNo
    merchant_code: Code
    out_trade_no: OutNo
    amount: Fen
    channel: Channel
    pay_password: Password | None = None
    terminal_code: str | None = Field(None, max_length=32)


class RefundIn(Body):
    merchant_code: Code
    out_trade_no: OutNo
    out_refund_no: OutNo
    amount: Fen
    channel: Channel
    terminal_code: str | None = Field(None, max_length=32)


class TransferIn(Body):
    merchant_code: Code
    from_card: CardNo
    to_card: CardNo
    out_trade_no: OutNo
    amount: Fen
    pay_password: Password


class ReviewIn(Body):
    decision: Literal["take", "confirm", "dismiss"]
    note: str = Field("", max_length=500)


class SmsCodeIn(Body):
    phone: Phone
    purpose: Literal["register", "bind", "lost", "unlost"]


class MemberIn(Body):
    phone: Phone
    name: str = Field(min_length=1, max_length=64)
    sms_code: SmsCode
    pay_password: Password


class BindPhysicalIn(Body):
    sms_code: SmsCode
    card_no: CardNo
    consent_to_move: bool = False


class SmsOnlyIn(Body):
    sms_code: SmsCode


class SettleIn(Body):
    bank_ref: str = Field(min_length=1, max_length=64)


class PoolIn(Body):
    prefix: str = Field(pattern=r"^[0-9]{2,8}$")
    count: int = Field(ge=1, le=100_000)
    kind: Literal["physical", "virtual"] = "virtual"


# --- responses ---------------------------------------------------------------------------------------------


class Out(BaseModel):
    """A response; built from the services' rows by attribute, fields not listed are dropped."""

    model_config = ConfigDict(from_attributes=True)


class OkOut(Out):
    ok: bool


class CardMerchantAddedOut(Out):
    code: str
    name: str


class PinlessOfflineOut(Out):
    code: str
    pinless_offline_max: int | None


class CardMerchantOut(Out):
    id: int
    merchant_id: int
    code: str
    name: str
    active: bool
    pinless_offline_max: int | None = Field(description="offline consumes without the pay password up to this (fen)")
    created_at: datetime
    updated_at: datetime


class PoolBatchOut(Out):
    kind: str
    batch: str
    total: int
    taken: int


class PoolIssuedOut(Out):
    batch: str
    kind: str
    requested: int
    added: int = Field(description="numbers new to the pool (a repeat is not added twice)")


class LimitOut(Out):
    merchant_id: int
    subject: str
    per_txn: int | None = Field(description="fen; null: no limit")
    per_day: int | None = Field(description="fen; null: no limit")
    created_at: datetime
    updated_at: datetime


class AccountOut(Out):
    account_no: str
    holder_name: str


class CardStateOut(Out):
    card_no: str
    state: str
    kind: str


class TxResultOut(Out):
    """A booked money transaction; replayed: the answer to a retry of the same out_trade_no."""

    tx_no: str
    kind: str
    channel: str
    card_no: str
    amount: int
    balance: int = Field(description="the card's balance right after this transaction (fen)")
    out_no: str
    merchant_code: str
    created_at: datetime
    refunded: int
    counter_card_no: str | None
    original_tx_no: str | None
    replayed: bool


class OnlineRechargeOut(Out):
    recharge_no: str
    state: str
    card_no: str
    amount: int
    out_trade_no: str
    tx_no: str | None
    failure: str | None


class CardTxOut(Out):
    """A card transaction as recorded."""

    id: int
    merchant_id: int
    tx_no: str
    kind: str
    channel: str
    funding: str | None
    card_merchant_id: int
    card_merchant_code: str
    terminal_code: str | None
    card_no: str
    counter_card_no: str | None
    out_no: str = Field(description="out_trade_no, or out_refund_no of a refund")
    amount: int
    refunded: int
    balance_after: int
    original_tx_no: str | None
    shard: int
    business_date: date
    created_at: datetime


class CardTxDetailOut(CardTxOut):
    state: Literal["succeeded", "partly_refunded", "refunded"]
    refunds: list[CardTxOut]


class RechargeTotalOut(Out):
    count: int
    total: int


class SuspiciousCaseOut(Out):
    id: int
    merchant_id: int
    case_no: str
    rule: str
    tx_no: str
    card_no: str
    detail: str
    state: str
    version: int
    note: str
    created_at: datetime
    updated_at: datetime


class CaseReviewedOut(Out):
    case_no: str
    state: str


class CardEventOut(Out):
    id: int
    merchant_id: int
    event_id: str
    type: str
    tx_no: str | None
    payload: str = Field(description="the JSON body pushed to the issuer")
    created_at: datetime
    delivered_at: datetime | None
    attempts: int
    last_status: str | None


class MemberOut(Out):
    member_id: int
    phone: str
    account_no: str


class MemberCardOut(Out):
    card_no: str
    state: str


class PhysicalCardBoundOut(MemberCardOut):
    replacement_no: str | None = Field(description="the replacement that moves the old card's balance, if any")


class ReplacementOut(Out):
    replacement_no: str
    state: str
    old_card_no: str
    new_card_no: str
    moved_amount: int | None
    failure: str | None


class SettlementOut(Out):
    id: int | None = Field(description="null in the answer to the settle call itself")
    merchant_id: int
    business_date: date
    online_amount: int
    offline_amount: int
    bank_ref: str
    settled_by: str
    created_at: datetime


class CustodyReportOut(Out):
    business_date: date
    online_amount: int
    offline_amount: int
    total: int
    count: int
    settlement: SettlementOut | None
    settleable: bool


class CardMoveOut(Out):
    """One recorded state change of a card."""

    model_config = ConfigDict(from_attributes=True, populate_by_name=True)

    from_: str = Field(alias="from")
    to: str
    reason: str
    actor: str
    at: datetime


class CardInfoOut(Out):
    card_no: str
    kind: str
    state: str
    created_at: datetime
    updated_at: datetime
    account_no: str
    holder_name: str
    phone: str = Field(description="masked: 139****0001")
    balance: int
    ledger_version: int
    history: list[CardMoveOut]


class CardBalanceOut(Out):
    card_no: str
    balance: int
    state: str
