"""Responses of the ledger API: accounts with their balances, and an account's newest lines (fen)."""
from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class LedgerAccountOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    merchant_id: int
    code: str
    name: str
    normal_side: str
    non_negative: bool
    balance: int = Field(description="in the account's normal side's terms (fen)")
    version: int
    created_at: datetime


class AccountLineOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    entry_id: str
    kind: str
    ref: str
    memo: str
    created_at: datetime
    amount: int = Field(description="positive: debit; negative: credit (fen)")
    balance_before: int
    balance_after: int
    account_version: int


class AccountHistoryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    account: LedgerAccountOut
    entries: list[AccountLineOut]
