"""Double-entry bookkeeping in integer fen: every movement is a journal entry whose legs sum to zero."""
from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from payhub.kernel.domain.errors import InvalidInput


class NormalSide(StrEnum):
    DEBIT = "debit"    # assets: a debit raises the balance
    CREDIT = "credit"  # liabilities: a credit raises the balance


# Hub-wide accounts (channel clearing, orders not yet fulfilled, what is owed onward) are touched by every
# order: each is split into this many sub-accounts so that concurrent orders rarely wait on the same row.
HOT_ACCOUNT_SHARDS = 8
SHARD_MARK = "#"


@dataclass(frozen=True, slots=True)
class AccountSpec:
    """A ledger account, opened on first use."""

    code: str
    name: str
    normal_side: NormalSide
    non_negative: bool = False

    def shard(self, key: str) -> AccountSpec:
        """The sub-account `code#k` that the business event named key books to (always the same one)."""
        k = shard_of(key, HOT_ACCOUNT_SHARDS)
        return AccountSpec(f"{self.code}{SHARD_MARK}{k}", f"{self.name} #{k}", self.normal_side, self.non_negative)


def shard_of(key: str, shards: int) -> int:
    """A stable shard number in [0, shards) for a key (an order or transaction number)."""
    return zlib.crc32(key.encode()) % max(shards, 1)


def family_of(code: str) -> str:
    """The account a sub-account belongs to (`orders:unposted#3` → `orders:unposted`); reports add them up."""
    return code.split(SHARD_MARK, 1)[0]


@dataclass(frozen=True, slots=True)
class Leg:
    """One line of an entry: positive amount = debit, negative = credit."""

    account: AccountSpec
    amount: int


@dataclass(frozen=True, slots=True)
class JournalEntry:
    """A balanced set of legs booked at once for one business event."""

    merchant_id: int
    kind: str
    ref: str
    legs: tuple[Leg, ...]
    memo: str = ""

    def __post_init__(self) -> None:
        if len(self.legs) < 2 or any(
            isinstance(leg.amount, bool) or not isinstance(leg.amount, int) or leg.amount == 0 for leg in self.legs
        ):
            raise InvalidInput("UNBALANCED_ENTRY")
        if sum(leg.amount for leg in self.legs) != 0:
            raise InvalidInput("UNBALANCED_ENTRY")


@dataclass(frozen=True, slots=True)
class LedgerAccount:
    """An account as stored, with its balance (in its normal side's terms) and version."""

    id: int
    merchant_id: int
    code: str
    name: str
    normal_side: str
    non_negative: bool
    balance: int
    version: int
    created_at: datetime


@dataclass(frozen=True, slots=True)
class AccountLine:
    """One leg on an account with its entry: what it moved and the balance before and after."""

    entry_id: str
    kind: str
    ref: str
    memo: str
    created_at: datetime
    amount: int
    balance_before: int
    balance_after: int
    account_version: int


def transfer(
    *, merchant_id: int, kind: str, ref: str, debit: AccountSpec, credit: AccountSpec, amount: int, memo: str = ""
) -> JournalEntry:
    """The two-leg entry that moves amount from the credit account to the debit account."""
    return JournalEntry(merchant_id, kind, ref, (Leg(debit, amount), Leg(credit, -amount)), memo)


def balance_change(*, normal_side: NormalSide, leg_amount: int) -> int:
    """How a leg moves an account's balance as it is reported (in its normal side's terms)."""
    return leg_amount if normal_side is NormalSide.DEBIT else -leg_amount


def channel_clearing(channel: str) -> AccountSpec:
    """What the channel has collected for the merchant and not yet settled (an asset)."""
    return AccountSpec(f"channel:{channel}:clearing", f"{channel} 渠道清算", NormalSide.DEBIT)


def unposted_receipts() -> AccountSpec:
    """Money received but not (or no longer) booked at a biller (a liability to customer or biller)."""
    return AccountSpec("orders:unposted", "收款待入账", NormalSide.CREDIT)


def biller_payable(biller: str) -> AccountSpec:
    """What the hub owes the biller for posted payments (a liability)."""
    return AccountSpec(f"biller:{biller}:payable", f"{biller} 应付", NormalSide.CREDIT)


def merchant_sales() -> AccountSpec:
    """Money the hub collected for the merchant's own sales (the till's): owed to the merchant."""
    return AccountSpec("merchant:sales:payable", "商户销售应付", NormalSide.CREDIT)
