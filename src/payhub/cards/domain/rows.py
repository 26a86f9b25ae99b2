"""The rows card repositories hand over and take: programs, card merchants, limits, cards as locked or shown, the
pool, members, SMS codes, transactions, events and custody settlements. Plain values; the aggregates live elsewhere."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime


@dataclass(frozen=True, slots=True)
class CardProgram:
    """An issuer's push settings and wrong-password limit."""

    merchant_id: int
    push_url: str | None
    push_secret_sealed: str | None
    password_tries: int
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class CardMerchant:
    """A shop or online store that takes cards, as stored."""

    id: int
    merchant_id: int
    code: str
    name: str
    active: bool
    pinless_offline_max: int | None  # None: offline consumes need the pay password
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class PayingMerchant:
    """A card merchant as the money path needs it, with its issuer's push URL."""

    id: int
    code: str
    name: str
    active: bool
    pinless_offline_max: int | None
    push_url: str | None


@dataclass(frozen=True, slots=True)
class LimitSetting:
    """One configured limit ('card:*', 'card:{no}' or 'merchant:{code}'); None: no limit."""

    merchant_id: int
    subject: str
    per_txn: int | None
    per_day: int | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class LockedCard:
    """A card row locked for a money transaction, with its funds account's password version."""

    id: int
    card_no: str
    state: str
    account_id: int
    ledger_account_id: int
    password_version: int
    wrong_tries: int


@dataclass(frozen=True, slots=True)
class CardView:
    """A card with its holder and balance."""

    card_no: str
    kind: str
    state: str
    created_at: datetime
    updated_at: datetime
    account_no: str
    holder_name: str
    phone: str
    balance: int
    ledger_version: int


@dataclass(frozen=True, slots=True)
class PoolBatch:
    """A batch of pooled card numbers: how many it has and how many are taken."""

    kind: str
    batch: str
    total: int
    taken: int


@dataclass(frozen=True, slots=True)
class Member:
    """A registered member with the card bound to them (None before binding)."""

    id: int
    merchant_id: int
    phone: str
    name: str
    account_id: int
    card_no: str | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class SmsCode:
    """A sent verification code, kept hashed."""

    id: int
    merchant_id: int
    phone: str
    purpose: str
    code_hash: str
    expires_at: datetime
    attempts: int
    used_at: datetime | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class CardTx:
    """A card transaction row; id is None until it is stored."""

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
    out_no: str
    request_hash: str
    amount: int
    refunded: int
    balance_after: int
    original_tx_no: str | None
    shard: int
    business_date: date
    created_at: datetime
    id: int | None = None


@dataclass(frozen=True, slots=True)
class Refunded:
    """A consume's amount and what is refunded of it."""

    amount: int
    refunded: int


@dataclass(frozen=True, slots=True)
class RechargeSum:
    """A business day's recharges of one funding and collection shard."""

    funding: str
    shard: int
    count: int
    amount: int


@dataclass(frozen=True, slots=True)
class CardEvent:
    """A push outbox row; a new one has no id and no delivery yet."""

    merchant_id: int
    event_id: str
    type: str
    tx_no: str | None
    payload: str
    created_at: datetime
    id: int | None = None
    delivered_at: datetime | None = None
    attempts: int = 0
    last_status: str | None = None


@dataclass(frozen=True, slots=True)
class CustodySettlement:
    """The recorded T+1 transfer of a business day's recharges into the custody account."""

    merchant_id: int
    business_date: date
    online_amount: int
    offline_amount: int
    bank_ref: str
    settled_by: str
    created_at: datetime
    id: int | None = None
