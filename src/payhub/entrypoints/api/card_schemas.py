"""Request bodies of the card API (validated at the edge; amounts are strict integers in fen)."""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from payhub.domain.card_money import MAX_AMOUNT

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
