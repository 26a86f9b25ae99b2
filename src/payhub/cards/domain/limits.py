"""Consumption limits (额度): per transaction and per business day, for a card and for a card merchant."""
from __future__ import annotations

from dataclasses import dataclass

from payhub.kernel.domain.errors import Conflict


@dataclass(frozen=True, slots=True)
class Limits:
    """None means no limit."""

    per_txn: int | None = None
    per_day: int | None = None


def check_per_txn(*, amount: int, limits: Limits, who: str) -> None:
    """Refuse a single consume above the per-transaction limit."""
    if limits.per_txn is not None and amount > limits.per_txn:
        raise Conflict("LIMIT_PER_TXN", who=who, limit=limits.per_txn)


def usage_key(scope: str, subject: str) -> str:
    """The key of a day's usage row: 'card:6200…' or 'merchant:SHOP1'."""
    return f"{scope}:{subject}"
