"""Many journal entries applied in order to accounts locked once: each leg gets its balances and account
version as if booked alone, and an entry that would take a non-negative account below zero is refused on its
own without touching the others."""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from payhub.domain.errors import Conflict
from payhub.domain.ledger import JournalEntry, balance_change


@dataclass
class AccountState:
    """A locked account as read: id, balance and version, and whether it may go below zero."""

    id: int
    balance: int
    version: int
    non_negative: bool
    read_version: int = -1

    def __post_init__(self) -> None:
        self.read_version = self.version


@dataclass
class Postings:
    """Entries applied in order to locked accounts (by code); legs and entries are the rows to write."""

    accounts: dict[str, AccountState]
    legs: list[dict[str, Any]] = field(default_factory=list)
    entries: list[JournalEntry] = field(default_factory=list)
    entry_ids: list[str] = field(default_factory=list)

    def apply(self, entry: JournalEntry) -> dict[str, int]:
        """Apply one entry, or raise INSUFFICIENT_BALANCE with nothing changed; each account's new balance."""
        moves = [(leg, self.accounts[leg.account.code],
                  balance_change(normal_side=leg.account.normal_side, leg_amount=leg.amount)) for leg in entry.legs]
        for leg, account, delta in moves:
            if account.non_negative and account.balance + delta < 0:
                raise Conflict("INSUFFICIENT_BALANCE", account=leg.account.code)
        entry_id = uuid.uuid4().hex
        for leg, account, delta in moves:
            account.balance, account.version = account.balance + delta, account.version + 1
            self.legs.append({
                "merchant_id": entry.merchant_id, "entry_id": entry_id, "account_id": account.id, "amount": leg.amount,
                "balance_before": account.balance - delta, "balance_after": account.balance,
                "account_version": account.version,
            })
        self.entries.append(entry)
        self.entry_ids.append(entry_id)
        return {leg.account.code: account.balance for leg, account, _ in moves}

    def changed(self) -> list[AccountState]:
        """The accounts some applied entry moved, in id order."""
        return sorted((a for a in self.accounts.values() if a.version != a.read_version), key=lambda a: a.id)
