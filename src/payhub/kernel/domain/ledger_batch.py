"""The one way journal legs are built: entries applied in order to accounts locked once, each leg getting its
balances and account version as if booked alone; an entry that would take a non-negative account below zero is
refused on its own without touching the others. Every ledger write (one entry or a batch) goes through here."""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from payhub.kernel.domain.errors import Conflict
from payhub.kernel.domain.ledger import JournalEntry, NormalSide, balance_change


@dataclass
class AccountState:
    """A locked account as read: id, balance and version, its normal side and whether it may go below zero."""

    id: int
    balance: int
    version: int
    normal_side: NormalSide
    non_negative: bool
    read_version: int = -1

    def __post_init__(self) -> None:
        self.read_version = self.version


@dataclass(frozen=True, slots=True)
class LegRow:
    """One journal leg as written: the amount and the account's balance and version before and after it."""

    merchant_id: int
    entry_id: str
    account_id: int
    amount: int
    balance_before: int
    balance_after: int
    account_version: int


@dataclass
class Postings:
    """Entries applied in order to locked accounts (by code); legs and entries are the rows to write."""

    accounts: dict[str, AccountState]
    legs: list[LegRow] = field(default_factory=list)
    entries: list[JournalEntry] = field(default_factory=list)
    entry_ids: list[str] = field(default_factory=list)

    def apply(self, entry: JournalEntry) -> dict[str, int]:
        """Apply one entry, or raise INSUFFICIENT_BALANCE with nothing changed; each account's new balance."""
        after: dict[str, tuple[int, int]] = {}  # code -> (balance, version) once the legs so far are applied
        moves: list[tuple[int, AccountState, int, int]] = []
        for leg in entry.legs:
            account = self.accounts[leg.account.code]
            before, version = after.get(leg.account.code, (account.balance, account.version))
            balance = before + balance_change(normal_side=account.normal_side, leg_amount=leg.amount)
            if account.non_negative and balance < 0:
                raise Conflict("INSUFFICIENT_BALANCE", account=leg.account.code)
            after[leg.account.code] = (balance, version + 1)
            moves.append((leg.amount, account, before, balance))
        entry_id = uuid.uuid4().hex
        for amount, account, before, balance in moves:
            account.balance, account.version = balance, account.version + 1
            self.legs.append(LegRow(entry.merchant_id, entry_id, account.id, amount, before, balance, account.version))
        self.entries.append(entry)
        self.entry_ids.append(entry_id)
        return {code: balance for code, (balance, _) in after.items()}

    def changed(self) -> list[AccountState]:
        """The accounts some applied entry moved, in id order."""
        return sorted((a for a in self.accounts.values() if a.version != a.read_version), key=lambda a: a.id)
